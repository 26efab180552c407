/// Why a ``TrainingRun`` could not be built, stepped, saved or resumed; every case names the problem.
public enum TrainingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A setting is out of range or settings do not fit together.
    case invalidConfiguration(String)
    /// The data set cannot be used (empty folder, a class without images, images of different
    /// sizes without augmentation, …).
    case invalidData(String)
    /// Loading a batch failed: a sample (named by its data-set index and path) could not be read
    /// or transformed.
    case loading(step: Int, String)
    /// The loss of step `step` is not finite; `samples` are the batch's data-set indices and
    /// `sample`, when known, the one whose loss is NaN or infinite.
    case nonFiniteLoss(step: Int, samples: [Int], sample: Int?, value: Float)
    /// The gradient of `parameter` at step `step` is not finite.
    case nonFiniteGradient(step: Int, samples: [Int], parameter: String)
    /// The optimizer step `step` produced a non-finite value in `parameter` (e.g. a learning rate far too large).
    case nonFiniteWeights(step: Int, samples: [Int], parameter: String)
    /// The model, its weights or the gradient computation failed.
    case model(String)
    /// A checkpoint file cannot be read or written (path and reason).
    case checkpointIO(path: String, reason: String)
    /// A checkpoint does not belong to this run (another architecture, data set, …).
    case checkpointMismatch(String)

    /// A sentence naming the problem.
    public var description: String {
        switch self {
        case .invalidConfiguration(let m): return "invalid training configuration: \(m)"
        case .invalidData(let m): return "unusable training data: \(m)"
        case let .loading(step, m): return "loading the batch of step \(step) failed: \(m)"
        case let .nonFiniteLoss(step, samples, sample, value):
            let which = sample.map { "sample \($0) has loss \(value)" } ?? "the batch loss is \(value)"
            return "non-finite loss at step \(step): \(which) (batch samples \(samples.map(String.init).joined(separator: ","))); "
                + "lower the learning rate or clip gradients"
        case let .nonFiniteGradient(step, samples, parameter):
            return "non-finite gradient of \(parameter) at step \(step) (batch samples \(samples.map(String.init).joined(separator: ",")))"
        case let .nonFiniteWeights(step, samples, parameter):
            return "step \(step) made \(parameter) non-finite (batch samples \(samples.map(String.init).joined(separator: ","))); "
                + "lower the learning rate or clip gradients"
        case .model(let m): return "model: \(m)"
        case let .checkpointIO(path, reason): return "\(path): \(reason)"
        case .checkpointMismatch(let m): return "checkpoint does not match this run: \(m)"
        }
    }
}
