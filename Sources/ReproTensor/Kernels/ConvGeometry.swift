/// The shape of a 2-D convolution: input `[N, C, H, W]`, weights
/// `[O, C/groups, KH, KW]`, output `[N, O, OH, OW]` with
/// `OH = (H + 2·padH − dilationH·(KH − 1) − 1) / strideH + 1` (PyTorch's rule).
///
/// ```swift
/// let g = try ConvGeometry(batch: 1, inChannels: 3, height: 224, width: 224,
///                          outChannels: 64, kernelHeight: 7, kernelWidth: 7,
///                          stride: (2, 2), padding: (3, 3))
/// g.outHeight   // 112
/// ```
@_spi(Kernels) public struct ConvGeometry: Sendable, Equatable {
    /// Samples in the batch.
    @_spi(Kernels) public var batch: Int
    /// Input channels (all groups).
    @_spi(Kernels) public var inChannels: Int
    /// Input height.
    @_spi(Kernels) public var height: Int
    /// Input width.
    @_spi(Kernels) public var width: Int
    /// Output channels (all groups).
    @_spi(Kernels) public var outChannels: Int
    /// Kernel height.
    @_spi(Kernels) public var kernelHeight: Int
    /// Kernel width.
    @_spi(Kernels) public var kernelWidth: Int
    /// Vertical and horizontal stride.
    @_spi(Kernels) public var stride: (h: Int, w: Int)
    /// Zero padding on each side (top = bottom, left = right).
    @_spi(Kernels) public var padding: (h: Int, w: Int)
    /// Spacing between kernel taps.
    @_spi(Kernels) public var dilation: (h: Int, w: Int)
    /// Channel groups; input and output channels must both divide by it.
    @_spi(Kernels) public var groups: Int

    /// Output height.
    @_spi(Kernels) public var outHeight: Int { (height + 2 * padding.h - dilation.h * (kernelHeight - 1) - 1) / stride.h + 1 }
    /// Output width.
    @_spi(Kernels) public var outWidth: Int { (width + 2 * padding.w - dilation.w * (kernelWidth - 1) - 1) / stride.w + 1 }
    /// Input channels per group.
    @_spi(Kernels) public var groupInChannels: Int { inChannels / groups }
    /// Output channels per group.
    @_spi(Kernels) public var groupOutChannels: Int { outChannels / groups }
    /// Multiply-adds of the whole convolution.
    @_spi(Kernels) public var macs: Int { batch * outChannels * outHeight * outWidth * groupInChannels * kernelHeight * kernelWidth }

    /// Creates and validates a geometry.
    ///
    /// - Throws: ``TensorError/invalidArgument(op:reason:)`` for non-positive
    ///   sizes, strides or dilations, negative padding, channels not divisible
    ///   by `groups`, or an empty output.
    @_spi(Kernels) public init(
        batch: Int, inChannels: Int, height: Int, width: Int, outChannels: Int,
        kernelHeight: Int, kernelWidth: Int, stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
        dilation: (Int, Int) = (1, 1), groups: Int = 1
    ) throws(TensorError) {
        self.batch = batch
        self.inChannels = inChannels
        self.height = height
        self.width = width
        self.outChannels = outChannels
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.stride = (stride.0, stride.1)
        self.padding = (padding.0, padding.1)
        self.dilation = (dilation.0, dilation.1)
        self.groups = groups
        let op = "conv2d"
        guard batch >= 0, inChannels > 0, height > 0, width > 0, outChannels > 0 else {
            throw .invalidArgument(op: op, reason: "sizes must be positive (batch \(batch), in \(inChannels), \(height)×\(width), out \(outChannels))")
        }
        guard kernelHeight > 0, kernelWidth > 0, stride.0 > 0, stride.1 > 0, dilation.0 > 0, dilation.1 > 0 else {
            throw .invalidArgument(op: op, reason: "kernel \(kernelHeight)×\(kernelWidth), stride \(stride), dilation \(dilation) must be positive")
        }
        guard padding.0 >= 0, padding.1 >= 0 else {
            throw .invalidArgument(op: op, reason: "padding \(padding) must not be negative")
        }
        guard groups > 0, inChannels % groups == 0, outChannels % groups == 0 else {
            throw .invalidArgument(op: op, reason: "groups \(groups) must divide in channels \(inChannels) and out channels \(outChannels)")
        }
        guard outHeight > 0, outWidth > 0 else {
            throw .invalidArgument(op: op, reason: "kernel \(kernelHeight)×\(kernelWidth) (dilation \(dilation)) does not fit input \(height)×\(width) with padding \(padding)")
        }
    }

    /// Equal when every field is equal.
    @_spi(Kernels) public static func == (l: ConvGeometry, r: ConvGeometry) -> Bool {
        l.batch == r.batch && l.inChannels == r.inChannels && l.height == r.height && l.width == r.width
            && l.outChannels == r.outChannels && l.kernelHeight == r.kernelHeight && l.kernelWidth == r.kernelWidth
            && l.stride == r.stride && l.padding == r.padding && l.dilation == r.dilation && l.groups == r.groups
    }

    /// The same geometry for another batch size.
    @_spi(Kernels) public func withBatch(_ n: Int) -> ConvGeometry {
        var g = self
        g.batch = n
        return g
    }

    /// Whether the convolution is a plain matrix product (1×1, stride 1, no padding, one group).
    @_spi(Kernels) public var isPointwise: Bool {
        kernelHeight == 1 && kernelWidth == 1 && stride == (1, 1) && padding == (0, 0) && groups == 1
    }
}
