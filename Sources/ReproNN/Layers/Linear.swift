import ReproRandom
import ReproTensor

/// `nn.Linear`: owns `weight` `[out, in]` and an optional `bias` `[out]`; computes on `[N, in]`.
///
/// Each output is one fused multiply-add chain over the inputs in order (the 1×1 convolution
/// kernel), plus the bias.
///
/// ```swift
/// var fc = try Linear(inFeatures: 512, outFeatures: 1000, generator: &g)
/// try fc.prepare(in: .root)
/// let logits = try fc(features)   // [N, 512] → [N, 1000]
/// ```
public struct Linear: Layer {
    /// `[out, in]`.
    public var weight: Tensor
    /// `[out]`, or `nil` for `bias=False`.
    public var bias: Tensor?
    private var prepared: PreparedConv2d?

    /// A layer with PyTorch's default initialisation drawn from `generator` (weight, then bias).
    public init(inFeatures: Int, outFeatures: Int, bias: Bool = true, generator: inout TorchGenerator) throws(ModuleError) {
        if ParameterPlaceholders.isActive {
            guard inFeatures >= 0, outFeatures >= 0 else { throw .invalidConfiguration("Linear(\(inFeatures), \(outFeatures)): negative size") }
            weight = try ParameterPlaceholders.tensor([outFeatures, inFeatures])
            self.bias = bias ? try ParameterPlaceholders.tensor([outFeatures]) : nil
            return
        }
        let p: TorchInit.LayerParameters
        do { p = try TorchInit.linear(inFeatures: inFeatures, outFeatures: outFeatures, bias: bias, using: &generator) } catch {
            throw .invalidConfiguration("Linear(\(inFeatures), \(outFeatures)): \(error)")
        }
        weight = try .parameter(shape: [outFeatures, inFeatures], p.weight)
        self.bias = try p.bias.map { (b) throws(ModuleError) in try .parameter(shape: [outFeatures], b) }
    }

    /// Visits `weight` and (when present) `bias`.
    public mutating func walk<V: ModuleVisitor>(_ walker: inout ModuleWalker<V>) throws(ModuleError) {
        try walker.parameter("weight", &weight, layer: .linear)
        if var b = bias {
            try walker.parameter("bias", &b, layer: .linear)
            bias = b
        }
    }

    /// Packs the weight as a 1×1 convolution.
    public mutating func prepare(in scope: ModuleScope) throws(ModuleError) {
        let w = weight
        prepared = try scope.run { () throws(TensorError) in
            guard w.rank == 2 else { throw .invalidShape(op: "linear", shape: w.shape, reason: "weight must be [out, in]") }
            return try PreparedConv2d(weight: w.reshaped([w.shape[0], w.shape[1], 1, 1]), bias: bias)
        }
    }

    /// `[N, in] → [N, out]`.
    public func forward(_ input: Tensor, in scope: ModuleScope) throws(ModuleError) -> Tensor {
        guard let prepared else { throw .notPrepared(path: scope.path) }
        let y = try scope.run { () throws(TensorError) in
            guard input.rank == 2 else { throw .invalidShape(op: "linear", shape: input.shape, reason: "input must be [N, in]") }
            let n = input.shape[0]
            return try prepared.forward(nhwc: input.reshaped([n, 1, 1, input.shape[1]]), threads: Runtime.settings.threads)
                .reshaped([n, prepared.weightShape[0]])
        }
        scope.report(y, operation: "Linear \(prepared.weightShape[1])->\(prepared.weightShape[0]), \(prepared.kernelDescription)")
        return y
    }
}
