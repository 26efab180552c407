import Foundation

extension StreamLoader: Sequence {
    /// Each element is a batch, or the error that stopped loading (after which the sequence ends).
    public typealias Element = Result<StreamBatch<Batch>, DataLoaderError>

    /// Starts reading (and the workers, if any).
    public func makeIterator() -> Iterator { Iterator(self) }

    /// Yields batches in stream order.
    public struct Iterator: IteratorProtocol {
        let loader: StreamLoader
        let reader: StreamReader<Source>
        var nextBatch = 0
        var done = false
        /// The loader state before the next batch (resume from it to continue here).
        public private(set) var state: StreamLoaderState
        let handle: PipelineHandle<StreamBatch<Batch>?>?

        init(_ loader: StreamLoader) {
            self.loader = loader
            state = loader.start
            let reader = StreamReader(dataset: loader.dataset, start: loader.start)
            self.reader = reader
            if loader.workers > 0 && !loader.start.isFinished {
                // The number of batches is unknown: workers claim batch numbers without
                // bound; those past the end return nil at once, and at most
                // `workers × prefetch` are ever claimed ahead of the consumer.
                handle = PipelineHandle(BatchPipeline(
                    total: Int.max, workers: loader.workers, window: loader.workers * loader.prefetch,
                    job: { b in Self.job(loader, reader, b) }))
            } else {
                handle = nil
            }
        }

        static func job(_ loader: StreamLoader, _ reader: StreamReader<Source>, _ b: Int)
            -> Result<StreamBatch<Batch>?, DataLoaderError> {
            switch reader.read(b) {
            case nil: return .success(nil)
            case .failure(let e)?: return .failure(e)
            case .success(let raw)?: return loader.load(raw).map { Optional($0) }
            }
        }

        /// The next batch, its error, or nil at the end.
        public mutating func next() -> Element? {
            guard !done else { return nil }
            return deliver(handle.map { $0.pipeline.take(nextBatch) } ?? Self.job(loader, reader, nextBatch))
        }

        /// Records batch `nextBatch`'s result and turns it into an element.
        mutating func deliver(_ result: Result<StreamBatch<Batch>?, DataLoaderError>) -> Element? {
            nextBatch += 1
            switch result {
            case .success(nil):
                done = true
                state.epoch = state.endEpoch
                state.position = 0
                return nil
            case .success(let batch?):
                state = batch.stateAfter
                return .success(batch)
            case .failure(let e):
                done = true
                return .failure(e)
            }
        }
    }
}

/// Reads an ``IterableDataset``'s streams epoch after epoch, one batch of
/// samples per call, strictly in batch order: the caller of `read(b)` waits
/// until batch `b − 1` has been read.
final class StreamReader<Source: IterableDataset>: @unchecked Sendable {
    /// The samples of one batch, before the transform.
    struct RawBatch {
        let epoch: Int
        let position: Int
        let firstIndex: Int
        let samples: [Source.Sample]
        let stateAfter: StreamLoaderState
    }

    private let condition = NSCondition()
    private let dataset: Source
    private var turn = 0
    private var cursor: StreamLoaderState
    private var stream: Source.Stream?
    private var finished = false

    init(dataset: Source, start: StreamLoaderState) {
        self.dataset = dataset
        cursor = start
    }

    /// Batch `b`'s samples, the error that ends the schedule, or nil past its end.
    func read(_ b: Int) -> Result<RawBatch, DataLoaderError>? {
        condition.lock()
        defer {
            turn += 1
            condition.broadcast()
            condition.unlock()
        }
        while turn != b { condition.wait() }
        guard !finished else { return nil }
        let result = readNext()
        switch result {
        case nil, .failure?: finished = true
        case .success?: break
        }
        return result
    }

    private func endEpoch() {
        cursor.epoch += 1
        cursor.position = 0
        stream = nil
    }

    private func readNext() -> Result<RawBatch, DataLoaderError>? {
        let size = cursor.batchSize
        while cursor.epoch < cursor.endEpoch {
            let epoch = cursor.epoch
            if stream == nil {
                do {
                    var s = try dataset.makeStream(context: StreamContext(seed: cursor.seed, epoch: epoch))
                    if cursor.position > 0 {
                        let skipped = try s.skip(count: cursor.position)
                        guard skipped == cursor.position else {
                            return .failure(.stateMismatch("the stream of epoch \(epoch) ended after \(skipped) samples, before the saved position \(cursor.position)"))
                        }
                    }
                    stream = s
                } catch {
                    return .failure(.streamFailed(epoch: epoch, index: cursor.position, underlying: "\(error)"))
                }
            }
            var samples: [Source.Sample] = []
            samples.reserveCapacity(size)
            var ended = false
            while samples.count < size {
                do {
                    guard let s = try stream!.next() else { ended = true; break }
                    samples.append(s)
                } catch {
                    return .failure(.sampleFailed(index: cursor.position + samples.count, epoch: epoch, underlying: "\(error)"))
                }
            }
            if samples.isEmpty || (ended && cursor.dropLast) {
                endEpoch()
                continue
            }
            let first = cursor.position
            cursor.position += samples.count
            if ended { endEpoch() }
            return .success(RawBatch(epoch: epoch, position: first / size, firstIndex: first, samples: samples,
                                     stateAfter: cursor))
        }
        return nil
    }
}

extension StreamLoader {
    /// The batches as an `AsyncSequence` that throws the error that stopped loading.
    ///
    /// ```swift
    /// for try await batch in loader.asyncBatches { print(batch.indices) }
    /// ```
    public var asyncBatches: AsyncBatches { AsyncBatches(loader: self) }

    /// An asynchronous view of a stream loader's batches.
    public struct AsyncBatches: AsyncSequence, Sendable {
        /// A batch.
        public typealias Element = StreamBatch<Batch>
        /// The error that stops loading.
        public typealias Failure = DataLoaderError
        let loader: StreamLoader

        /// Starts loading.
        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: loader.makeIterator()) }

        /// Suspends (without blocking a thread when workers are used) until the next batch is ready.
        public struct AsyncIterator: AsyncIteratorProtocol {
            var base: Iterator

            /// The next batch, or nil at the end.
            ///
            /// - Throws: the ``DataLoaderError`` that stopped loading.
            public mutating func next() async throws(DataLoaderError) -> StreamBatch<Batch>? {
                guard let handle = base.handle else { return try base.next()?.get() }
                guard !base.done else { return nil }
                let result = await handle.pipeline.takeAsync(base.nextBatch)
                return try base.deliver(result)?.get()
            }
        }
    }
}
