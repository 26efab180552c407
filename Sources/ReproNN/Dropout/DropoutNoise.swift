import ReproTensor

/// The multiplier dropout applies to each element: `0` for a dropped element, ``scale`` for a
/// kept one — torch's `noise` tensor. Forward is `x · noise` and backward `g · noise`, element by
/// element (one rounding each), so a dropped `−x` gives `−0.0` and a dropped ±∞ or NaN gives NaN,
/// as torch.
///
/// ```swift
/// let noise = try CounterDropout(seed: 1, modulePath: "head.dropout").noise(shape: [2, 3], p: 0.5, step: 0)
/// let y = try noise.forward(Tensor(repeating: Float(1), shape: [2, 3]))   // 0 or 2 per element
/// ```
public struct DropoutNoise: Sendable, Equatable {
    /// The shape of the tensor it applies to.
    public let shape: [Int]
    /// The drop probability it was drawn for.
    public let p: Double
    /// One multiplier per element, row-major: `0` or ``scale``.
    public let values: [Float]

    /// Creates noise from its values (checked: `values.count` must equal the shape's element count).
    public init(shape: [Int], p: Double, values: [Float]) throws(DropoutError) {
        guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == values.count else {
            throw .shapeMismatch(expected: shape, found: [values.count])
        }
        try DropoutError.check(p)
        self.shape = shape
        self.p = p
        self.values = values
    }

    /// torch's multiplier for kept elements: `1 / f32(1 − p)` rounded to float32 (`noise.div_(1 − p)`
    /// on a float tensor of ones); `+∞` for `p = 1`, where nothing is kept.
    public static func scale(p: Double) -> Float { 1 / Float(1 - p) }

    /// The multiplier of kept elements.
    public var scale: Float { Self.scale(p: p) }

    /// Number of kept elements.
    public var keptCount: Int { values.reduce(0) { $0 + ($1 != 0 ? 1 : 0) } }

    /// `p = 0`: torch returns the input itself, and so does ``forward(_:)``.
    public var isIdentity: Bool { p == 0 }

    /// Training-mode output `x · noise` (`x` itself when `p = 0`).
    ///
    /// - Throws: ``DropoutError/shapeMismatch(expected:found:)`` or a dtype error.
    public func forward(_ input: Tensor) throws(DropoutError) -> Tensor {
        if isIdentity {
            guard input.shape == shape else { throw .shapeMismatch(expected: shape, found: input.shape) }
            return input
        }
        return try multiply(input)
    }

    /// Input gradient `g · noise` for an output gradient `g` (`g` itself when `p = 0`).
    public func backward(_ outputGradient: Tensor) throws(DropoutError) -> Tensor {
        try forward(outputGradient)
    }

    func multiply(_ t: Tensor) throws(DropoutError) -> Tensor {
        guard t.shape == shape else { throw .shapeMismatch(expected: shape, found: t.shape) }
        guard t.dtype == .float32 else { throw .tensor(.dtypeMismatch(op: "dropout", expected: .float32, actual: t.dtype)) }
        do {
            var v: [Float] = try t.scalars()
            for i in v.indices { v[i] = v[i] * values[i] }
            return try Tensor(shape: shape, scalars: v)
        } catch { throw .tensor(error) }
    }
}

/// Why dropout could not run.
public enum DropoutError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `p` is not in `[0, 1]` (torch raises the same).
    case invalidProbability(Double)
    /// A tensor's shape differs from the noise's.
    case shapeMismatch(expected: [Int], found: [Int])
    /// A sample index, element index or count is beyond what the counter can address.
    case outOfRange(String)
    /// A tensor operation failed.
    case tensor(TensorError)

    /// A one-line explanation.
    public var description: String {
        switch self {
        case let .invalidProbability(p): return "dropout: probability has to be between 0 and 1, but got \(p)"
        case let .shapeMismatch(e, f): return "dropout: tensor of shape \(f) does not match the noise's shape \(e)"
        case let .outOfRange(m): return "dropout: \(m)"
        case let .tensor(e): return "dropout: \(e)"
        }
    }

    static func check(_ p: Double) throws(DropoutError) {
        guard p >= 0, p <= 1 else { throw .invalidProbability(p) }
    }
}
