extension DataLoader: Sequence {
    /// Each element is a batch, or the error that stopped loading (after which the sequence ends).
    public typealias Element = Result<LoaderBatch<Batch>, DataLoaderError>

    /// Starts loading (and the workers, if any).
    public func makeIterator() -> Iterator { Iterator(self) }

    /// Yields batches in schedule order.
    public struct Iterator: IteratorProtocol {
        let loader: DataLoader
        let schedule: Schedule
        var nextBatch = 0
        var failed = false
        let handle: PipelineHandle<LoaderBatch<Batch>>?

        init(_ loader: DataLoader) {
            self.loader = loader
            schedule = Schedule(loader)
            if loader.workers > 0 && schedule.total > 0 {
                let s = schedule, l = loader
                handle = PipelineHandle(BatchPipeline(
                    total: s.total, workers: loader.workers, window: loader.workers * loader.prefetch,
                    job: { b in let (e, p, idx) = s.batch(b); return l.loadBatch(epoch: e, position: p, indices: idx) }))
            } else {
                handle = nil
            }
        }

        /// The loader state before the next batch (resume from it to continue here).
        public var state: LoaderState { schedule.state(at: nextBatch) }

        /// The next batch, its error, or nil at the end.
        public mutating func next() -> Element? {
            guard !failed, nextBatch < schedule.total else { return nil }
            let result: Element
            if let handle {
                result = handle.pipeline.take(nextBatch)
            } else {
                let (e, p, idx) = schedule.batch(nextBatch)
                result = loader.loadBatch(epoch: e, position: p, indices: idx)
            }
            nextBatch += 1
            if case .failure = result { failed = true }
            return result
        }
    }

    /// The batch schedule from the loader's start state: batch `b` → (epoch, position, indices).
    struct Schedule: Sendable {
        let start: LoaderState
        let total: Int
        /// Orders are computed per epoch on demand (cheap for counter-based shuffling).
        init(_ loader: DataLoader) {
            start = loader.start
            total = loader.batchCount
        }

        func coordinates(_ b: Int) -> (epoch: Int, position: Int) {
            let bpe = start.batchesPerEpoch
            let absolute = start.position + b
            return (start.epoch + absolute / bpe, absolute % bpe)
        }

        func batch(_ b: Int) -> (Int, Int, [Int]) {
            let (e, p) = coordinates(b)
            let lo = p * start.batchSize
            let hi = Swift.min(lo + start.batchSize, start.datasetCount)
            let indices: [Int]
            switch start.shuffle {
            case .none: indices = Array(lo..<hi)
            case .counterBased:
                let perm = CounterPermutation(count: start.datasetCount, seed: start.seed, epoch: UInt64(e))
                indices = (lo..<hi).map { perm[$0] }
            }
            return (e, p, indices)
        }

        func state(at b: Int) -> LoaderState {
            var s = start
            if b >= total {
                s.epoch = s.endEpoch
                s.position = 0
            } else {
                (s.epoch, s.position) = coordinates(b)
            }
            return s
        }
    }
}

extension DataLoader {
    /// The batches as an `AsyncSequence` that throws the error that stopped loading.
    ///
    /// ```swift
    /// for try await batch in loader.asyncBatches { … }
    /// ```
    public var asyncBatches: AsyncBatches { AsyncBatches(loader: self) }

    /// An asynchronous view of a loader's batches.
    public struct AsyncBatches: AsyncSequence, Sendable {
        /// A batch.
        public typealias Element = LoaderBatch<Batch>
        /// The error that stops loading.
        public typealias Failure = DataLoaderError
        let loader: DataLoader

        /// Starts loading.
        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: loader.makeIterator()) }

        /// Suspends (without blocking a thread when workers are used) until the next batch is ready.
        public struct AsyncIterator: AsyncIteratorProtocol {
            var base: Iterator

            /// The next batch, or nil at the end.
            ///
            /// - Throws: the ``DataLoaderError`` that stopped loading.
            public mutating func next() async throws(DataLoaderError) -> LoaderBatch<Batch>? {
                guard !base.failed, base.nextBatch < base.schedule.total else { return nil }
                let result: Result<LoaderBatch<Batch>, DataLoaderError>
                if let handle = base.handle {
                    result = await handle.pipeline.takeAsync(base.nextBatch)
                    base.nextBatch += 1
                    if case .failure = result { base.failed = true }
                } else {
                    result = base.next()!
                }
                return try result.get()
            }
        }
    }
}
