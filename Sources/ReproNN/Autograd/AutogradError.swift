import ReproTensor

/// Why a gradient computation failed; each case names the parameter, sample or operation.
public enum AutogradError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The loss closure returned something other than one value per sample (`[n]`).
    case lossNotPerSample(shape: [Int], samples: Int)
    /// A sample's loss is NaN or infinite (`sample` is its global index).
    case nonFiniteLoss(sample: Int, value: Float)
    /// The per-sample losses are finite but their sum over the batch is not.
    case nonFiniteTotalLoss(Float)
    /// A parameter's gradient holds NaN or infinity.
    case nonFiniteGradient(parameter: String)
    /// A gradient handed to an accumulator or optimizer does not have its parameter's shape.
    case shapeMismatch(parameter: String, expected: [Int], found: [Int])
    /// Micro-batches do not tile the global batch `0 ..< globalBatchSize` in order.
    case samplesOutOfOrder(expected: Int, found: Range<Int>, globalBatchSize: Int)
    /// A micro-batch result names other parameters than the first one did.
    case parameterSetMismatch(String)
    /// A layer normalised with batch statistics (BatchNorm in training mode) while the global
    /// batch was split into micro-batches: each micro-batch then has its own statistics, exactly
    /// as in PyTorch, and the gradient depends on the split. Set
    /// ``GradientOptions/allowsBatchStatisticsWithMicroBatches`` to accept that.
    case batchStatisticsWithMicroBatches(globalBatchSize: Int, microBatches: Int)
    /// An operation received operands it cannot differentiate (shapes, ranks).
    case invalidOperation(op: String, reason: String)
    /// A tensor operation failed; `context` names the layer or parameter.
    case tensor(context: String, TensorError)
    /// The loss closure threw an error of its own (its description).
    case lossClosure(String)
    /// A module failed in its differentiable forward.
    case module(path: String, String)

    /// A one-line explanation.
    public var description: String {
        switch self {
        case let .lossNotPerSample(shape, n):
            return "autograd: the loss closure must return one value per sample ([\(n)]), got shape \(shape)"
        case let .nonFiniteLoss(sample, value): return "autograd: loss of sample \(sample) is \(value)"
        case let .nonFiniteTotalLoss(v): return "autograd: the batch loss overflows to \(v)"
        case let .nonFiniteGradient(p): return "autograd: gradient of '\(p)' contains NaN or infinity"
        case let .shapeMismatch(p, e, f): return "autograd: gradient of '\(p)' has shape \(f), expected \(e)"
        case let .samplesOutOfOrder(e, f, b):
            return "autograd: micro-batch covers samples \(f.lowerBound)..<\(f.upperBound), expected one starting at \(e) (global batch of \(b))"
        case let .parameterSetMismatch(m): return "autograd: micro-batches disagree on parameters: \(m)"
        case let .batchStatisticsWithMicroBatches(b, k):
            return "autograd: BatchNorm in training mode with a global batch of \(b) split into \(k) micro-batches: statistics are per micro-batch (as in PyTorch), so the gradient depends on the split; set allowsBatchStatisticsWithMicroBatches to accept"
        case let .invalidOperation(op, reason): return "autograd: \(op): \(reason)"
        case let .tensor(context, e): return "autograd: \(context): \(e)"
        case let .lossClosure(m): return "autograd: the loss closure failed: \(m)"
        case let .module(path, m): return "autograd: \(path.isEmpty ? "<root>" : path): \(m)"
        }
    }

    /// Runs a tensor operation and names `context` in its failure.
    static func wrap<R>(_ context: String, _ body: () throws(TensorError) -> R) throws(AutogradError) -> R {
        do { return try body() } catch { throw .tensor(context: context, error) }
    }
}
