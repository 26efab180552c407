import ReproTensor

/// How a loss turns its per-element values into its result, as torch's `reduction` argument.
public enum LossReduction: String, Sendable, Hashable, CaseIterable {
    /// The per-element losses, unreduced.
    case none
    /// The canonical sum over samples of the per-sample sums.
    case sum
    /// The canonical sum of the numerators divided by the canonical sum of the denominators
    /// (torch's definition of the mean for each loss: the element count, or `Σ w[yᵢ]` for a
    /// weighted cross-entropy).
    case mean
}

/// The gradient arriving at a loss's output, which says what the input gradient is of.
public enum LossOutputGradient: Sendable {
    /// The loss was reduced with `mean`; `denominator` is the **global** denominator of the whole
    /// batch (``Loss/denominator(target:)`` over all targets, or the merged ``LossTerms``), so a
    /// micro-batch's input gradient equals the rows of the whole batch's, bit for bit.
    case mean(denominator: Float, outputGradient: Float = 1)
    /// The loss was reduced with `sum`.
    case sum(outputGradient: Float = 1)
    /// The loss was not reduced: one gradient per element, shaped as ``Loss/elementLosses(_:_:)``.
    case none(Tensor)
}

/// The per-sample numerators and denominators of a loss over a contiguous range of samples,
/// as nodes of the canonical sample tree (``SampleTreeSum``).
///
/// A micro-batch `[a, b)` evaluates its terms with `startIndex: a`; appending the terms of the
/// micro-batches in order (``append(_:)``) gives the same bits as evaluating the whole batch at
/// once, for any split.
///
/// ```swift
/// let loss = L1Loss()
/// let x = try Tensor(shape: [3, 2], scalars: [Float](repeating: 1, count: 6))
/// let y = try Tensor(zeros: [3, 2])
/// var terms = try loss.terms(x.sliced(dim: 0, range: 0..<2), y.sliced(dim: 0, range: 0..<2), startIndex: 0)
/// try terms.append(loss.terms(x.sliced(dim: 0, range: 2..<3), y.sliced(dim: 0, range: 2..<3), startIndex: 2))
/// let mean = try terms.value(.mean, loss: "l1_loss")   // 1.0
/// ```
public struct LossTerms: Sendable, Equatable {
    /// Canonical-tree sums of the per-sample loss sums (one float per sample).
    public private(set) var numerators: SampleTreeSum
    /// Canonical-tree sums of the per-sample denominators (one float per sample).
    public private(set) var denominators: SampleTreeSum

    /// Empty terms for samples starting at `startIndex`.
    public init(startIndex: Int = 0) {
        numerators = SampleTreeSum(count: 1, startIndex: startIndex)
        denominators = SampleTreeSum(count: 1, startIndex: startIndex)
    }

    /// Pushes the next sample's numerator and denominator.
    public mutating func append(numerator: Float, denominator: Float) {
        numerators.append(sample: [numerator])
        denominators.append(sample: [denominator])
    }

    /// Appends the terms of the following samples (another micro-batch, which must start where
    /// these end).
    ///
    /// - Throws: ``LossError/merge(_:)`` when the ranges do not join.
    public mutating func append(_ other: LossTerms) throws(LossError) {
        do {
            try numerators.append(other.numerators)
            try denominators.append(other.denominators)
        } catch { throw .merge(error) }
    }

    /// Number of samples covered.
    public var sampleCount: Int { numerators.sampleCount }

    /// The canonical sum of the numerators.
    public var sum: Float { numerators.total()[0] }

    /// The canonical sum of the denominators (the global denominator once every micro-batch is in).
    public var denominator: Float { denominators.total()[0] }

    /// The reduced loss: ``sum`` for `.sum`, `sum / denominator` for `.mean`.
    ///
    /// - Throws: ``LossError/emptyMean(loss:)`` for `.mean` with a zero denominator (no samples,
    ///   or every target ignored; torch returns NaN there) and ``LossError/invalidArgument(loss:reason:)``
    ///   for `.none`, which has no scalar value.
    public func value(_ reduction: LossReduction, loss: String) throws(LossError) -> Float {
        switch reduction {
        case .sum: return sum
        case .mean:
            let d = denominator
            guard d != 0 else { throw .emptyMean(loss: loss) }
            return sum / d
        case .none: throw .invalidArgument(loss: loss, reason: "reduction 'none' has no scalar value")
        }
    }
}

/// One value per sample of a loss: the numerator (the sample's element losses summed in index
/// order) and the denominator (what `mean` divides by for it).
public struct SampleLossTerms: Sendable, Equatable {
    /// Per-sample loss sums.
    public var numerators: [Float] = []
    /// Per-sample denominators (element counts, or `Σ w[yᵢ]` for a weighted cross-entropy).
    public var denominators: [Float] = []
    /// Empty terms.
    public init() {}
}

/// A loss with torch's formula, split into per-sample terms so that any micro-batch split of a
/// global batch gives the same bits.
///
/// Dimension 0 of the input indexes the samples. Each sample's numerator is the sum of its
/// element losses in index order; its denominator is what torch's `mean` divides by for it (its
/// element count, or `Σ w[yᵢ]` over its non-ignored targets for a weighted cross-entropy). The
/// batch's `sum` and `mean` are the canonical sample-tree sums of those (``LossTerms``).
///
/// Micro-batching: get the global denominator first (``denominator(target:)`` over all targets),
/// then each micro-batch computes its ``terms(_:_:startIndex:)`` (to merge in order) and its
/// input gradient with ``LossOutputGradient/mean(denominator:outputGradient:)``. The gradient of
/// sample `i` is a function of sample `i` and that denominator only.
public protocol Loss: Sendable {
    /// torch's name for the loss, used in errors (`"cross_entropy"`, `"l1_loss"`, …).
    var name: String { get }
    /// The reduction ``callAsFunction(_:_:)`` applies (torch's `reduction`, default `mean`).
    var reduction: LossReduction { get }
    /// The shape of ``elementLosses(_:_:)`` for an input of this shape (the input's own shape,
    /// except for cross-entropy and the box loss, which reduce a class or coordinate dimension).
    func elementShape(of input: Tensor) -> [Int]
    /// The per-element losses (torch's `reduction='none'` result).
    func elementLosses(_ input: Tensor, _ target: Tensor) throws(LossError) -> Tensor
    /// Each sample's numerator (its element losses summed in index order) and denominator, for
    /// the rows of `input`; `startIndex` (the global index of the first row) names samples in errors.
    /// A per-sample engine can use these directly; ``terms(_:_:startIndex:)`` reduces them.
    func sampleTerms(_ input: Tensor, _ target: Tensor, startIndex: Int) throws(LossError) -> SampleLossTerms
    /// The canonical sum of the per-sample denominators of these targets (call with every target
    /// of the global batch to get the global denominator that `mean` divides by).
    func denominator(target: Tensor) throws(LossError) -> Float
    /// The gradient with respect to `input`, shaped as `input`, for the given output gradient.
    /// (Sample indices in its errors count from the first row of `input`.)
    func inputGradient(_ input: Tensor, _ target: Tensor, outputGradient: LossOutputGradient) throws(LossError) -> Tensor
}

extension Loss {
    /// The per-sample terms of a contiguous range of samples whose first has global index
    /// `startIndex`, as nodes of the canonical sample tree (merge micro-batches with
    /// ``LossTerms/append(_:)``).
    public func terms(_ input: Tensor, _ target: Tensor, startIndex: Int) throws(LossError) -> LossTerms {
        let s = try sampleTerms(input, target, startIndex: startIndex)
        var terms = LossTerms(startIndex: startIndex)
        for (n, d) in zip(s.numerators, s.denominators) { terms.append(numerator: n, denominator: d) }
        return terms
    }

    /// The loss of a whole batch with ``reduction``: a scalar tensor for `sum` and `mean`, the
    /// per-element losses for `none`.
    public func callAsFunction(_ input: Tensor, _ target: Tensor) throws(LossError) -> Tensor {
        if reduction == .none { return try elementLosses(input, target) }
        let v = try terms(input, target, startIndex: 0).value(reduction, loss: name)
        return try LossError.wrap(name) { () throws(TensorError) in try Tensor(shape: [], scalars: [v]) }
    }

    /// The input gradient of ``callAsFunction(_:_:)`` for a whole batch, for an output gradient of
    /// `outputGradient` (a scalar; for `reduction == .none` every element receives it).
    public func inputGradient(_ input: Tensor, _ target: Tensor, outputGradient: Float = 1) throws(LossError) -> Tensor {
        switch reduction {
        case .sum: return try inputGradient(input, target, outputGradient: .sum(outputGradient: outputGradient))
        case .mean:
            let d = try denominator(target: target)
            guard d != 0 else { throw .emptyMean(loss: name) }
            return try inputGradient(input, target, outputGradient: .mean(denominator: d, outputGradient: outputGradient))
        case .none:
            let shape = elementShape(of: input)
            let g = try LossError.wrap(name) { () throws(TensorError) in try Tensor(repeating: outputGradient, shape: shape) }
            return try inputGradient(input, target, outputGradient: .none(g))
        }
    }

    /// The input's shape (the default for losses with one loss per input element).
    public func elementShape(of input: Tensor) -> [Int] { input.shape }
}

/// Why a loss could not be computed. Every case names the loss (torch's name).
public enum LossError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Two arguments' shapes do not fit together.
    case shapeMismatch(loss: String, argument: String, expected: [Int], found: [Int])
    /// An argument has a shape or dtype the loss does not accept.
    case invalidShape(loss: String, argument: String, shape: [Int], reason: String)
    /// A class index is neither in `0 ..< classCount` nor `ignore_index`.
    case targetOutOfRange(loss: String, sample: Int, target: Int64, classCount: Int)
    /// An argument holds NaN or ±∞ at the given global sample index.
    case nonFinite(loss: String, argument: String, sample: Int)
    /// `mean` with a zero denominator: no samples, or every target ignored (torch returns NaN;
    /// Repro refuses).
    case emptyMean(loss: String)
    /// A hyper-parameter is out of its domain.
    case invalidArgument(loss: String, reason: String)
    /// Micro-batch terms that do not join (a gap or an overlap in sample indices).
    case merge(SampleTreeSumError)
    /// A tensor operation failed.
    case tensor(loss: String, TensorError)

    /// A one-line explanation.
    public var description: String {
        switch self {
        case let .shapeMismatch(l, a, e, f): return "\(l): \(a) has shape \(f), expected \(e)"
        case let .invalidShape(l, a, s, r): return "\(l): \(a) of shape \(s): \(r)"
        case let .targetOutOfRange(l, s, t, c):
            return "\(l): target \(t) of sample \(s) is out of range for \(c) classes (and is not ignore_index)"
        case let .nonFinite(l, a, s): return "\(l): \(a) of sample \(s) is NaN or infinite"
        case let .emptyMean(l): return "\(l): mean over nothing (no samples, or every target ignored)"
        case let .invalidArgument(l, r): return "\(l): \(r)"
        case let .merge(e): return "loss terms: \(e)"
        case let .tensor(l, e): return "\(l): \(e)"
        }
    }

    static func wrap<T>(_ loss: String, _ body: () throws(TensorError) -> T) throws(LossError) -> T {
        do { return try body() } catch { throw .tensor(loss: loss, error) }
    }
}
