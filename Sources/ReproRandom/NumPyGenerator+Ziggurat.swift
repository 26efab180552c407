extension NumPyGenerator {
    /// `standard_normal()`: NumPy's 256-layer ziggurat (docs/random.md, "The ziggurat normal").
    ///
    /// About 99% of draws take one 64-bit draw and one multiply. The rare tail
    /// (layer 0) and wedge branches call libm `log1p` and `exp` through
    /// ``PlatformMath`` as NumPy does, so those draws match NumPy where the
    /// libm agrees with glibc (the reference). The wedge test is computed
    /// unfused, as in NumPy's x86-64 build; an arm64 NumPy build that fuses it
    /// may differ in rare wedge draws.
    ///
    /// ```swift
    /// var g = NumPyGenerator(seed: 42)
    /// let z = g.standardNormal()
    /// ```
    @inlinable
    public mutating func standardNormal() -> Double {
        _ZigguratTables.packed.withUnsafeBufferPointer { Self._ziggurat(&bitGenerator, $0.baseAddress!) }
    }

    /// `standard_normal(count)`.
    ///
    /// - Throws: ``NumPyRandomError/negativeCount(_:)`` when `count < 0`.
    @inlinable
    public mutating func standardNormal(count: Int) throws(NumPyRandomError) -> [Double] {
        let n = try _NumPyBounded.count(count)
        return [Double](unsafeUninitializedCapacity: n) { buf, done in
            _ZigguratTables.packed.withUnsafeBufferPointer { t in
                let tables = t.baseAddress!
                for i in 0..<n { buf[i] = Self._ziggurat(&bitGenerator, tables) }
            }
            done = n
        }
    }

    /// One ziggurat draw; `t` is ``_ZigguratTables/packed``.
    @inlinable @inline(__always)
    static func _ziggurat(_ g: inout BitGenerator, _ t: UnsafePointer<UInt64>) -> Double {
        while true {
            var r = g.next64()
            let idx = Int(r & 0xff)
            r >>= 8
            let negative = r & 1 != 0
            let rabs = (r >> 1) & 0x000f_ffff_ffff_ffff
            var x = Double(rabs) * Double(bitPattern: t[256 + idx])
            if negative { x = -x }
            if rabs < t[idx] { return x }
            if idx == 0 { return _zigguratTail(&g, rabs) }
            let fiHigh = Double(bitPattern: t[512 + idx - 1])
            let fiLow = Double(bitPattern: t[512 + idx])
            if (fiHigh - fiLow) * g.nextDouble() + fiLow < PlatformMath.exp(-0.5 * x * x) { return x }
        }
    }

    /// The tail beyond `R` (layer 0), by Marsaglia's exponential rejection.
    @inlinable @inline(never)
    static func _zigguratTail(_ g: inout BitGenerator, _ rabs: UInt64) -> Double {
        while true {
            let xx = -_ZigguratTables.invR * PlatformMath.log1p(-g.nextDouble())
            let yy = -PlatformMath.log1p(-g.nextDouble())
            if yy + yy > xx * xx {
                return (rabs >> 8) & 1 != 0 ? -(_ZigguratTables.r + xx) : _ZigguratTables.r + xx
            }
        }
    }
}
