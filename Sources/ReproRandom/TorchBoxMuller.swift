#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

// The 16-value Box–Muller blocks of PyTorch's vectorised CPU normal path
// (docs/random.md, "Normal", vectorised path). Each block pairs lane j (radius, from d[j]) with lane j+8
// (angle, from d[j+8]) and writes both results back in place.

/// Kernels for one block of 16 values of PyTorch's vectorised normal path.
///
/// The float32 AVX2 variant is a Cephes-style polynomial `log` and `sincos`
/// evaluated with IEEE operations and explicit fused multiply-adds only, so it
/// is portable; it exists as a scalar reference (``avx2BlockReference(_:mean:std:)``)
/// and a `SIMD8<Float>` version (``avx2Block(_:mean:std:)``) that is tested to
/// give the same bits. The other variants call libm through ``PlatformMath``.
enum TorchBoxMuller {
    // Cephes constants as f32 bit patterns (the decimal literals of PyTorch's
    // avx_mathfun.h rounded to f32).
    static let logP0 = Float(bitPattern: 0x3d90_21bb)
    static let logP1 = Float(bitPattern: 0xbdeb_d1b8)
    static let logP2 = Float(bitPattern: 0x3def_251a)
    static let logP3 = Float(bitPattern: 0xbdfe_5d4f)
    static let logP4 = Float(bitPattern: 0x3e11_e9bf)
    static let logP5 = Float(bitPattern: 0xbe2a_ae50)
    static let logP6 = Float(bitPattern: 0x3e4c_ceac)
    static let logP7 = Float(bitPattern: 0xbe7f_fffc)
    static let logP8 = Float(bitPattern: 0x3eaa_aaaa)
    static let logQ1 = Float(bitPattern: 0xb95e_8083)
    static let logQ2 = Float(bitPattern: 0x3f31_8000)
    static let sqrtHalf = Float(bitPattern: 0x3f35_04f3)
    static let dp1 = Float(bitPattern: 0xbf49_0000)
    static let dp2 = Float(bitPattern: 0xb97d_a000)
    static let dp3 = Float(bitPattern: 0xb322_2169)
    static let sinP0 = Float(bitPattern: 0xb94c_a1f9)
    static let sinP1 = Float(bitPattern: 0x3c08_839e)
    static let sinP2 = Float(bitPattern: 0xbe2a_aaa3)
    static let cosP0 = Float(bitPattern: 0x37cc_f5ce)
    static let cosP1 = Float(bitPattern: 0xbab6_061a)
    static let cosP2 = Float(bitPattern: 0x3d2a_aaa5)
    static let fourOverPi = Float(bitPattern: 0x3fa2_f983)
    static let twoPi = Float(bitPattern: 0x40c9_0fdb)

    // MARK: float32, AVX2 build — scalar reference

    /// `log8` for one lane, x in (0, 1] (no denormals, no non-positive input).
    static func log8(_ x: Float) -> Float {
        let bits = x.bitPattern
        var e = Float(Int32(bitPattern: bits >> 23) - 127) + 1
        let m = Float(bitPattern: (bits & 0x807f_ffff) | 0x3f00_0000)
        var t = m - 1
        if m < sqrtHalf {
            e = e - 1
            t = t + m
        }
        let z = t * t
        var y = logP0
        y = logP1.addingProduct(y, t)
        y = logP2.addingProduct(y, t)
        y = logP3.addingProduct(y, t)
        y = logP4.addingProduct(y, t)
        y = logP5.addingProduct(y, t)
        y = logP6.addingProduct(y, t)
        y = logP7.addingProduct(y, t)
        y = logP8.addingProduct(y, t)
        y = y * t
        y = (e * logQ1).addingProduct(y, z)
        y = y - z * 0.5
        return (t + y).addingProduct(e, logQ2)
    }

    /// `sincos8` for one lane, x ≥ 0 (here x in [0, 2π)).
    static func sincos8(_ x: Float) -> (sin: Float, cos: Float) {
        var j = Int32(x * fourOverPi)
        j = (j &+ 1) & ~1
        let yj = Float(j)
        var r = x.addingProduct(yj, dp1)
        r = r.addingProduct(yj, dp2)
        r = r.addingProduct(yj, dp3)
        let z = r * r
        var pc = cosP1.addingProduct(cosP0, z)
        pc = cosP2.addingProduct(pc, z)
        pc = pc * z
        pc = (-(z * 0.5)).addingProduct(pc, z)
        pc = pc + 1
        var ps = sinP1.addingProduct(sinP0, z)
        ps = sinP2.addingProduct(ps, z)
        ps = ps * z
        ps = r.addingProduct(ps, r)
        var s = ps, c = pc
        if (j & 2) != 0 { s = pc; c = ps }
        if (j & 4) != 0 { s = -s }
        if ((j &- 2) & 4) == 0 { c = -c }
        return (s, c)
    }

    /// One block, AVX2 float32 arithmetic, lane by lane (the reference).
    static func avx2BlockReference(_ d: UnsafeMutablePointer<Float>, mean: Float, std: Float) {
        for j in 0..<8 {
            let u1 = 1 - d[j]
            let radius = (-2 * log8(u1)).squareRoot()
            let theta = twoPi * d[j + 8]
            let (s, c) = sincos8(theta)
            d[j] = mean.addingProduct(radius * c, std)
            d[j + 8] = mean.addingProduct(radius * s, std)
        }
    }

    // MARK: float32, AVX2 build — SIMD8 version

    typealias F8 = SIMD8<Float>
    typealias U8 = SIMD8<UInt32>

    /// 2^23: adding it to a non-negative integer-valued float below 2^23 puts
    /// the integer in the low mantissa bits, and back; exact both ways. Used
    /// for the int↔float conversions, which the generic SIMD initialisers do
    /// lane by lane.
    static let magic: Float = 8_388_608

    @inline(__always)
    static func exactFloat(_ v: U8) -> F8 {
        unsafeBitCast(v | 0x4b00_0000, to: F8.self) - magic
    }

    @inline(__always)
    static func log8(_ x: F8) -> F8 {
        let bits = unsafeBitCast(x, to: U8.self)
        // f32(Int32(bits >> 23) - 127) + 1: the exponent field is a small
        // integer, so converting it first and subtracting in f32 is exact.
        var e = (exactFloat(bits &>> 23) - 127) + 1
        let m = unsafeBitCast((bits & 0x807f_ffff) | 0x3f00_0000, to: F8.self)
        var t = m - 1
        // if m < SQRTHF { e -= 1; t += m }, without SIMD masks (which Swift
        // lowers lane by lane): m and SQRTHF share the exponent, so compare
        // mantissas; `small` is 1 or 0 per lane. e - 0 and t + 0 are exact
        // (t is never zero here), so the unselected lanes keep their bits.
        let small = ((bits & 0x7f_ffff) &- (sqrtHalf.bitPattern & 0x7f_ffff)) &>> 31
        e = e - exactFloat(small)
        t = t + unsafeBitCast(unsafeBitCast(m, to: U8.self) & (0 &- small), to: F8.self)
        let z = t * t
        var y = F8(repeating: logP0)
        y = F8(repeating: logP1).addingProduct(y, t)
        y = F8(repeating: logP2).addingProduct(y, t)
        y = F8(repeating: logP3).addingProduct(y, t)
        y = F8(repeating: logP4).addingProduct(y, t)
        y = F8(repeating: logP5).addingProduct(y, t)
        y = F8(repeating: logP6).addingProduct(y, t)
        y = F8(repeating: logP7).addingProduct(y, t)
        y = F8(repeating: logP8).addingProduct(y, t)
        y = y * t
        y = (e * logQ1).addingProduct(y, z)
        y = y - z * 0.5
        return (t + y).addingProduct(e, F8(repeating: logQ2))
    }

    @inline(__always)
    static func sincos8(_ x: F8) -> (sin: F8, cos: F8) {
        // Int32(x * FOPI) for x * FOPI in [0, 8]: truncate, then read the integer
        // out of the mantissa (exact for values below 2^23).
        let jf = (x * fourOverPi).rounded(.towardZero)
        var j = unsafeBitCast(jf + magic, to: U8.self) & 0x7f_ffff
        j = (j &+ 1) & ~1
        let yj = exactFloat(j)
        var r = x.addingProduct(yj, F8(repeating: dp1))
        r = r.addingProduct(yj, F8(repeating: dp2))
        r = r.addingProduct(yj, F8(repeating: dp3))
        let z = r * r
        var pc = F8(repeating: cosP1).addingProduct(F8(repeating: cosP0), z)
        pc = F8(repeating: cosP2).addingProduct(pc, z)
        pc = pc * z
        pc = (-(z * 0.5)).addingProduct(pc, z)
        pc = pc + 1
        var ps = F8(repeating: sinP1).addingProduct(F8(repeating: sinP0), z)
        ps = F8(repeating: sinP2).addingProduct(ps, z)
        ps = ps * z
        ps = r.addingProduct(ps, r)
        // Quadrant selection and signs with bit operations instead of masks:
        // swap sin/cos where j & 2, negate sin where j & 4, negate cos where
        // ((j - 2) & 4) == 0 (j - 2 wraps like the Int32 subtraction).
        let swap = 0 &- ((j &>> 1) & 1)
        let psBits = unsafeBitCast(ps, to: U8.self)
        let pcBits = unsafeBitCast(pc, to: U8.self)
        let sBits = ((psBits & ~swap) | (pcBits & swap)) ^ ((j & 4) &<< 29)
        let cBits = ((pcBits & ~swap) | (psBits & swap)) ^ ((~(j &- 2) & 4) &<< 29)
        let s = unsafeBitCast(sBits, to: F8.self)
        let c = unsafeBitCast(cBits, to: F8.self)
        return (s, c)
    }

    /// Correctly rounded square root of eight lanes (`SIMD8.squareRoot()` is
    /// lowered lane by lane with an errno check per lane; `vsqrtps` gives the
    /// same IEEE results at once).
    @inline(__always)
    static func sqrt8(_ x: F8) -> F8 {
        #if arch(x86_64)
        return _mm256_sqrt_ps(x)
        #else
        return x.squareRoot()
        #endif
    }

    /// One block, AVX2 float32 arithmetic, eight lanes at once (same bits as
    /// ``avx2BlockReference(_:mean:std:)``).
    @inline(__always)
    static func avx2Block(_ d: UnsafeMutablePointer<Float>, mean: Float, std: Float) {
        let raw = UnsafeMutableRawPointer(d)
        let lo = raw.loadUnaligned(as: F8.self)
        let hi = raw.loadUnaligned(fromByteOffset: 32, as: F8.self)
        let radius = sqrt8(-2 * log8(1 - lo))
        let (s, c) = sincos8(twoPi * hi)
        let vm = F8(repeating: mean)
        let vs = F8(repeating: std)
        raw.storeBytes(of: vm.addingProduct(radius * c, vs), as: F8.self)
        (raw + 32).storeBytes(of: vm.addingProduct(radius * s, vs), as: F8.self)
    }

    // MARK: float32, DEFAULT build (libm)

    /// One block, DEFAULT-build float32 arithmetic with libm `logf`/`sinf`/`cosf`.
    static func genericBlock(_ d: UnsafeMutablePointer<Float>, mean: Float, std: Float) {
        for j in 0..<8 {
            let u1 = 1 - d[j]
            let radius = (-2 * PlatformMath.logf(u1)).squareRoot()
            let theta = Float(6.283185307179586 * Double(d[j + 8]))
            d[j] = mean.addingProduct(radius * PlatformMath.cosf(theta), std)
            d[j + 8] = mean.addingProduct(radius * PlatformMath.sinf(theta), std)
        }
    }

    // MARK: float64 (any build, libm)

    /// One block of float64 values with libm `log`/`cos`/`sin`.
    static func doubleBlock(_ d: UnsafeMutablePointer<Double>, mean: Double, std: Double) {
        for j in 0..<8 {
            let u1 = 1 - d[j]
            let radius = (-2 * PlatformMath.log(u1)).squareRoot()
            let theta = 6.283185307179586 * d[j + 8]
            d[j] = mean.addingProduct(radius * PlatformMath.cos(theta), std)
            d[j + 8] = mean.addingProduct(radius * PlatformMath.sin(theta), std)
        }
    }
}
