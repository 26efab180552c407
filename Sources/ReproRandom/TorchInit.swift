// torch.nn.init and the default initialisation of Conv/Linear layers
// (docs/random.md, "`torch.nn.init`"). All bound arithmetic is f64, in the order torch/nn/init.py
// writes it (IEEE, correctly rounded sqrt and division), and every fill goes
// through TorchGenerator's uniform_/normal_ kernels.

/// PyTorch's `torch.nn.init` functions, drawing from an explicit ``TorchGenerator``.
///
/// Each fill takes the values in row-major (contiguous) order and, where the
/// formula needs fan-in/fan-out, the tensor's shape.
///
/// ```swift
/// var g = TorchGenerator(seed: 0)                       // torch.manual_seed(0)
/// let conv = try TorchInit.conv2d(inChannels: 3, outChannels: 8, kernelSize: 3, using: &g)
/// // conv.weight (8×3×3×3) and conv.bias equal nn.Conv2d(3, 8, 3)'s
/// ```
public enum TorchInit {
    /// The non-linearities of `torch.nn.init.calculate_gain`.
    public enum Nonlinearity: String, Sendable, Hashable, CaseIterable {
        /// `'linear'`: gain 1.
        case linear
        /// `'conv1d'`: gain 1.
        case conv1d
        /// `'conv2d'`: gain 1.
        case conv2d
        /// `'conv3d'`: gain 1.
        case conv3d
        /// `'conv_transpose1d'`: gain 1.
        case convTranspose1d = "conv_transpose1d"
        /// `'conv_transpose2d'`: gain 1.
        case convTranspose2d = "conv_transpose2d"
        /// `'conv_transpose3d'`: gain 1.
        case convTranspose3d = "conv_transpose3d"
        /// `'sigmoid'`: gain 1.
        case sigmoid
        /// `'tanh'`: gain 5/3.
        case tanh
        /// `'relu'`: gain √2.
        case relu
        /// `'leaky_relu'`: gain √(2 / (1 + slope²)), slope 0.01 when not given.
        case leakyRelu = "leaky_relu"
        /// `'selu'`: gain 3/4.
        case selu
    }

    /// Which fan `kaiming_*` scales by.
    public enum FanMode: String, Sendable, Hashable {
        /// `mode='fan_in'` (the default): preserves the forward pass's variance.
        case fanIn = "fan_in"
        /// `mode='fan_out'`: preserves the backward pass's variance.
        case fanOut = "fan_out"
    }

    /// Weight and bias of a freshly constructed layer, row-major.
    public struct LayerParameters: Sendable, Equatable {
        /// The weight values, row-major in ``weightShape``.
        public var weight: [Float]
        /// The weight's shape, e.g. `[out, in/groups, kh, kw]` for Conv2d, `[out, in]` for Linear.
        public var weightShape: [Int]
        /// The bias (length `weightShape[0]`), or nil for a layer without one.
        public var bias: [Float]?
    }

    // MARK: - Gain and fans

    /// `torch.nn.init.calculate_gain(nonlinearity, param)`.
    ///
    /// `param` is the negative slope of ``Nonlinearity/leakyRelu`` (0.01 when
    /// nil) and is ignored for the others, as in PyTorch.
    ///
    /// ```swift
    /// try TorchInit.calculateGain(.leakyRelu, param: 5.0.squareRoot())  // 0.5773502691896257
    /// ```
    ///
    /// - Throws: ``TorchRandomError/invalidParameter(name:value:)`` for a NaN slope.
    public static func calculateGain(_ nonlinearity: Nonlinearity, param: Double? = nil) throws(TorchRandomError) -> Double {
        switch nonlinearity {
        case .linear, .conv1d, .conv2d, .conv3d, .convTranspose1d, .convTranspose2d, .convTranspose3d, .sigmoid:
            return 1
        case .tanh:
            return 5.0 / 3
        case .relu:
            return 2.0.squareRoot()
        case .leakyRelu:
            let slope = param ?? 0.01
            guard !slope.isNaN else { throw .invalidParameter(name: "negative_slope", value: slope) }
            // Python's `negative_slope ** 2` is libm pow, not always the
            // correctly rounded slope * slope (equal for sqrt(5) and 0.01).
            return (2.0 / (1 + PlatformMath.pow(slope, 2))).squareRoot()
        case .selu:
            return 3.0 / 4
        }
    }

    /// `_calculate_fan_in_and_fan_out`: `fanIn = shape[1] · receptive field`,
    /// `fanOut = shape[0] · receptive field`, the receptive field being the
    /// product of `shape[2...]`.
    ///
    /// ```swift
    /// try TorchInit.fans(shape: [8, 3, 3, 3])   // (fanIn: 27, fanOut: 72)
    /// ```
    ///
    /// - Throws: ``TorchRandomError/fanNeedsTwoDimensions(shape:)`` or
    ///   ``TorchRandomError/shapeMismatch(shape:count:)`` for a negative extent
    ///   or a fan that overflows `Int`.
    public static func fans(shape: [Int]) throws(TorchRandomError) -> (fanIn: Int, fanOut: Int) {
        guard shape.count >= 2 else { throw .fanNeedsTwoDimensions(shape: shape) }
        guard shape.allSatisfy({ $0 >= 0 }), let receptive = product(shape.dropFirst(2)),
              case let (fanIn, o1) = shape[1].multipliedReportingOverflow(by: receptive), !o1,
              case let (fanOut, o2) = shape[0].multipliedReportingOverflow(by: receptive), !o2
        else { throw .shapeMismatch(shape: shape, count: -1) }
        return (fanIn, fanOut)
    }

    /// The bound `kaiming_uniform_` passes to `uniform_(-bound, bound)`:
    /// `sqrt(3) · gain / sqrt(fan)`, computed in f64 in that order.
    ///
    /// ```swift
    /// try TorchInit.kaimingUniformBound(shape: [8, 3, 3, 3], a: 5.0.squareRoot())  // 0.19245008972987523
    /// ```
    ///
    /// - Throws: as ``fans(shape:)``, ``calculateGain(_:param:)``, or
    ///   ``TorchRandomError/zeroFan(shape:)``.
    public static func kaimingUniformBound(
        shape: [Int], a: Double = 0, mode: FanMode = .fanIn, nonlinearity: Nonlinearity = .leakyRelu
    ) throws(TorchRandomError) -> Double {
        3.0.squareRoot() * (try kaimingStd(shape: shape, a: a, mode: mode, nonlinearity: nonlinearity))
    }

    static func kaimingStd(
        shape: [Int], a: Double, mode: FanMode, nonlinearity: Nonlinearity
    ) throws(TorchRandomError) -> Double {
        let f = try fans(shape: shape)
        let fan = mode == .fanIn ? f.fanIn : f.fanOut
        guard fan > 0 else { throw .zeroFan(shape: shape) }
        let gain = try calculateGain(nonlinearity, param: a)
        return gain / Double(fan).squareRoot()
    }

    static func xavierStd(shape: [Int], gain: Double) throws(TorchRandomError) -> Double {
        let f = try fans(shape: shape)
        guard f.fanIn + f.fanOut > 0 else { throw .zeroFan(shape: shape) }
        return gain * (2.0 / Double(f.fanIn + f.fanOut)).squareRoot()
    }

    /// The number of elements of `shape`, or nil for a negative extent or an overflow.
    static func product(_ shape: some Sequence<Int>) -> Int? {
        var n = 1
        for d in shape {
            guard d >= 0 else { return nil }
            let (p, overflow) = n.multipliedReportingOverflow(by: d)
            guard !overflow else { return nil }
            n = p
        }
        return n
    }

    static func checkShape(_ shape: [Int], _ count: Int) throws(TorchRandomError) {
        guard product(shape) == count else {
            throw .shapeMismatch(shape: shape, count: count)
        }
    }

    // MARK: - Fills

    /// `nn.init.uniform_(t, a, b)`: `t.uniform_(a, b)`.
    ///
    /// ```swift
    /// var w = [Float](repeating: 0, count: 10)
    /// try TorchInit.uniform(&w, from: -0.1, to: 0.1, using: &g)
    /// ```
    ///
    /// - Throws: ``TorchRandomError/invalidUniformBounds(from:to:)``.
    public static func uniform(
        _ values: inout [Float], from: Double = 0, to: Double = 1, using g: inout TorchGenerator
    ) throws(TorchRandomError) {
        try values.withUnsafeMutableBufferPointer { (b) throws(TorchRandomError) in
            try g.fillUniform(b, from: from, to: to)
        }
    }

    /// `nn.init.normal_(t, mean, std)`: `t.normal_(mean, std)` on a contiguous
    /// tensor (vectorised path from 16 elements on).
    ///
    /// ```swift
    /// var w = [Float](repeating: 0, count: 64)
    /// try TorchInit.normal(&w, std: 0.01, using: &g)
    /// ```
    ///
    /// - Throws: ``TorchRandomError/invalidStandardDeviation(_:)``.
    public static func normal(
        _ values: inout [Float], mean: Double = 0, std: Double = 1, using g: inout TorchGenerator
    ) throws(TorchRandomError) {
        try values.withUnsafeMutableBufferPointer { (b) throws(TorchRandomError) in
            try g.fillNormal(b, mean: mean, std: std)
        }
    }

    /// `nn.init.normal_` as the `[Float]` form above, writing into memory the caller owns.
    ///
    /// - Throws: ``TorchRandomError/invalidStandardDeviation(_:)``; nothing is drawn then.
    public static func normal(
        _ values: UnsafeMutableBufferPointer<Float>, mean: Double = 0, std: Double = 1, using g: inout TorchGenerator
    ) throws(TorchRandomError) {
        try g.fillNormal(values, mean: mean, std: std)
    }

    /// `nn.init.constant_(t, value)`: draws nothing.
    ///
    /// ```swift
    /// TorchInit.constant(&bias, 0.1)
    /// ```
    public static func constant(_ values: inout [Float], _ value: Float) {
        for i in values.indices { values[i] = value }
    }

    /// `nn.init.zeros_(t)`: draws nothing.
    ///
    /// ```swift
    /// TorchInit.zeros(&bias)
    /// ```
    public static func zeros(_ values: inout [Float]) { constant(&values, 0) }

    /// `nn.init.ones_(t)`: draws nothing.
    ///
    /// ```swift
    /// TorchInit.ones(&scale)
    /// ```
    public static func ones(_ values: inout [Float]) { constant(&values, 1) }

    /// `nn.init.kaiming_uniform_(t, a, mode, nonlinearity)`:
    /// `uniform_(-bound, bound)` with ``kaimingUniformBound(shape:a:mode:nonlinearity:)``.
    /// A tensor with no elements is left alone and draws nothing (PyTorch warns).
    ///
    /// ```swift
    /// var w = [Float](repeating: 0, count: 216)
    /// try TorchInit.kaimingUniform(&w, shape: [8, 3, 3, 3], a: 5.0.squareRoot(), using: &g)
    /// ```
    ///
    /// - Throws: ``TorchRandomError/shapeMismatch(shape:count:)`` and the
    ///   errors of ``kaimingUniformBound(shape:a:mode:nonlinearity:)``.
    public static func kaimingUniform(
        _ values: inout [Float], shape: [Int], a: Double = 0, mode: FanMode = .fanIn,
        nonlinearity: Nonlinearity = .leakyRelu, using g: inout TorchGenerator
    ) throws(TorchRandomError) {
        try values.withUnsafeMutableBufferPointer { (b) throws(TorchRandomError) in
            try kaimingUniform(b, shape: shape, a: a, mode: mode, nonlinearity: nonlinearity, using: &g)
        }
    }

    /// `kaiming_uniform_` as the `[Float]` form above, writing into
    /// memory the caller owns (a tensor's storage), with the same draws and values.
    ///
    /// - Throws: as the array form; nothing is drawn then.
    public static func kaimingUniform(
        _ values: UnsafeMutableBufferPointer<Float>, shape: [Int], a: Double = 0, mode: FanMode = .fanIn,
        nonlinearity: Nonlinearity = .leakyRelu, using g: inout TorchGenerator
    ) throws(TorchRandomError) {
        try checkShape(shape, values.count)
        guard !values.isEmpty else { return }
        let bound = try kaimingUniformBound(shape: shape, a: a, mode: mode, nonlinearity: nonlinearity)
        try g.fillUniform(values, from: -bound, to: bound)
    }

    /// `nn.init.kaiming_normal_(t, a, mode, nonlinearity)`:
    /// `normal_(0, gain / sqrt(fan))`. A tensor with no elements draws nothing.
    ///
    /// ```swift
    /// try TorchInit.kaimingNormal(&w, shape: [64, 3, 7, 7], mode: .fanOut, nonlinearity: .relu, using: &g)
    /// ```
    ///
    /// - Throws: as ``kaimingUniform(_:shape:a:mode:nonlinearity:using:)``.
    public static func kaimingNormal(
        _ values: inout [Float], shape: [Int], a: Double = 0, mode: FanMode = .fanIn,
        nonlinearity: Nonlinearity = .leakyRelu, using g: inout TorchGenerator
    ) throws(TorchRandomError) {
        try values.withUnsafeMutableBufferPointer { (b) throws(TorchRandomError) in
            try kaimingNormal(b, shape: shape, a: a, mode: mode, nonlinearity: nonlinearity, using: &g)
        }
    }

    /// `kaiming_normal_` as the `[Float]` form above, writing into
    /// memory the caller owns (a tensor's storage), with the same draws and values.
    ///
    /// - Throws: as the array form; nothing is drawn then.
    public static func kaimingNormal(
        _ values: UnsafeMutableBufferPointer<Float>, shape: [Int], a: Double = 0, mode: FanMode = .fanIn,
        nonlinearity: Nonlinearity = .leakyRelu, using g: inout TorchGenerator
    ) throws(TorchRandomError) {
        try checkShape(shape, values.count)
        guard !values.isEmpty else { return }
        let std = try kaimingStd(shape: shape, a: a, mode: mode, nonlinearity: nonlinearity)
        try g.fillNormal(values, mean: 0, std: std)
    }

    /// ``kaimingNormal(_:shape:a:mode:nonlinearity:using:)`` with the Box–Muller blocks left to the
    /// caller (``TorchGenerator/drawNormal(_:mean:std:)``); `nil` when nothing is pending.
    ///
    /// - Throws: as ``kaimingNormal(_:shape:a:mode:nonlinearity:using:)``; nothing is drawn then.
    package static func drawKaimingNormal(
        _ values: UnsafeMutableBufferPointer<Float>, shape: [Int], a: Double = 0, mode: FanMode = .fanIn,
        nonlinearity: Nonlinearity = .leakyRelu, using g: inout TorchGenerator
    ) throws(TorchRandomError) -> PendingNormalBlocks? {
        try checkShape(shape, values.count)
        guard !values.isEmpty else { return nil }
        let std = try kaimingStd(shape: shape, a: a, mode: mode, nonlinearity: nonlinearity)
        return try g.drawNormal(values, mean: 0, std: std)
    }

    /// `nn.init.xavier_uniform_(t, gain)`: `uniform_(-a, a)` with
    /// `a = sqrt(3) · gain · sqrt(2 / (fanIn + fanOut))`.
    ///
    /// ```swift
    /// try TorchInit.xavierUniform(&w, shape: [3, 5], using: &g)
    /// ```
    ///
    /// - Throws: ``TorchRandomError/shapeMismatch(shape:count:)``,
    ///   ``TorchRandomError/fanNeedsTwoDimensions(shape:)``, ``TorchRandomError/zeroFan(shape:)``.
    public static func xavierUniform(
        _ values: inout [Float], shape: [Int], gain: Double = 1, using g: inout TorchGenerator
    ) throws(TorchRandomError) {
        try checkShape(shape, values.count)
        let bound = 3.0.squareRoot() * (try xavierStd(shape: shape, gain: gain))
        try uniform(&values, from: -bound, to: bound, using: &g)
    }

    /// `nn.init.xavier_normal_(t, gain)`: `normal_(0, gain · sqrt(2 / (fanIn + fanOut)))`.
    ///
    /// ```swift
    /// try TorchInit.xavierNormal(&w, shape: [3, 5], using: &g)
    /// ```
    ///
    /// - Throws: as ``xavierUniform(_:shape:gain:using:)``.
    public static func xavierNormal(
        _ values: inout [Float], shape: [Int], gain: Double = 1, using g: inout TorchGenerator
    ) throws(TorchRandomError) {
        try checkShape(shape, values.count)
        let std = try xavierStd(shape: shape, gain: gain)
        try normal(&values, mean: 0, std: std, using: &g)
    }
}
