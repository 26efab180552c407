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
                    job: { b in let (e, p, idx) = s.batch(b); return l.loadBatch(epoch: e, position: p, indices: idx, streams: s.streams) }))
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
                result = loader.loadBatch(epoch: e, position: p, indices: idx, streams: schedule.streams)
            }
            nextBatch += 1
            if case .failure = result { failed = true }
            report(result)
            return result
        }

        func report(_ result: Element) {
            if let progress = loader.progress, case .success(let batch) = result {
                progress(LoaderProgress(epoch: batch.epoch, position: batch.position,
                                        batchesPerEpoch: schedule.start.batchesPerEpoch,
                                        delivered: nextBatch, total: schedule.total))
            }
        }
    }

    /// The batch schedule from the loader's start state: batch `b` → (epoch, position, indices).
    struct Schedule: Sendable {
        let start: LoaderState
        let total: Int
        let batches: BatchSampler<EpochPlan>
        /// PyTorch worker streams (``AugmentationRandomness/torchWorkerSeeding`` only), fresh per iteration.
        let streams: TorchWorkerStreams?
        /// Counter-based orders are computed per position on demand; PyTorch's once per iteration.
        init(_ loader: DataLoader) {
            start = loader.start
            total = loader.batchCount
            let plan = EpochPlan(start, sampler: loader.sampler)
            // batchSize ≥ 1 was checked when the loader was made.
            batches = BatchSampler(plan, checkedBatchSize: start.batchSize, dropLast: start.dropLast)
            streams = start.randomness == .torchWorkerSeeding
                ? TorchWorkerStreams(count: start.workerStreams, plan: plan) : nil
        }

        func coordinates(_ b: Int) -> (epoch: Int, position: Int) {
            let bpe = start.batchesPerEpoch
            let absolute = start.position + b
            return (start.epoch + absolute / bpe, absolute % bpe)
        }

        func batch(_ b: Int) -> (Int, Int, [Int]) {
            let (e, p) = coordinates(b)
            return (e, p, batches.batch(epoch: e, position: p))
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
    /// for try await batch in loader.asyncBatches { print(batch.indices) }
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
                    base.report(result)
                } else {
                    result = base.next()!
                }
                return try result.get()
            }
        }
    }
}
