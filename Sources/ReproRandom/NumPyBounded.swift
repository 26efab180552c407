/// Why a NumPy-compatible draw was refused (the cases where NumPy raises
/// `ValueError`).
public enum NumPyRandomError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `high <= low`: the half-open range `[low, high)` is empty.
    case emptyRange(low: Int64, high: Int64)
    /// A negative (or negative-zero) `scale`, which NumPy rejects with "scale < 0".
    case negativeScale(Double)
    /// A negative element count.
    case negativeCount(Int)

    /// A sentence naming the problem.
    public var description: String {
        switch self {
        case let .emptyRange(low, high): return "low >= high: the range [\(low), \(high)) is empty"
        case let .negativeScale(s): return "scale < 0 (got \(s))"
        case let .negativeCount(n): return "negative element count \(n)"
        }
    }
}

/// NumPy's bounded-integer kernels (`distributions.c`: `random_interval`,
/// `bounded_masked_*`, `buffered_bounded_lemire_uint32`, `bounded_lemire_uint64`).
@usableFromInline
enum _NumPyBounded {
    /// The smallest `2^k - 1 ≥ x`.
    @inlinable @inline(__always)
    static func mask(_ x: UInt64) -> UInt64 {
        var m = x
        m |= m >> 1; m |= m >> 2; m |= m >> 4; m |= m >> 8; m |= m >> 16; m |= m >> 32
        return m
    }

    /// A value in `0...rng` by masked rejection: 32-bit draws when
    /// `rng ≤ 2^32 - 1`, 64-bit draws above; no draw when `rng == 0`. This is
    /// both `random_interval(max)` (shuffles) and the legacy `randint` path.
    @inlinable @inline(__always)
    static func masked<B: NumPyBitGenerator>(_ rng: UInt64, _ g: inout B) -> UInt64 {
        if rng == 0 { return 0 }
        let m = mask(rng)
        if rng <= 0xffff_ffff {
            let m32 = UInt32(truncatingIfNeeded: m)
            var v: UInt32
            repeat { v = g.next32() & m32 } while UInt64(v) > rng
            return UInt64(v)
        }
        var v: UInt64
        repeat { v = g.next64() & m } while v > rng
        return v
    }

    /// A value in `0...rng` by Lemire's multiply-shift rejection (the
    /// `Generator.integers` path; docs/random.md, "`default_rng`").
    @inlinable @inline(__always)
    static func lemire<B: NumPyBitGenerator>(_ rng: UInt64, _ g: inout B) -> UInt64 {
        if rng == 0 { return 0 }
        if rng < 0xffff_ffff {
            let excl = UInt32(truncatingIfNeeded: rng) &+ 1
            var m = UInt64(g.next32()) &* UInt64(excl)
            var left = UInt32(truncatingIfNeeded: m)
            if left < excl {
                let t = (UInt32.max &- UInt32(truncatingIfNeeded: rng)) % excl
                while left < t {
                    m = UInt64(g.next32()) &* UInt64(excl)
                    left = UInt32(truncatingIfNeeded: m)
                }
            }
            return m >> 32
        }
        if rng == 0xffff_ffff { return UInt64(g.next32()) }
        if rng == UInt64.max { return g.next64() }
        let excl = rng &+ 1
        var m = g.next64().multipliedFullWidth(by: excl)
        if m.low < excl {
            let t = (UInt64.max &- rng) % excl
            while m.low < t { m = g.next64().multipliedFullWidth(by: excl) }
        }
        return m.high
    }

    /// `rng = high - 1 - low` as an unsigned 64-bit distance, or the error for an empty range.
    @inlinable
    static func range(_ low: Int64, _ high: Int64) throws(NumPyRandomError) -> UInt64 {
        guard high > low else { throw .emptyRange(low: low, high: high) }
        return UInt64(bitPattern: high) &- 1 &- UInt64(bitPattern: low)
    }

    /// `low + v` with 64-bit wrap-around (the result is always in range).
    @inlinable @inline(__always)
    static func offset(_ low: Int64, _ v: UInt64) -> Int64 {
        Int64(bitPattern: UInt64(bitPattern: low) &+ v)
    }

    /// Fisher–Yates from the back with ``masked(_:_:)`` indices (NumPy's `_shuffle_raw`).
    @inlinable
    static func shuffle<C: MutableCollection & RandomAccessCollection, B: NumPyBitGenerator>(
        _ c: inout C, _ g: inout B
    ) {
        let n = c.count
        guard n > 1 else { return }
        let start = c.startIndex
        var i = n - 1
        while i >= 1 {
            let j = Int(masked(UInt64(i), &g))
            c.swapAt(c.index(start, offsetBy: i), c.index(start, offsetBy: j))
            i -= 1
        }
    }

    /// `np.arange(n)` shuffled by ``shuffle(_:_:)``; empty for `n ≤ 0`, as `arange` is.
    @inlinable
    static func permutation<B: NumPyBitGenerator>(_ n: Int, _ g: inout B) -> [Int] {
        var a = Array(0..<max(0, n))
        a.withUnsafeMutableBufferPointer { shuffle(&$0, &g) }
        return a
    }

    /// Checks an element count.
    @inlinable
    static func count(_ n: Int) throws(NumPyRandomError) -> Int {
        guard n >= 0 else { throw .negativeCount(n) }
        return n
    }
}
