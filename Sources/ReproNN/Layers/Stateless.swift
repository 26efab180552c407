import ReproTensor

/// `nn.ReLU`: `max(x, 0)` (no parameters).
public struct ReLU: Layer {
    /// Creates the layer.
    public init() {}
    /// Nothing to visit.
    public mutating func walk<V: ModuleVisitor>(_ walker: inout ModuleWalker<V>) throws(ModuleError) {}
    /// Nothing to prepare.
    public mutating func prepare(in scope: ModuleScope) throws(ModuleError) {}
    /// `max(x, 0)` element-wise.
    public func forward(_ input: Tensor, in scope: ModuleScope) throws(ModuleError) -> Tensor {
        let y = try scope.run { () throws(TensorError) in try input.relu() }
        scope.report(y, operation: "ReLU")
        return y
    }
}

/// `nn.Dropout`: the identity in eval mode (the only mode so far); `p` is kept for training.
public struct Dropout: Layer {
    /// Drop probability in training.
    public var p: Double
    /// Creates the layer.
    public init(p: Double = 0.5) { self.p = p }
    /// Nothing to visit.
    public mutating func walk<V: ModuleVisitor>(_ walker: inout ModuleWalker<V>) throws(ModuleError) {}
    /// Nothing to prepare.
    public mutating func prepare(in scope: ModuleScope) throws(ModuleError) {}
    /// Returns the input unchanged (eval mode).
    public func forward(_ input: Tensor, in scope: ModuleScope) throws(ModuleError) -> Tensor {
        scope.report(input, operation: "Dropout(p=\(p)) eval: identity")
        return input
    }
}

/// `nn.MaxPool2d` on NHWC activations (padding counts as −∞, as PyTorch).
public struct MaxPool2d: Layer {
    /// Window size.
    public let kernelSize: Int
    /// Step between windows.
    public let stride: Int
    /// Padding per side.
    public let padding: Int
    /// Creates the layer (`stride` defaults to the kernel size, as PyTorch).
    public init(kernelSize: Int, stride: Int? = nil, padding: Int = 0) {
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
        self.padding = padding
    }
    /// Nothing to visit.
    public mutating func walk<V: ModuleVisitor>(_ walker: inout ModuleWalker<V>) throws(ModuleError) {}
    /// Nothing to prepare.
    public mutating func prepare(in scope: ModuleScope) throws(ModuleError) {}
    /// The window maxima.
    public func forward(_ input: Tensor, in scope: ModuleScope) throws(ModuleError) -> Tensor {
        let y = try scope.run { () throws(TensorError) in
            try input.maxPool2dNHWC(kernel: kernelSize, stride: stride, padding: padding)
        }
        scope.report(y, operation: "MaxPool2d(kernel \(kernelSize), stride \(stride), padding \(padding))")
        return y
    }
}

/// `nn.AdaptiveAvgPool2d` on NHWC activations: output cell `(i, j)` averages rows
/// `⌊i·H/OH⌋ ..< ⌈(i+1)·H/OH⌉` and the matching columns, as PyTorch; each average is a sum in
/// row-major order divided by the window size.
public struct AdaptiveAvgPool2d: Layer {
    /// Output height and width.
    public let outputSize: (height: Int, width: Int)
    /// Creates the layer.
    public init(outputSize: (height: Int, width: Int) = (1, 1)) { self.outputSize = outputSize }
    /// Nothing to visit.
    public mutating func walk<V: ModuleVisitor>(_ walker: inout ModuleWalker<V>) throws(ModuleError) {}
    /// Nothing to prepare.
    public mutating func prepare(in scope: ModuleScope) throws(ModuleError) {}
    /// `[N, H, W, C] → [N, OH, OW, C]`.
    public func forward(_ input: Tensor, in scope: ModuleScope) throws(ModuleError) -> Tensor {
        let (oh, ow) = outputSize
        let y = try scope.run { () throws(TensorError) in
            guard input.rank == 4, input.dtype == .float32, oh > 0, ow > 0 else {
                throw .invalidShape(op: "adaptiveAvgPool2d", shape: input.shape, reason: "expected float NHWC input and a positive output size")
            }
            let n = input.shape[0], h = input.shape[1], w = input.shape[2], c = input.shape[3]
            let x: [Float] = try input.contiguous().scalars()
            var out = [Float](repeating: 0, count: n * oh * ow * c)
            for b in 0..<n {
                for i in 0..<oh {
                    let y0 = i * h / oh, y1 = ((i + 1) * h + oh - 1) / oh
                    for j in 0..<ow {
                        let x0 = j * w / ow, x1 = ((j + 1) * w + ow - 1) / ow
                        let count = Float((y1 - y0) * (x1 - x0))
                        for ch in 0..<c {
                            var sum: Float = 0
                            for yy in y0..<y1 { for xx in x0..<x1 { sum += x[((b * h + yy) * w + xx) * c + ch] } }
                            out[((b * oh + i) * ow + j) * c + ch] = sum / count
                        }
                    }
                }
            }
            return try Tensor(shape: [n, oh, ow, c], scalars: out)
        }
        scope.report(y, operation: "AdaptiveAvgPool2d(\(oh)x\(ow))")
        return y
    }
}
