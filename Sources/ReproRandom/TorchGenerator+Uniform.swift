// torch.rand / rand_like / uniform_(from, to) on CPU (docs/random.md, "Uniform").

extension TorchGenerator {
    /// Fills `out` like `t.uniform_(from, to)` on a float32 tensor: one
    /// `random()` per element, in order.
    ///
    /// `u = f32(random() & 0xFFFFFF) · 2^-24`; the bounds are rounded to f32;
    /// the value is `fma(u, hi - lo, lo)` with the ``Capability/avx2`` kernels
    /// and `(u · (hi - lo)) + lo` (two roundings) with ``Capability/generic``;
    /// a result equal to `hi` is replaced by `lo`.
    ///
    /// ```swift
    /// var w = [Float](repeating: 0, count: 8)
    /// try w.withUnsafeMutableBufferPointer { try g.fillUniform($0, from: -0.37, to: 0.81) }
    /// ```
    ///
    /// - Throws: ``TorchRandomError/invalidUniformBounds(from:to:)`` when a
    ///   bound is NaN or outside float32's finite range, `from > to`, or
    ///   `to - from` exceeds float32's largest finite value. Nothing is drawn then.
    public mutating func fillUniform(
        _ out: UnsafeMutableBufferPointer<Float>, from: Double = 0, to: Double = 1
    ) throws(TorchRandomError) {
        try Self.checkUniformBounds(from: from, to: to, max: Double(Float.greatestFiniteMagnitude))
        // Each slot receives one raw random() word.
        fillUniform(out, lo: Float(from), hi: Float(to)) { Self.float24($0.bitPattern) }
    }

    /// Fills `out` like `t.uniform_(from, to)` on a float64 tensor: one
    /// `random64()` per element; `u = f64(random64() & (2^53-1)) · 2^-53`,
    /// then the same arithmetic as the float32 variant in f64.
    ///
    /// ```swift
    /// var w = [Double](repeating: 0, count: 8)
    /// try w.withUnsafeMutableBufferPointer { try g.fillUniform($0, from: 2.5, to: 3.75) }
    /// ```
    ///
    /// - Throws: ``TorchRandomError/invalidUniformBounds(from:to:)`` (NaN or
    ///   infinite bound, `from > to`, or an infinite range); nothing is drawn then.
    public mutating func fillUniform(
        _ out: UnsafeMutableBufferPointer<Double>, from: Double = 0, to: Double = 1
    ) throws(TorchRandomError) {
        try Self.checkUniformBounds(from: from, to: to, max: Double.greatestFiniteMagnitude)
        // Each slot receives two raw random() words, the first in the low half.
        fillUniform(out, lo: from, hi: to) { Self.double53($0.bitPattern) }
    }

    /// `torch.rand(count, generator=g)`: float32 uniforms in `[0, 1)`.
    ///
    /// ```swift
    /// var g = TorchGenerator(seed: 0)
    /// let u = try g.rand(count: 3)   // [0.49625659, 0.76822180, 0.08847743]
    /// ```
    ///
    /// - Throws: ``TorchRandomError/negativeCount(_:)``.
    public mutating func rand(count: Int) throws(TorchRandomError) -> [Float] {
        try uniform(count: count, from: 0, to: 1)
    }

    /// `torch.rand(count, dtype=torch.float64, generator=g)`: float64
    /// uniforms in `[0, 1)` with 53 random bits each.
    ///
    /// ```swift
    /// let u = try g.rand(count: 5, as: Double.self)
    /// ```
    ///
    /// - Throws: ``TorchRandomError/negativeCount(_:)``.
    public mutating func rand(count: Int, as type: Double.Type) throws(TorchRandomError) -> [Double] {
        try uniform(count: count, from: 0, to: 1, as: Double.self)
    }

    /// `torch.empty(count).uniform_(from, to, generator=g)` (float32).
    ///
    /// ```swift
    /// let b = try g.uniform(count: 8, from: -0.19245008972987526, to: 0.19245008972987526)
    /// ```
    ///
    /// - Throws: ``TorchRandomError/negativeCount(_:)`` or
    ///   ``TorchRandomError/invalidUniformBounds(from:to:)``.
    public mutating func uniform(count: Int, from: Double, to: Double) throws(TorchRandomError) -> [Float] {
        try Self.array(count: count) { (buf) throws(TorchRandomError) in try fillUniform(buf, from: from, to: to) }
    }

    /// `torch.empty(count, dtype=torch.float64).uniform_(from, to, generator=g)`.
    ///
    /// ```swift
    /// let x = try g.uniform(count: 8, from: 2.5, to: 3.75, as: Double.self)
    /// ```
    ///
    /// - Throws: ``TorchRandomError/negativeCount(_:)`` or
    ///   ``TorchRandomError/invalidUniformBounds(from:to:)``.
    public mutating func uniform(
        count: Int, from: Double, to: Double, as type: Double.Type
    ) throws(TorchRandomError) -> [Double] {
        try Self.array(count: count) { (buf) throws(TorchRandomError) in try fillUniform(buf, from: from, to: to) }
    }

    // MARK: - Bulk draws

    /// The uniform kernel of both dtypes: draws one slot's worth of raw words
    /// per element, then stores `v = fma(unit(slot), hi - lo, lo)` with the
    /// ``Capability/avx2`` kernels or `unit(slot) · (hi - lo) + lo` with
    /// ``Capability/generic``, and `lo` where `v == hi`.
    @inline(__always)
    mutating func fillUniform<T: BinaryFloatingPoint>(
        _ out: UnsafeMutableBufferPointer<T>, lo: T, hi: T, unit: (T) -> T
    ) {
        guard let base = out.baseAddress else { return }
        let n = out.count
        let range = hi - lo
        drawWords(into: base, count: n)
        if capability == .avx2 {
            for i in 0..<n {
                let v = lo.addingProduct(unit(base[i]), range)
                base[i] = v == hi ? lo : v
            }
        } else {
            for i in 0..<n {
                let v = unit(base[i]) * range + lo
                base[i] = v == hi ? lo : v
            }
        }
    }

    /// A new array of `count` elements (zero-initialised) filled by `fill`.
    ///
    /// - Throws: ``TorchRandomError/negativeCount(_:)``, or what `fill` throws.
    @inline(__always)
    static func array<T: BinaryFloatingPoint>(
        count: Int, _ fill: (UnsafeMutableBufferPointer<T>) throws(TorchRandomError) -> Void
    ) throws(TorchRandomError) -> [T] {
        try checkCount(count)
        var out = [T](repeating: 0, count: count)
        try out.withUnsafeMutableBufferPointer { (buf) throws(TorchRandomError) in try fill(buf) }
        return out
    }

    /// Stores `count` consecutive `random()` words in the memory of
    /// `base[0..<count]` (`T` is Float or Double, so each element receives one
    /// or two words, in draw order).
    @inline(__always)
    mutating func drawWords<T: BinaryFloatingPoint>(into base: UnsafeMutablePointer<T>, count: Int) {
        let words = count * MemoryLayout<T>.size / 4
        engine._withTorchCursor { c in
            UnsafeMutableRawPointer(base).withMemoryRebound(to: UInt32.self, capacity: words) { c.fill($0, count: words) }
        }
    }

    /// `f32(w & 0xFFFFFF) · 2^-24` for a raw `random()` word.
    @inline(__always)
    static func float24(_ word: UInt32) -> Float {
        Float(Int32(bitPattern: word & 0xff_ffff)) * 0x1p-24
    }

    /// The 53-bit double of `random64()` from two raw words stored in draw
    /// order (first draw in the low half of the little-endian `UInt64`).
    @inline(__always)
    static func double53(_ pair: UInt64) -> Double {
        let r64 = (pair << 32) | (pair >> 32)
        return Double(Int64(bitPattern: r64 & 0x1f_ffff_ffff_ffff)) * 0x1p-53
    }

    // MARK: - Checks shared by the distributions

    /// PyTorch's `check_uniform_bounds`, in f64 as PyTorch does.
    static func checkUniformBounds(from: Double, to: Double, max: Double) throws(TorchRandomError) {
        guard from >= -max, from <= max, to >= -max, to <= max, from <= to, to - from <= max else {
            throw .invalidUniformBounds(from: from, to: to)
        }
    }

    /// A count must be non-negative.
    static func checkCount(_ count: Int) throws(TorchRandomError) {
        guard count >= 0 else { throw .negativeCount(count) }
    }
}
