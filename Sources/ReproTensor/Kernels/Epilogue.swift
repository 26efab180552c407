/// Per-output-channel work applied after a kernel's accumulation, in this order:
/// `y = acc + bias[c]`, then `y = y * scale[c] + shift[c]` (two roundings, no
/// fused multiply-add — exactly an unfused conv → FrozenBatchNorm), then
/// `y = y < 0 ? 0 : y` (ReLU; NaN and −0 pass through).
///
/// Pointers must hold one value per output channel (column) and stay valid
/// during the kernel call.
///
/// ```swift
/// let e = Epilogue(bias: biasPointer, relu: true)
/// ```
@_spi(Kernels) public struct Epilogue: @unchecked Sendable {
    /// Added first, per channel (or `nil`).
    @_spi(Kernels) public var bias: UnsafePointer<Float>?
    /// Multiplied next, per channel (or `nil`; requires `shift`).
    @_spi(Kernels) public var scale: UnsafePointer<Float>?
    /// Added after the scale, per channel (or `nil`; requires `scale`).
    @_spi(Kernels) public var shift: UnsafePointer<Float>?
    /// Clamp negatives to zero last.
    @_spi(Kernels) public var relu: Bool

    /// Creates an epilogue.
    ///
    /// - Parameters:
    ///   - bias: per-channel bias, added first.
    ///   - scale: per-channel scale (folded batch norm), with `shift`.
    ///   - shift: per-channel shift (folded batch norm), with `scale`.
    ///   - relu: apply ReLU last.
    @_spi(Kernels) public init(bias: UnsafePointer<Float>? = nil, scale: UnsafePointer<Float>? = nil,
                shift: UnsafePointer<Float>? = nil, relu: Bool = false) {
        self.bias = bias
        self.scale = scale
        self.shift = shift
        self.relu = relu
    }

    /// No epilogue: the raw accumulation.
    @_spi(Kernels) public static let none = Epilogue()

    /// Whether any step is present.
    var isIdentity: Bool { bias == nil && scale == nil && !relu }

    /// The scalar form of the epilogue for channel `c` (the reference).
    @inline(__always)
    func apply(_ acc: Float, channel c: Int) -> Float {
        var y = acc
        if let bias { y = y + bias[c] }
        if let scale, let shift { y = y * scale[c] + shift[c] }
        if relu && y < 0 { y = 0 }
        return y
    }
}

/// The epilogue's vectors padded with neutral values to a multiple of 16
/// channels so SIMD loads past the last channel stay in bounds.
struct PaddedEpilogue {
    let bias: UnsafeMutablePointer<Float>?
    let scale: UnsafeMutablePointer<Float>?
    let shift: UnsafeMutablePointer<Float>?
    let relu: Bool

    init(_ e: Epilogue, channels: Int) {
        let padded = (channels + 15) / 16 * 16 + 16  // slack for group offsets
        func copy(_ p: UnsafePointer<Float>?, fill: Float) -> UnsafeMutablePointer<Float>? {
            guard let p else { return nil }
            let d = UnsafeMutablePointer<Float>.allocate(capacity: padded)
            d.initialize(from: p, count: channels)
            (d + channels).initialize(repeating: fill, count: padded - channels)
            return d
        }
        bias = copy(e.bias, fill: 0)
        let hasBN = e.scale != nil && e.shift != nil
        scale = hasBN ? copy(e.scale, fill: 1) : nil
        shift = hasBN ? copy(e.shift, fill: 0) : nil
        relu = e.relu
    }

    func deallocate() {
        bias?.deallocate()
        scale?.deallocate()
        shift?.deallocate()
    }

    /// Applies the epilogue to 8 channels starting at `c`.
    @inline(__always)
    func apply(_ v: SIMD8<Float>, channel c: Int) -> SIMD8<Float> {
        var y = v
        if let bias { y = y + UnsafeRawPointer(bias + c).loadUnaligned(as: SIMD8<Float>.self) }
        if let scale, let shift {
            let s = UnsafeRawPointer(scale + c).loadUnaligned(as: SIMD8<Float>.self)
            let t = UnsafeRawPointer(shift + c).loadUnaligned(as: SIMD8<Float>.self)
            y = y * s + t
        }
        if relu { y.replace(with: 0, where: y .< 0) }
        return y
    }

    /// Applies channel `c`'s epilogue to all 8 lanes (channels along rows).
    @inline(__always)
    func apply(_ v: SIMD8<Float>, row c: Int) -> SIMD8<Float> {
        var y = v
        if let bias { y = y + SIMD8(repeating: bias[c]) }
        if let scale, let shift { y = y * SIMD8(repeating: scale[c]) + SIMD8(repeating: shift[c]) }
        if relu { y.replace(with: 0, where: y .< 0) }
        return y
    }
}
