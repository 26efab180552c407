/// Exact widening of the two 16-bit floating-point formats a checkpoint may store.
///
/// Every binary16 and bfloat16 value is exactly representable in binary32, so the
/// conversion never rounds: finite values (subnormals included), zeros and infinities
/// keep their value and sign. A NaN stays a NaN with its sign and payload; a binary16
/// NaN comes back quiet (its top fraction bit set), as the x86 `vcvtph2ps` and arm64
/// `fcvt` instructions (and so PyTorch's `.float()`) return it. bfloat16 is the upper
/// half of a binary32, so its widening is a shift and keeps every bit.
///
/// ```swift
/// HalfPrecision.float(float16Bits: 0x3C00)    // 1.0
/// HalfPrecision.float(float16Bits: 0x0001)    // 2^-24, the smallest subnormal
/// HalfPrecision.float(bfloat16Bits: 0x3F80)   // 1.0
/// ```
public enum HalfPrecision {
    /// The binary32 value of an IEEE binary16 bit pattern (exact).
    public static func float(float16Bits h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = UInt32(h >> 10) & 0x1F
        let fraction = UInt32(h & 0x3FF)
        switch exponent {
        case 0x1F:
            // Infinity, or a NaN (quiet bit set, payload kept).
            return Float(bitPattern: fraction == 0 ? sign | 0x7F80_0000 : sign | 0x7FC0_0000 | (fraction << 13))
        case 0 where fraction == 0:
            return Float(bitPattern: sign)
        case 0:
            // Subnormal: fraction · 2^-24. Shift the leading one into the implicit bit.
            var m = fraction
            var e: UInt32 = 127 - 14
            while m & 0x400 == 0 {
                m <<= 1
                e -= 1
            }
            return Float(bitPattern: sign | (e << 23) | ((m & 0x3FF) << 13))
        default:
            return Float(bitPattern: sign | ((exponent + 127 - 15) << 23) | (fraction << 13))
        }
    }

    /// The binary32 value of a bfloat16 bit pattern (exact: the pattern is a binary32's upper half).
    public static func float(bfloat16Bits b: UInt16) -> Float {
        Float(bitPattern: UInt32(b) << 16)
    }
}
