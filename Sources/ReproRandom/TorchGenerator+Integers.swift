// torch.randint, Tensor.random_(), random_(from, to) on CPU (docs/random.md, "Integers").

/// A PyTorch tensor dtype, as far as the integer-valued random kernels care.
public enum TorchDType: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// `torch.int64` (`torch.long`).
    case int64
    /// `torch.int32`.
    case int32
    /// `torch.int16`.
    case int16
    /// `torch.int8`.
    case int8
    /// `torch.uint8`.
    case uint8
    /// `torch.bool`.
    case bool
    /// `torch.float32`.
    case float32
    /// `torch.float64`.
    case float64
    /// `torch.float16`.
    case float16
    /// `torch.bfloat16`.
    case bfloat16

    /// `torch.<name>`.
    public var description: String { "torch.\(rawValue)" }

    /// The range of integers `random_(from, to)` accepts as bounds for this
    /// dtype: the integer range for integer types, `±2^digits` for floating types.
    public var integerBounds: ClosedRange<Int64> {
        switch self {
        case .int64: return Int64.min...Int64.max
        case .int32: return Int64(Int32.min)...Int64(Int32.max)
        case .int16: return Int64(Int16.min)...Int64(Int16.max)
        case .int8: return Int64(Int8.min)...Int64(Int8.max)
        case .uint8: return 0...255
        case .bool: return 0...1
        case .float32: return -(1 << 24)...(1 << 24)
        case .float64: return -(1 << 53)...(1 << 53)
        case .float16: return -(1 << 11)...(1 << 11)
        case .bfloat16: return -(1 << 8)...(1 << 8)
        }
    }
}

extension TorchGenerator {
    /// `torch.randint(low, high, (count,), generator=g)` (int64).
    ///
    /// `range = high - low`; each value is `random64() % range` when
    /// `range ≥ 2^28` and `random() % range` otherwise, plus `low` — plain
    /// modulo reduction, as PyTorch does.
    ///
    /// ```swift
    /// var g = TorchGenerator(seed: 42)
    /// let v = try g.randint(low: 0, high: 10, count: 20)
    /// ```
    ///
    /// - Throws: ``TorchRandomError/emptyRange(from:to:)`` when `low >= high`,
    ///   ``TorchRandomError/negativeCount(_:)``.
    public mutating func randint(low: Int64 = 0, high: Int64, count: Int) throws(TorchRandomError) -> [Int64] {
        try randomValues(count: count, from: low, to: high, dtype: .int64)
    }

    /// `torch.empty(count, dtype=dtype).random_(from, to, generator=g)`:
    /// integers in `[from, to)`, returned as `Int64` (every value is exactly
    /// representable in `dtype`; convert it yourself).
    ///
    /// With `to == nil`, `to` is the dtype's largest value plus one (`2^digits + 1`
    /// for floating types); `from == Int64.min` with `to == nil` on int64 is the
    /// full 64-bit range, `Int64(bitPattern: random64())`.
    ///
    /// ```swift
    /// let a = try g.randomValues(count: 4, from: 5, to: nil)   // random_(from=5, to=None)
    /// let b = try g.randomValues(count: 4, from: 0, to: 5)     // random_(5)
    /// ```
    ///
    /// - Throws: ``TorchRandomError/emptyRange(from:to:)``,
    ///   ``TorchRandomError/boundOutsideDType(bound:dtype:)``,
    ///   ``TorchRandomError/unsupportedDType(operation:dtype:)`` (full 64-bit
    ///   range on a dtype other than int64), ``TorchRandomError/negativeCount(_:)``.
    public mutating func randomValues(
        count: Int, from: Int64, to: Int64?, dtype: TorchDType = .int64
    ) throws(TorchRandomError) -> [Int64] {
        try Self.checkCount(count)
        let bounds = dtype.integerBounds
        let range: UInt64
        if let to {
            guard from < to else { throw .emptyRange(from: from, to: to) }
            guard bounds.contains(from) else { throw .boundOutsideDType(bound: from, dtype: dtype) }
            guard bounds.contains(to - 1) else { throw .boundOutsideDType(bound: to, dtype: dtype) }
            range = UInt64(bitPattern: to) &- UInt64(bitPattern: from)
        } else if from == Int64.min {
            guard dtype == .int64 else {
                throw .unsupportedDType(operation: "random_(from=-2^63, to=None)", dtype: dtype)
            }
            return (0..<count).map { _ in Int64(bitPattern: random64()) }
        } else {
            guard bounds.contains(from) else { throw .boundOutsideDType(bound: from, dtype: dtype) }
            range = UInt64(bitPattern: bounds.upperBound) &- UInt64(bitPattern: from) &+ 1
        }
        let offset = UInt64(bitPattern: from)
        var out = [Int64](repeating: 0, count: count)
        out.withUnsafeMutableBufferPointer { buf in
            engine._withTorchCursor { c in
                if range >= 1 << 28 {
                    for i in 0..<count { buf[i] = Int64(bitPattern: (c.next64() % range) &+ offset) }
                } else {
                    for i in 0..<count { buf[i] = Int64(bitPattern: (UInt64(c.next32()) % range) &+ offset) }
                }
            }
        }
        return out
    }

    /// `torch.empty(count, dtype=dtype).random_(generator=g)` without bounds,
    /// returned as `Int64` (exact in `dtype`):
    ///
    /// | dtype | value |
    /// |---|---|
    /// | int64 | `random64() % 2^63` |
    /// | int32 / int16 / int8 / uint8 | `random() % 2^31` / `2^15` / `2^7` / `2^8` |
    /// | bool | `random() & 1` |
    /// | float32 / float64 | `random() % (2^24+1)` / `random64() % (2^53+1)` |
    /// | float16 / bfloat16 | `random() % (2^11+1)` / `% (2^8+1)` |
    ///
    /// ```swift
    /// let seed = try g.randomValues(count: 1, dtype: .int64)[0]  // as RandomSampler draws it
    /// ```
    ///
    /// - Throws: ``TorchRandomError/negativeCount(_:)``.
    public mutating func randomValues(count: Int, dtype: TorchDType) throws(TorchRandomError) -> [Int64] {
        try Self.checkCount(count)
        var out = [Int64](repeating: 0, count: count)
        out.withUnsafeMutableBufferPointer { buf in
            engine._withTorchCursor { c in
                @inline(__always) func fill32(_ f: (UInt32) -> UInt32) {
                    for i in 0..<count { buf[i] = Int64(f(c.next32())) }
                }
                switch dtype {
                case .int64:
                    for i in 0..<count { buf[i] = Int64(c.next64() % (1 << 63)) }
                case .float64:
                    for i in 0..<count { buf[i] = Int64(c.next64() % ((1 << 53) + 1)) }
                case .int32: fill32 { $0 % (1 << 31) }
                case .int16: fill32 { $0 % (1 << 15) }
                case .int8: fill32 { $0 % (1 << 7) }
                case .uint8: fill32 { $0 % (1 << 8) }
                case .bool: fill32 { $0 & 1 }
                case .float32: fill32 { $0 % ((1 << 24) + 1) }
                case .float16: fill32 { $0 % ((1 << 11) + 1) }
                case .bfloat16: fill32 { $0 % ((1 << 8) + 1) }
                }
            }
        }
        return out
    }

    /// `torch.empty((), dtype=torch.int64).random_(generator=g)`: one
    /// `random64() % 2^63`, the seed `RandomSampler` and `DataLoader` draw.
    ///
    /// ```swift
    /// var g = TorchGenerator(seed: 42)
    /// g.randomInt64()   // 6909045637428952499
    /// ```
    public mutating func randomInt64() -> Int64 {
        Int64(random64() % (1 << 63))
    }
}
