/// The element types a checkpoint can store.
public enum CheckpointDType: String, Sendable, CaseIterable {
    /// IEEE binary32 (`torch.float32`, safetensors `F32`).
    case float32
    /// IEEE binary64.
    case float64
    /// IEEE binary16.
    case float16
    /// bfloat16.
    case bfloat16
    /// Signed 64-bit integer.
    case int64
    /// Signed 32-bit integer.
    case int32
    /// Signed 16-bit integer.
    case int16
    /// Signed 8-bit integer.
    case int8
    /// Unsigned 8-bit integer.
    case uint8
    /// Boolean (one byte).
    case bool

    /// Bytes per element.
    public var byteCount: Int {
        switch self {
        case .float64, .int64: return 8
        case .float32, .int32: return 4
        case .float16, .bfloat16, .int16: return 2
        case .int8, .uint8, .bool: return 1
        }
    }

    /// The dtype of a PyTorch storage class name (`FloatStorage` …), if allowed.
    init?(torchStorage name: String) {
        switch name {
        case "FloatStorage": self = .float32
        case "DoubleStorage": self = .float64
        case "HalfStorage": self = .float16
        case "BFloat16Storage": self = .bfloat16
        case "LongStorage": self = .int64
        case "IntStorage": self = .int32
        case "ShortStorage": self = .int16
        case "CharStorage": self = .int8
        case "ByteStorage": self = .uint8
        case "BoolStorage": self = .bool
        default: return nil
        }
    }

    /// The dtype of a safetensors dtype string (`F32` …), if supported.
    init?(safetensors name: String) {
        switch name {
        case "F32": self = .float32
        case "F64": self = .float64
        case "F16": self = .float16
        case "BF16": self = .bfloat16
        case "I64": self = .int64
        case "I32": self = .int32
        case "I16": self = .int16
        case "I8": self = .int8
        case "U8": self = .uint8
        case "BOOL": self = .bool
        default: return nil
        }
    }
}

/// A tensor as a checkpoint stores it: element type, shape, and its
/// elements as little-endian bytes in row-major (contiguous) order.
///
/// Views into shared storages (PyTorch's `storage_offset` and strides) are
/// resolved when the checkpoint is read, so two entries that shared a storage
/// in the file are two independent values here. A contiguous tensor read from
/// a file is not copied: it refers to the file's bytes (see
/// ``StateDict/init(contentsOf:access:)``), which stay mapped while it lives.
///
/// ```swift
/// let dict = try StateDict(contentsOf: "weights.pth")
/// let w = try dict.tensor("backbone.body.conv1.weight")
/// w.shape          // [64, 3, 7, 7]
/// let values = try w.floats()
/// ```
public struct CheckpointTensor: Sendable, Equatable {
    /// The element type.
    public let dtype: CheckpointDType
    /// The shape (empty for a scalar).
    public let shape: [Int]
    /// The elements, in the file or in memory of their own.
    let storage: CheckpointBytes

    /// The elements, little-endian, row-major; `elementCount * dtype.byteCount` bytes (a copy).
    public var bytes: [UInt8] { storage.array }

    /// Creates a tensor from contiguous little-endian bytes.
    ///
    /// - Throws: ``CheckpointError/invalidTensor(name:reason:)`` when the byte
    ///   count does not match the shape.
    public init(dtype: CheckpointDType, shape: [Int], bytes: [UInt8], name: String = "") throws(CheckpointError) {
        try self.init(dtype: dtype, shape: shape, storage: CheckpointBytes(copying: bytes), name: name)
    }

    /// A tensor over bytes of a checkpoint buffer (no copy).
    init(dtype: CheckpointDType, shape: [Int], storage: CheckpointBytes, name: String) throws(CheckpointError) {
        guard let count = Self.elementCount(shape) else {
            throw .invalidTensor(name: name, reason: "shape \(shape) has a negative or overflowing size")
        }
        guard count.multipliedReportingOverflow(by: dtype.byteCount) == (storage.count, false) else {
            throw .invalidTensor(name: name, reason: "shape \(shape) of \(dtype) needs \(count * dtype.byteCount) bytes, got \(storage.count)")
        }
        self.dtype = dtype
        self.shape = shape
        self.storage = storage
    }

    /// Equal dtype, shape and bytes.
    public static func == (a: CheckpointTensor, b: CheckpointTensor) -> Bool {
        a.dtype == b.dtype && a.shape == b.shape && a.storage.elementsEqual(b.storage)
    }

    /// The elements' bytes, valid inside `body` (no copy).
    func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try storage.withUnsafeBytes(body)
    }

    /// The number of elements, or nil if a dimension is negative or the product overflows.
    static func elementCount(_ shape: [Int]) -> Int? {
        var n = 1
        for d in shape {
            guard d >= 0 else { return nil }
            let (p, o) = n.multipliedReportingOverflow(by: d)
            guard !o else { return nil }
            n = p
        }
        return n
    }

    /// The number of elements.
    public var elementCount: Int { storage.count / dtype.byteCount }

    /// The elements as `Float`: float32 bit for bit; float16 and bfloat16 widened exactly
    /// (``HalfPrecision``: every such value is a float32 value, so nothing is rounded).
    ///
    /// - Throws: ``CheckpointError/wrongDType(name:expected:actual:)`` for other dtypes
    ///   (float64 would have to be rounded, so it is refused).
    public func floats(name: String = "") throws(CheckpointError) -> [Float] {
        let n = elementCount
        let widen: (UnsafeRawBufferPointer, Int) -> Float
        switch dtype {
        case .float32: widen = { Float(bitPattern: UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 4 * $1, as: UInt32.self))) }
        case .float16: widen = { HalfPrecision.float(float16Bits: UInt16(littleEndian: $0.loadUnaligned(fromByteOffset: 2 * $1, as: UInt16.self))) }
        case .bfloat16: widen = { HalfPrecision.float(bfloat16Bits: UInt16(littleEndian: $0.loadUnaligned(fromByteOffset: 2 * $1, as: UInt16.self))) }
        default: throw .wrongDType(name: name, expected: .float32, actual: dtype)
        }
        return [Float](unsafeUninitializedCapacity: n) { buf, count in
            storage.withUnsafeBytes { raw in
                for i in 0..<n { buf[i] = widen(raw, i) }
            }
            count = n
        }
    }

    /// The elements as `Int64` (from `int64`, `int32`, `int16`, `int8`, `uint8` or `bool`).
    ///
    /// - Throws: ``CheckpointError/wrongDType(name:expected:actual:)`` for floating-point dtypes.
    public func integers(name: String = "") throws(CheckpointError) -> [Int64] {
        let n = elementCount
        let read: (UnsafeRawBufferPointer, Int) -> Int64
        switch dtype {
        case .int64: read = { Int64(littleEndian: $0.loadUnaligned(fromByteOffset: 8 * $1, as: Int64.self)) }
        case .int32: read = { Int64(Int32(littleEndian: $0.loadUnaligned(fromByteOffset: 4 * $1, as: Int32.self))) }
        case .int16: read = { Int64(Int16(littleEndian: $0.loadUnaligned(fromByteOffset: 2 * $1, as: Int16.self))) }
        case .int8: read = { Int64(Int8(bitPattern: $0[$1])) }
        case .uint8, .bool: read = { Int64($0[$1]) }
        default: throw .wrongDType(name: name, expected: .int64, actual: dtype)
        }
        return storage.withUnsafeBytes { raw in (0..<n).map { read(raw, $0) } }
    }
}
