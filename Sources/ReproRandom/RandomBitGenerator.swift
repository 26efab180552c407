/// A seedable source of random bits whose whole state can be saved and restored.
///
/// Every generator in Repro is a value type: copying one forks the stream, and
/// two copies produce the same values. The state round-trips exactly through
/// ``serializedState``:
///
/// ```swift
/// var a = MT19937(seed: 5)
/// _ = a.next()
/// let saved = a.serializedState
/// var b = try MT19937(serializedState: saved)
/// assert(a.next() == b.next())
/// ```
///
/// Conforming types also conform to `RandomNumberGenerator`, so they can be
/// passed to the standard library's `using:` APIs. Those APIs' algorithms are
/// the standard library's, not PyTorch's or NumPy's; use the library-compatible
/// front ends (``TorchGenerator``, ``NumPyGenerator``…) to reproduce a library.
public protocol RandomBitGenerator: RandomNumberGenerator, Sendable, Equatable {
    /// The complete state as bytes, in a documented little-endian layout that
    /// ``init(serializedState:)`` accepts.
    var serializedState: [UInt8] { get }

    /// Restores a generator from bytes produced by ``serializedState``.
    ///
    /// - Throws: ``RandomStateError`` when the bytes have the wrong length or
    ///   hold a value the generator can never be in.
    init(serializedState: [UInt8]) throws(RandomStateError)
}

/// Why a saved generator state or a seed was refused.
public enum RandomStateError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The state has `actual` bytes where the generator's layout has `expected`.
    case wrongLength(generator: String, expected: Int, actual: Int)
    /// A field of the state holds a value the generator can never be in.
    case invalidField(generator: String, field: String, detail: String)
    /// A seed outside the range the emulated library accepts.
    case seedOutOfRange(generator: String, seed: String, accepted: String)

    /// A sentence naming the generator and the problem.
    public var description: String {
        switch self {
        case let .wrongLength(generator, expected, actual):
            return "\(generator) state must be \(expected) bytes, got \(actual)"
        case let .invalidField(generator, field, detail):
            return "\(generator) state field '\(field)' is invalid: \(detail)"
        case let .seedOutOfRange(generator, seed, accepted):
            return "\(generator) seed \(seed) is out of range (accepted: \(accepted))"
        }
    }
}

// MARK: - Little-endian state serialisation helpers

/// Appends fixed-width little-endian fields to a byte buffer.
@usableFromInline
struct _StateWriter {
    @usableFromInline var bytes: [UInt8] = []

    @inlinable init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    @inlinable mutating func write<T: FixedWidthInteger>(_ value: T) {
        var v = value.littleEndian
        withUnsafeBytes(of: &v) { bytes.append(contentsOf: $0) }
    }

    @inlinable mutating func write(_ value: Double) { write(value.bitPattern) }
    @inlinable mutating func write(_ value: Float) { write(value.bitPattern) }
    @inlinable mutating func write(_ value: Bool) { write(UInt8(value ? 1 : 0)) }
    @inlinable mutating func pad(_ count: Int) { bytes.append(contentsOf: repeatElement(0, count: count)) }
}

/// Reads fixed-width little-endian fields from a byte buffer whose length was
/// already checked.
@usableFromInline
struct _StateReader {
    @usableFromInline let bytes: [UInt8]
    @usableFromInline var offset = 0

    @inlinable init(_ bytes: [UInt8]) { self.bytes = bytes }

    @inlinable mutating func read<T: FixedWidthInteger>(_: T.Type = T.self) -> T {
        var v: T = 0
        for i in 0..<MemoryLayout<T>.size {
            v |= T(truncatingIfNeeded: bytes[offset + i]) << (8 * i)
        }
        offset += MemoryLayout<T>.size
        return v
    }

    /// `count` consecutive fields of type `T`.
    @inlinable mutating func read<T: FixedWidthInteger>(count: Int, as _: T.Type = T.self) -> [T] {
        (0..<count).map { _ in read(T.self) }
    }

    /// A one-byte flag written by `write(_: Bool)`.
    ///
    /// - Throws: ``RandomStateError/invalidField(generator:field:detail:)``
    ///   naming `field` when the byte is neither 0 nor 1.
    mutating func readFlag(generator: String, field: String) throws(RandomStateError) -> Bool {
        let flag: UInt8 = read()
        guard flag <= 1 else {
            throw .invalidField(generator: generator, field: field, detail: "\(flag) is not 0 or 1")
        }
        return flag == 1
    }

    @inlinable mutating func readDouble() -> Double { Double(bitPattern: read(UInt64.self)) }
    @inlinable mutating func readFloat() -> Float { Float(bitPattern: read(UInt32.self)) }
    @inlinable mutating func skip(_ count: Int) { offset += count }
}

extension RandomBitGenerator {
    /// Checks a serialised state's length before decoding it.
    @inlinable
    static func _checkLength(_ bytes: [UInt8], _ expected: Int, _ name: String) throws(RandomStateError) {
        guard bytes.count == expected else {
            throw .wrongLength(generator: name, expected: expected, actual: bytes.count)
        }
    }
}
