/// A 128-bit unsigned integer held as two 64-bit halves, with wrapping
/// arithmetic modulo 2^128.
///
/// Used for the 128-bit states of ``PCG64`` and ``PCG64DXSM`` and for jump
/// distances. (The standard library's `UInt128` needs macOS 15; this type keeps
/// the package's macOS 14 floor and compiles to the same few instructions.)
///
/// ```swift
/// let d = Word128(high: 1 << 36, low: 12345)   // 2^100 + 12345
/// var g = PCG64(seed: 12345)
/// g.advance(by: d)
/// print(g.state)                               // 0x23c23703589b35f326a9023c7969590c
/// ```
@frozen
public struct Word128: Hashable, Sendable, CustomStringConvertible {
    /// The most significant 64 bits.
    public var high: UInt64
    /// The least significant 64 bits.
    public var low: UInt64

    /// Creates a value from its two halves.
    @inlinable
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Creates a value below 2^64.
    @inlinable
    public init(_ value: UInt64) {
        self.init(high: 0, low: value)
    }

    /// Parses hexadecimal digits (an optional `0x` prefix, at most 32 digits).
    ///
    /// Returns `nil` for empty, over-long or non-hex input.
    public init?(hex: String) {
        var digits = Substring(hex)
        if digits.hasPrefix("0x") || digits.hasPrefix("0X") { digits = digits.dropFirst(2) }
        guard !digits.isEmpty, digits.count <= 32 else { return nil }
        let split = digits.index(digits.endIndex, offsetBy: -min(16, digits.count))
        guard let lo = UInt64(digits[split...], radix: 16) else { return nil }
        var hi: UInt64 = 0
        if split > digits.startIndex {
            guard let h = UInt64(digits[..<split], radix: 16) else { return nil }
            hi = h
        }
        self.init(high: hi, low: lo)
    }

    /// Zero.
    public static let zero = Word128(high: 0, low: 0)

    /// `0x` followed by 32 lowercase hex digits.
    public var description: String {
        func hex16(_ v: UInt64) -> String {
            let s = String(v, radix: 16)
            return String(repeating: "0", count: 16 - s.count) + s
        }
        return "0x" + hex16(high) + hex16(low)
    }

    /// Whether the value is zero.
    @inlinable public var isZero: Bool { high == 0 && low == 0 }

    /// Sum modulo 2^128.
    @inlinable @inline(__always)
    public static func &+ (a: Word128, b: Word128) -> Word128 {
        let (lo, carry) = a.low.addingReportingOverflow(b.low)
        return Word128(high: a.high &+ b.high &+ (carry ? 1 : 0), low: lo)
    }

    /// Product modulo 2^128.
    @inlinable @inline(__always)
    public static func &* (a: Word128, b: Word128) -> Word128 {
        let p = a.low.multipliedFullWidth(by: b.low)
        return Word128(high: p.high &+ a.low &* b.high &+ a.high &* b.low, low: p.low)
    }

    /// Product with a 64-bit factor, modulo 2^128.
    @inlinable @inline(__always)
    public static func &* (a: Word128, b: UInt64) -> Word128 {
        let p = a.low.multipliedFullWidth(by: b)
        return Word128(high: p.high &+ a.high &* b, low: p.low)
    }

    /// Logical right shift by one bit.
    @inlinable
    func shiftedRightOne() -> Word128 {
        Word128(high: high >> 1, low: (low >> 1) | (high << 63))
    }

    /// The state after `delta` steps of the LCG `s ← s·mult + plus` (mod 2^128),
    /// by square-and-multiply (Brown 1994, "Random number generation with
    /// arbitrary stride"), as PCG's `pcg_advance_lcg_128` computes it.
    @inlinable
    static func lcgAdvance(state: Word128, delta: Word128, mult: Word128, plus: Word128) -> Word128 {
        var accMult = Word128(1)
        var accPlus = Word128.zero
        var curMult = mult
        var curPlus = plus
        var d = delta
        while !d.isZero {
            if d.low & 1 == 1 {
                accMult = accMult &* curMult
                accPlus = accPlus &* curMult &+ curPlus
            }
            curPlus = (curMult &+ Word128(1)) &* curPlus
            curMult = curMult &* curMult
            d = d.shiftedRightOne()
        }
        return accMult &* state &+ accPlus
    }
}
