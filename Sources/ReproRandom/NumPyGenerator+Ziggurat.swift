extension NumPyGenerator {
    /// `standard_normal()`: NumPy's 256-layer ziggurat (`rng.md` §5.4).
    ///
    /// About 99% of draws take one 64-bit draw and one multiply. The rare tail
    /// (layer 0) and wedge branches call libm `log1p` and `exp` through
    /// ``PlatformMath`` as NumPy does, so those draws match NumPy where the
    /// libm agrees with glibc (the reference); a bit-identical stream on every
    /// platform would need NumPy itself to avoid libm.
    ///
    /// ```swift
    /// var g = NumPyGenerator(seed: 42)
    /// let z = g.standardNormal()
    /// ```
    @inlinable
    public mutating func standardNormal() -> Double {
        while true {
            var r = bitGenerator.next64()
            let idx = Int(r & 0xff)
            r >>= 8
            let negative = r & 1 != 0
            let rabs = (r >> 1) & 0x000f_ffff_ffff_ffff
            var x = Double(rabs) * _ZigguratTables.wi[idx]
            if negative { x = -x }
            if rabs < _ZigguratTables.ki[idx] { return x }
            if idx == 0 {
                while true {
                    let xx = -_ZigguratTables.invR * PlatformMath.log1p(-bitGenerator.nextDouble())
                    let yy = -PlatformMath.log1p(-bitGenerator.nextDouble())
                    if yy + yy > xx * xx {
                        return (rabs >> 8) & 1 != 0 ? -(_ZigguratTables.r + xx) : _ZigguratTables.r + xx
                    }
                }
            } else {
                let fi = _ZigguratTables.fi
                if (fi[idx - 1] - fi[idx]) * bitGenerator.nextDouble() + fi[idx] < PlatformMath.exp(-0.5 * x * x) {
                    return x
                }
            }
        }
    }

    /// `standard_normal(count)`.
    ///
    /// - Throws: ``NumPyRandomError/negativeCount(_:)`` when `count < 0`.
    @inlinable
    public mutating func standardNormal(count: Int) throws(NumPyRandomError) -> [Double] {
        let n = try _NumPyBounded.count(count)
        return [Double](unsafeUninitializedCapacity: n) { buf, done in
            for i in 0..<n { buf[i] = standardNormal() }
            done = n
        }
    }
}
