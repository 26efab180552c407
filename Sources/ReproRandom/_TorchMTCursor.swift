/// A pointer-based view of an ``MT19937`` for the bulk loops of
/// ``TorchGenerator``: the same draws as `MT19937.next32()`, without array
/// bounds checks or copy-on-write checks per draw.
///
/// Only valid inside ``MT19937/_withTorchCursor(_:)``.
@usableFromInline
struct _TorchMTCursor {
    @usableFromInline let words: UnsafeMutablePointer<UInt32>
    @usableFromInline var left: Int32
    @usableFromInline var next: UInt32

    @inlinable @inline(__always)
    init(words: UnsafeMutablePointer<UInt32>, left: Int32, next: UInt32) {
        self.words = words
        self.left = left
        self.next = next
    }

    /// PyTorch's `random()`.
    @inlinable @inline(__always)
    mutating func next32() -> UInt32 {
        left &-= 1
        if left == 0 {
            MT19937.twist(words)
            left = 624
            next = 0
        }
        let y = words[Int(next)]
        next &+= 1
        return MT19937.temper(y)
    }

    /// PyTorch's `random64()`: first draw in the high half.
    @inlinable @inline(__always)
    mutating func next64() -> UInt64 {
        let hi = UInt64(next32())
        return (hi << 32) | UInt64(next32())
    }

    /// The 53-bit uniform double in [0, 1) of `uniform_real_distribution<double>(0, 1)`.
    @inlinable @inline(__always)
    mutating func nextDouble53() -> Double {
        Double(next64() & 0x1f_ffff_ffff_ffff) * 0x1p-53
    }

    /// The 24-bit uniform float in [0, 1) of `uniform_real_distribution<float>(0, 1)`.
    @inlinable @inline(__always)
    mutating func nextFloat24() -> Float {
        Float(next32() & 0xff_ffff) * 0x1p-24
    }

    /// Writes the next `count` outputs of ``next32()`` to `dst`, a run of
    /// untwisted words at a time, so the tempering loop vectorises.
    @inlinable
    mutating func fill(_ dst: UnsafeMutablePointer<UInt32>, count: Int) {
        var i = 0
        while i < count {
            if left == 1 {
                // What the next draw would do: regenerate and restart at word 0.
                MT19937.twist(words)
                left = 625
                next = 0
            }
            let k = min(count - i, Int(left) - 1)
            let src = words + Int(next)
            let out = dst + i
            for t in 0..<k { out[t] = MT19937.temper(src[t]) }
            next &+= UInt32(k)
            left &-= Int32(k)
            i += k
        }
    }
}

extension MT19937 {
    /// Runs `body` with a pointer-based cursor over this generator's words and
    /// writes the cursor's position back afterwards.
    @inlinable @inline(__always)
    mutating func _withTorchCursor<R>(_ body: (inout _TorchMTCursor) throws -> R) rethrows -> R {
        let startLeft = left
        let startNext = nextIndex
        var endLeft = startLeft
        var endNext = startNext
        let result = try mt.withUnsafeMutableBufferPointer { buf in
            var cursor = _TorchMTCursor(words: buf.baseAddress!, left: startLeft, next: startNext)
            defer {
                endLeft = cursor.left
                endNext = cursor.next
            }
            return try body(&cursor)
        }
        left = endLeft
        nextIndex = endNext
        return result
    }
}
