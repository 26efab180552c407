/// A random-access collection of samples, read by index.
///
/// Reading must be a pure function of the index: all randomness belongs to the
/// loader's per-sample transform, which receives its own seeded generator.
/// Datasets are read from worker threads, so they are `Sendable`.
///
/// ```swift
/// struct Squares: Dataset {
///     var count: Int { 10 }
///     func sample(at index: Int) throws -> Int { index * index }
/// }
/// ```
public protocol Dataset: Sendable {
    /// The type of one sample.
    associatedtype Sample: Sendable
    /// The number of samples.
    var count: Int { get }
    /// The sample at `index` (0 ..< count).
    ///
    /// - Throws: any error; the loader reports it with the sample's index.
    func sample(at index: Int) throws -> Sample
}

/// A dataset held in memory, for tests and small data.
///
/// ```swift
/// let ds = InMemoryDataset([1, 2, 3])
/// try ds.sample(at: 1)  // 2
/// ```
public struct InMemoryDataset<Sample: Sendable>: Dataset {
    /// The samples.
    public var samples: [Sample]
    /// Wraps an array.
    public init(_ samples: [Sample]) { self.samples = samples }
    /// The number of samples.
    public var count: Int { samples.count }
    /// The sample at `index`.
    public func sample(at index: Int) throws -> Sample {
        guard samples.indices.contains(index) else { throw DataLoaderError.indexOutOfRange(index: index, count: samples.count) }
        return samples[index]
    }
}

/// A dataset whose samples come from a closure (e.g. a function of the index).
public struct FunctionDataset<Sample: Sendable>: Dataset {
    /// The number of samples.
    public let count: Int
    private let body: @Sendable (Int) throws -> Sample
    /// Creates a dataset of `count` samples produced by `body(index)`.
    public init(count: Int, _ body: @escaping @Sendable (Int) throws -> Sample) {
        self.count = count
        self.body = body
    }
    /// The sample at `index`.
    public func sample(at index: Int) throws -> Sample {
        guard index >= 0 && index < count else { throw DataLoaderError.indexOutOfRange(index: index, count: count) }
        return try body(index)
    }
}
