// Default initialisation of nn.Conv{1,2,3}d and nn.Linear (docs/random.md, "`torch.nn.init`"):
// kaiming_uniform_(weight, a=sqrt(5)), then uniform_(bias, ±1/sqrt(fan_in)).

extension TorchInit {
    /// The parameters of a default-initialised layer whose weight has
    /// `weightShape` (`_ConvNd.reset_parameters` / `Linear.reset_parameters`):
    /// the weight gets `kaiming_uniform_(a=sqrt(5))`, all of it, then the bias
    /// (length `weightShape[0]`) gets `uniform_(-1/sqrt(fanIn), 1/sqrt(fanIn))`.
    ///
    /// With `fanIn == 0` the weight is empty and nothing is drawn for it; the
    /// bias then follows the Linear rule (`uniform_(0, 0)`: +0.0, one draw per
    /// element). (`_ConvNd` skips the bias init in that case and leaves it
    /// uninitialised; use ``conv2d(inChannels:outChannels:kernelSize:groups:bias:using:)-(_,_,Int,_,_,_)``
    /// (or its `(kh, kw)` form) for convolutions, which returns zeros there.)
    ///
    /// ```swift
    /// var g = TorchGenerator(seed: 0)
    /// let conv1d = try TorchInit.defaultLayer(weightShape: [16, 4, 5], bias: true, using: &g)
    /// ```
    ///
    /// - Throws: ``TorchRandomError/fanNeedsTwoDimensions(shape:)`` or
    ///   ``TorchRandomError/shapeMismatch(shape:count:)``.
    public static func defaultLayer(
        weightShape: [Int], bias: Bool = true, using g: inout TorchGenerator
    ) throws(TorchRandomError) -> LayerParameters {
        try defaultLayer(weightShape: weightShape, bias: bias, skipBiasWhenFanInIsZero: false, using: &g)
    }

    static func defaultLayer(
        weightShape: [Int], bias: Bool, skipBiasWhenFanInIsZero: Bool, using g: inout TorchGenerator
    ) throws(TorchRandomError) -> LayerParameters {
        let (fanIn, _) = try fans(shape: weightShape)
        guard let count = product(weightShape) else { throw .shapeMismatch(shape: weightShape, count: -1) }
        var weight = [Float](repeating: 0, count: count)
        try kaimingUniform(&weight, shape: weightShape, a: 5.0.squareRoot(), using: &g)
        var b: [Float]? = nil
        if bias {
            var values = [Float](repeating: 0, count: weightShape[0])
            if fanIn > 0 || !skipBiasWhenFanInIsZero {
                // Linear's `bound = ... if fan_in > 0 else 0` is the Python int 0,
                // so `-bound` is +0.0 there, not -0.0.
                let bound = fanIn > 0 ? 1 / Double(fanIn).squareRoot() : 0
                try uniform(&values, from: fanIn > 0 ? -bound : 0, to: bound, using: &g)
            }
            b = values
        }
        return LayerParameters(weight: weight, weightShape: weightShape, bias: b)
    }

    /// The parameters of `nn.Conv2d(inChannels, outChannels, kernelSize,
    /// groups=groups, bias=bias)` right after construction: weight
    /// `[out, in/groups, k, k]` then bias, drawn in that order.
    ///
    /// ```swift
    /// var g = TorchGenerator(seed: 0)                   // torch.manual_seed(0)
    /// let p = try TorchInit.conv2d(inChannels: 3, outChannels: 8, kernelSize: 3, using: &g)
    /// ```
    ///
    /// - Throws: ``TorchRandomError/invalidArgument(name:value:)`` when a
    ///   size is not positive or `groups` does not divide both channel counts.
    public static func conv2d(
        inChannels: Int, outChannels: Int, kernelSize: Int, groups: Int = 1, bias: Bool = true,
        using g: inout TorchGenerator
    ) throws(TorchRandomError) -> LayerParameters {
        try conv2d(
            inChannels: inChannels, outChannels: outChannels, kernelSize: (kernelSize, kernelSize),
            groups: groups, bias: bias, using: &g)
    }

    /// `nn.Conv2d` with a rectangular kernel `(height, width)`.
    ///
    /// ```swift
    /// let p = try TorchInit.conv2d(inChannels: 3, outChannels: 8, kernelSize: (1, 3), using: &g)
    /// ```
    ///
    /// - Throws: as ``conv2d(inChannels:outChannels:kernelSize:groups:bias:using:)``.
    public static func conv2d(
        inChannels: Int, outChannels: Int, kernelSize: (Int, Int), groups: Int = 1, bias: Bool = true,
        using g: inout TorchGenerator
    ) throws(TorchRandomError) -> LayerParameters {
        for (name, v) in [("in_channels", inChannels), ("out_channels", outChannels), ("groups", groups),
                          ("kernel_height", kernelSize.0), ("kernel_width", kernelSize.1)] where v <= 0 {
            throw .invalidArgument(name: name, value: v)
        }
        guard inChannels % groups == 0 else { throw .invalidArgument(name: "in_channels", value: inChannels) }
        guard outChannels % groups == 0 else { throw .invalidArgument(name: "out_channels", value: outChannels) }
        let shape = [outChannels, inChannels / groups, kernelSize.0, kernelSize.1]
        return try defaultLayer(weightShape: shape, bias: bias, skipBiasWhenFanInIsZero: true, using: &g)
    }

    /// Advances `g` exactly as ``conv2d(inChannels:outChannels:kernelSize:groups:bias:using:)-(_,_,Int,_,_,_)``
    /// would, without computing the values: for a model whose construction overwrites every
    /// convolution's default initialisation (torchvision's ResNet, FPN and RetinaNet head init
    /// loops), the default draws only have to move the generator. Same checks and errors.
    ///
    /// `uniform_` on float32 takes one `random()` word per element, so the weight costs `O·C/groups·k·k`
    /// words and the bias `O` more.
    ///
    /// - Returns: the weight's shape.
    package static func discardConv2d(
        inChannels: Int, outChannels: Int, kernelSize: Int, groups: Int = 1, bias: Bool = true,
        using g: inout TorchGenerator
    ) throws(TorchRandomError) -> [Int] {
        for (name, v) in [("in_channels", inChannels), ("out_channels", outChannels), ("groups", groups),
                          ("kernel_height", kernelSize), ("kernel_width", kernelSize)] where v <= 0 {
            throw .invalidArgument(name: name, value: v)
        }
        guard inChannels % groups == 0 else { throw .invalidArgument(name: "in_channels", value: inChannels) }
        guard outChannels % groups == 0 else { throw .invalidArgument(name: "out_channels", value: outChannels) }
        let shape = [outChannels, inChannels / groups, kernelSize, kernelSize]
        // Every extent is positive, so fan_in > 0: the weight and the bias both draw.
        guard let count = product(shape) else { throw .shapeMismatch(shape: shape, count: -1) }
        g.engine.discard(count + (bias ? outChannels : 0))
        return shape
    }

    /// The parameters of `nn.Linear(inFeatures, outFeatures, bias=bias)` right
    /// after construction: weight `[out, in]` then bias.
    ///
    /// ```swift
    /// var g = TorchGenerator(seed: 0)
    /// let p = try TorchInit.linear(inFeatures: 5, outFeatures: 3, using: &g)
    /// ```
    ///
    /// - Throws: ``TorchRandomError/invalidArgument(name:value:)`` for a negative size.
    public static func linear(
        inFeatures: Int, outFeatures: Int, bias: Bool = true, using g: inout TorchGenerator
    ) throws(TorchRandomError) -> LayerParameters {
        guard inFeatures >= 0 else { throw .invalidArgument(name: "in_features", value: inFeatures) }
        guard outFeatures >= 0 else { throw .invalidArgument(name: "out_features", value: outFeatures) }
        return try defaultLayer(weightShape: [outFeatures, inFeatures], bias: bias, using: &g)
    }
}
