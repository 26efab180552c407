/// The element type of a ``Tensor``.
///
/// ```swift
/// DType.float32.byteCount   // 4
/// ```
public enum DType: UInt8, Sendable, Equatable, CaseIterable, CustomStringConvertible {
    /// 32-bit IEEE float (the default for activations and weights).
    case float32 = 1
    /// 64-bit IEEE float, for exact scalar math.
    case float64 = 2
    /// 64-bit signed integer, for indices.
    case int64 = 3
    /// 8-bit unsigned integer, for images.
    case uint8 = 4

    /// Bytes per element.
    public var byteCount: Int {
        switch self {
        case .float32: 4
        case .float64: 8
        case .int64: 8
        case .uint8: 1
        }
    }

    /// The PyTorch-style name (`float32`, `float64`, `int64`, `uint8`).
    public var description: String {
        switch self {
        case .float32: "float32"
        case .float64: "float64"
        case .int64: "int64"
        case .uint8: "uint8"
        }
    }
}

/// A Swift type that can be a ``Tensor`` element.
///
/// ```swift
/// Float.dtype   // .float32
/// ```
public protocol TensorScalar: BitwiseCopyable, Sendable, Equatable {
    /// The matching ``DType``.
    static var dtype: DType { get }
    /// The zero value.
    static var zero: Self { get }
}

extension Float: TensorScalar {
    /// ``DType/float32``.
    public static var dtype: DType { .float32 }
}

extension Double: TensorScalar {
    /// ``DType/float64``.
    public static var dtype: DType { .float64 }
}

extension Int64: TensorScalar {
    /// ``DType/int64``.
    public static var dtype: DType { .int64 }
}

extension UInt8: TensorScalar {
    /// ``DType/uint8``.
    public static var dtype: DType { .uint8 }
}
