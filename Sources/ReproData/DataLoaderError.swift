/// Why loading stopped. Sample failures carry the sample's index (the dataset
/// index, or the stream index for an ``IterableDataset``).
public enum DataLoaderError: Error, Sendable, CustomStringConvertible {
    /// A sample (or its transform) failed.
    case sampleFailed(index: Int, epoch: Int, underlying: String)
    /// Making (or, on resume, skipping into) the stream of an ``IterableDataset`` failed;
    /// `index` is the stream index it was to start at.
    case streamFailed(epoch: Int, index: Int, underlying: String)
    /// Collating a batch failed.
    case collateFailed(epoch: Int, position: Int, underlying: String)
    /// An index outside the dataset was requested.
    case indexOutOfRange(index: Int, count: Int)
    /// A loader setting is out of range.
    case invalidConfiguration(String)
    /// A saved state does not belong to this loader's configuration.
    case stateMismatch(String)

    /// A sentence naming the problem.
    public var description: String {
        switch self {
        case let .sampleFailed(i, e, u): return "sample \(i) (epoch \(e)) failed: \(u)"
        case let .streamFailed(e, i, u): return "opening the stream of epoch \(e) at sample \(i) failed: \(u)"
        case let .collateFailed(e, p, u): return "collating batch \(p) of epoch \(e) failed: \(u)"
        case let .indexOutOfRange(i, n): return "index \(i) is outside the dataset (count \(n))"
        case let .invalidConfiguration(m): return "invalid data loader configuration: \(m)"
        case let .stateMismatch(m): return "saved loader state does not match this loader: \(m)"
        }
    }
}
