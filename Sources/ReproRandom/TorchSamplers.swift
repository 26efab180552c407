// torch.utils.data samplers (torch 2.15; docs/random.md, "torch.utils.data"): the index orders they
// produce and exactly which draws they make from which generator.
//
// PyTorch's samplers share generator *objects*; here generators are values.
// A sampler that owns a generator (`generator:` given) advances its own copy;
// otherwise each epoch takes the caller's default generator `inout`, which
// stands for PyTorch's process-wide default generator.
//
// These are models of PyTorch's draws; the samplers a loader reads (pure,
// resumable) are ReproData's, whose torch modes call these models
// (docs/data.md, "Where the torch-compatible models live").

/// `torch.utils.data.SequentialSampler`: `0..<count`, no draws.
///
/// ```swift
/// try TorchSequentialSampler(count: 7).indices()   // [0, 1, 2, 3, 4, 5, 6]
/// ```
public struct TorchSequentialSampler: Sendable, Hashable {
    /// The dataset length.
    public let count: Int

    /// A sampler over a dataset of `count` items.
    ///
    /// - Throws: ``TorchRandomError/invalidArgument(name:value:)`` for a negative count.
    public init(count: Int) throws(TorchRandomError) {
        guard count >= 0 else { throw .invalidArgument(name: "dataset length", value: count) }
        self.count = count
    }

    /// The indices of one epoch.
    public func indices() -> [Int] { Array(0..<count) }
}

/// `torch.utils.data.BatchSampler`: chunks indices in order; the last short
/// batch is kept unless `dropLast`. No draws.
///
/// ```swift
/// try TorchBatchSampler.batches(of: Array(0..<10), batchSize: 3, dropLast: false)
/// // [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
/// ```
public enum TorchBatchSampler {
    /// Splits `indices` into batches of `batchSize`.
    ///
    /// - Throws: ``TorchRandomError/invalidArgument(name:value:)`` unless `batchSize > 0`.
    public static func batches(of indices: [Int], batchSize: Int, dropLast: Bool) throws(TorchRandomError) -> [[Int]] {
        guard batchSize > 0 else { throw .invalidArgument(name: "batch_size", value: batchSize) }
        var out: [[Int]] = []
        var start = 0
        while start < indices.count {
            let end = min(start + batchSize, indices.count)
            if end - start < batchSize && dropLast { break }
            out.append(Array(indices[start..<end]))
            start = end
        }
        return out
    }
}

/// `torch.utils.data.RandomSampler(range(count), replacement, num_samples, generator)`.
///
/// Each ``epoch(defaultGenerator:)`` is one `iter(sampler)`:
/// 1. the generator is the sampler's own, if it has one; otherwise a fresh
///    `TorchGenerator` seeded with `random64() % 2^63` drawn **from the default
///    generator**;
/// 2. without replacement: `numSamples / count` full `randperm(count)`s, then
///    one more `randperm(count)` of which the first `numSamples % count` are
///    used — so a default epoch with an own generator advances it by **two**
///    permutations;
/// 3. with replacement: `randint(0, count, 32)` per full chunk of 32, then one
///    `randint` of `numSamples % 32` (read from PyTorch's source; no vector covers it).
///
/// ```swift
/// var smp = try TorchRandomSampler(count: 25, generator: TorchGenerator(seed: 42))
/// var unused = TorchGenerator()
/// let epoch1 = smp.epoch(defaultGenerator: &unused)   // g's 1st permutation
/// let epoch2 = smp.epoch(defaultGenerator: &unused)   // g's 3rd permutation
/// ```
public struct TorchRandomSampler: Sendable, Equatable {
    /// The dataset length.
    public let count: Int
    /// Indices per epoch (`num_samples`, default `count`).
    public let numSamples: Int
    /// Whether indices are drawn with replacement.
    public let replacement: Bool
    /// The sampler's own generator (`generator=`), advanced by each epoch; nil
    /// to derive a fresh one from the default generator every epoch.
    public var generator: TorchGenerator?

    /// A sampler over `range(count)`: `RandomSampler(range(count),
    /// replacement, num_samples, generator)`.
    ///
    /// - Throws: ``TorchRandomError/invalidArgument(name:value:)`` unless
    ///   `count > 0` and `numSamples > 0` (PyTorch rejects `num_samples <= 0`
    ///   and cannot sample an empty dataset).
    public init(
        count: Int, numSamples: Int? = nil, replacement: Bool = false, generator: TorchGenerator? = nil
    ) throws(TorchRandomError) {
        guard count > 0 else { throw .invalidArgument(name: "dataset length", value: count) }
        let samples = numSamples ?? count
        guard samples > 0 else { throw .invalidArgument(name: "num_samples", value: samples) }
        self.count = count
        self.numSamples = samples
        self.replacement = replacement
        self.generator = generator
    }

    /// The indices of one epoch (`list(sampler)`), drawing from the sampler's
    /// generator or, without one, one seed from `defaultGenerator`.
    public mutating func epoch(defaultGenerator: inout TorchGenerator) -> [Int] {
        if var g = generator {
            let out = draw(using: &g)
            generator = g
            return out
        }
        var g = TorchGenerator(seed: UInt64(defaultGenerator.randomInt64()), capability: defaultGenerator.capability)
        return draw(using: &g)
    }

    func draw(using g: inout TorchGenerator) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(numSamples)
        // count > 0 and the sizes are non-negative, so these calls cannot throw.
        if replacement {
            for _ in 0..<(numSamples / 32) {
                out += ((try? g.randint(high: Int64(count), count: 32)) ?? []).map { Int($0) }
            }
            out += ((try? g.randint(high: Int64(count), count: numSamples % 32)) ?? []).map { Int($0) }
        } else {
            for _ in 0..<(numSamples / count) {
                out += ((try? g.randperm(count)) ?? []).map { Int($0) }
            }
            let last = (try? g.randperm(count)) ?? []
            out += last.prefix(numSamples % count).map { Int($0) }
        }
        return out
    }
}

/// `torch.utils.data.SubsetRandomSampler(indices, generator)`: one
/// `randperm(indices.count)` per epoch, yielding `indices[p[i]]`. Without a
/// generator it draws from the **default generator directly** (no derived
/// seed). Read from PyTorch's source; no vector covers it.
///
/// ```swift
/// var smp = TorchSubsetRandomSampler(indices: [10, 20, 30])
/// var g = TorchGenerator(seed: 0)
/// let order = smp.epoch(defaultGenerator: &g)
/// ```
public struct TorchSubsetRandomSampler: Sendable, Equatable {
    /// The indices to permute.
    public let indices: [Int]
    /// The sampler's own generator, or nil to use the default generator.
    public var generator: TorchGenerator?

    /// A sampler over `indices`.
    public init(indices: [Int], generator: TorchGenerator? = nil) {
        self.indices = indices
        self.generator = generator
    }

    /// The indices of one epoch.
    public mutating func epoch(defaultGenerator: inout TorchGenerator) -> [Int] {
        let perm: [Int64]
        if var g = generator {
            perm = (try? g.randperm(indices.count)) ?? []
            generator = g
        } else {
            perm = (try? defaultGenerator.randperm(indices.count)) ?? []
        }
        return perm.map { indices[Int($0)] }
    }
}
