// torch.utils.data.DataLoader's use of randomness (torch 2.15; docs/random.md, "torch.utils.data"):
// the base seed drawn by every iter(loader), the sampler it builds, and the
// seeds each worker process gets. ReproData's loader takes its
// torchWorkerSeeding base seeds and worker streams from these models.

/// The index batches and seeds of `torch.utils.data.DataLoader(range(count),
/// batch_size, shuffle, drop_last, generator)` — what PyTorch's loader draws,
/// without loading any data.
///
/// Each ``epoch(defaultGenerator:)`` is one `iter(loader)`: it first draws the
/// base seed `random64() % 2^63` from the loader's generator (or the default
/// generator), even with no workers and no shuffling, then runs the sampler
/// (``TorchRandomSampler`` sharing the loader's generator when shuffling,
/// ``TorchSequentialSampler`` otherwise) and batches its indices.
/// `persistent_workers` (base seed drawn only on the first `iter`) and
/// `IterDataPipe` shared seeds are not modelled.
///
/// ```swift
/// var g = TorchGenerator(seed: 42)                        // torch.manual_seed(42)
/// var loader = try TorchDataLoader(count: 25, batchSize: 4, shuffle: true)
/// let e = loader.epoch(defaultGenerator: &g)
/// e.baseSeed                      // 6909045637428952499 (it._base_seed)
/// e.batches[0]                    // [13, 14, 19, 1]
/// let w1 = try e.workerSeed(workerID: 1)   // worker 1's seeds
/// ```
public struct TorchDataLoader: Sendable, Equatable {
    /// The dataset length.
    public let count: Int
    /// Batch size, or nil for `batch_size=None` (every index is its own item).
    public let batchSize: Int?
    /// `shuffle=True`: a ``TorchRandomSampler``.
    public let shuffle: Bool
    /// `drop_last=True`: drop the last short batch.
    public let dropLast: Bool
    /// The loader's generator (`generator=`), shared with its sampler; nil for
    /// the default generator.
    public var generator: TorchGenerator?

    /// One `iter(loader)`: the base seed and the batches in order.
    public struct Epoch: Sendable, Equatable {
        /// `_base_seed`: `random64() % 2^63`.
        public let baseSeed: UInt64
        /// The index batches (single-element batches when `batchSize` is nil).
        public let batches: [[Int]]

        /// The seeds worker `workerID` of this iterator uses (``TorchWorkerSeed``).
        ///
        /// - Throws: ``TorchRandomError/invalidArgument(name:value:)`` unless
        ///   `0 <= workerID < 2^32`.
        public func workerSeed(workerID: Int) throws(TorchRandomError) -> TorchWorkerSeed {
            try TorchWorkerSeed(baseSeed: baseSeed, workerID: workerID)
        }
    }

    /// A loader over `range(count)`: `DataLoader(range(count), batch_size,
    /// shuffle, drop_last=dropLast, generator)`.
    ///
    /// - Throws: ``TorchRandomError/invalidArgument(name:value:)`` for a
    ///   negative `count`, a `batchSize` that is not positive, or shuffling an
    ///   empty dataset (PyTorch's `RandomSampler` rejects it).
    public init(
        count: Int, batchSize: Int? = 1, shuffle: Bool = false, dropLast: Bool = false,
        generator: TorchGenerator? = nil
    ) throws(TorchRandomError) {
        guard count >= 0 else { throw .invalidArgument(name: "dataset length", value: count) }
        if let b = batchSize, b <= 0 { throw .invalidArgument(name: "batch_size", value: b) }
        if shuffle && count == 0 { throw .invalidArgument(name: "dataset length", value: count) }
        self.count = count
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.dropLast = dropLast
        self.generator = generator
    }

    /// Draws the base seed and the sampler's order for one epoch.
    public mutating func epoch(defaultGenerator: inout TorchGenerator) -> Epoch {
        let base: UInt64
        if var g = generator {
            base = UInt64(g.randomInt64())
            generator = g
        } else {
            base = UInt64(defaultGenerator.randomInt64())
        }
        let indices: [Int]
        if shuffle, var sampler = try? TorchRandomSampler(count: count, generator: generator) {
            indices = sampler.epoch(defaultGenerator: &defaultGenerator)
            generator = sampler.generator
        } else {
            indices = Array(0..<count)  // SequentialSampler
        }
        let batches: [[Int]]
        if let b = batchSize {
            batches = (try? TorchBatchSampler.batches(of: indices, batchSize: b, dropLast: dropLast)) ?? []
        } else {
            batches = indices.map { [$0] }
        }
        return Epoch(baseSeed: base, batches: batches)
    }
}

/// The seeds PyTorch gives worker `workerID` of a loader iterator with base
/// seed `baseSeed` (`_worker_loop`; docs/random.md, "torch.utils.data"):
///
/// ```
/// seed = B + w
/// random.seed(seed); torch.manual_seed(seed)
/// np.random.seed(SeedSequence([w, B & 0xffffffff, B >> 32, 0]).generate_state(4))
/// ```
///
/// ```swift
/// let w = try TorchWorkerSeed(baseSeed: 6909045637428952499, workerID: 1)
/// w.seed                      // 6909045637428952500 (get_worker_info().seed, torch.initial_seed())
/// var g = w.torchGenerator    // the worker's default torch generator
/// w.numPySeedSequenceEntropy  // [1, B & 0xffffffff, B >> 32, 0]
/// var np = w.numPyRandomState // the worker's np.random global state
/// var py = w.pythonRandom     // the worker's random module state
/// ```
public struct TorchWorkerSeed: Sendable, Hashable {
    /// The iterator's base seed `B` (below 2^63).
    public let baseSeed: UInt64
    /// The 0-based worker id `w`.
    public let workerID: Int

    /// The seeds of worker `workerID` for an iterator with base seed `baseSeed`.
    ///
    /// - Throws: ``TorchRandomError/invalidArgument(name:value:)`` unless
    ///   `0 <= workerID < 2^32`, or when `baseSeed >= 2^63` (a base seed is
    ///   always `random64() % 2^63`).
    public init(baseSeed: UInt64, workerID: Int) throws(TorchRandomError) {
        guard workerID >= 0, workerID <= Int(UInt32.max) else {
            throw .invalidArgument(name: "worker_id", value: workerID)
        }
        guard baseSeed < 1 << 63 else {
            throw .invalidArgument(name: "base_seed", value: Int(truncatingIfNeeded: baseSeed))
        }
        self.baseSeed = baseSeed
        self.workerID = workerID
    }

    /// `B + w`: the worker's `torch.initial_seed()`, `get_worker_info().seed`
    /// and CPython `random.seed` argument (may exceed 2^63 - 1; below 2^64).
    public var seed: UInt64 { baseSeed + UInt64(workerID) }

    /// The worker's default torch generator after `torch.manual_seed(B + w)`.
    public var torchGenerator: TorchGenerator { TorchGenerator(seed: seed) }

    /// The entropy `[w, B & 0xffffffff, B >> 32, 0]` of the worker's NumPy
    /// `SeedSequence`; its `generate_state(4)` seeds `np.random.seed`.
    public var numPySeedSequenceEntropy: [UInt32] {
        [UInt32(workerID), UInt32(truncatingIfNeeded: baseSeed), UInt32(truncatingIfNeeded: baseSeed >> 32), 0]
    }

    /// The words the worker passes to `np.random.seed`:
    /// `SeedSequence([w, B & 0xffffffff, B >> 32, 0]).generate_state(4)`.
    public var numPySeedWords: [UInt32] {
        SeedSequence(entropyWords: numPySeedSequenceEntropy).generateState(count: 4)
    }

    /// The worker's global NumPy `RandomState` after `np.random.seed(numPySeedWords)`.
    public var numPyRandomState: NumPyRandomState {
        NumPyRandomState(bitGenerator: MT19937(key: numPySeedWords))
    }

    /// The worker's `random` module state after `random.seed(B + w)`.
    public var pythonRandom: PythonRandom { PythonRandom(seed: seed) }
}
