import Foundation
import Testing
import ReproRandom
@testable import ReproData

/// A stream of `length` samples (nil: endless) whose values come from the
/// context's generator, read with index-dependent delays. `seekable` streams
/// implement `skip(count:)` by jumping; the others use the default replay.
struct NumberStreamDataset: IterableDataset {
    var length: Int?
    var failAt: Int? = nil
    var failToOpen = false
    var seekable = true
    let reads = Counter()

    func makeStream(context: StreamContext) throws -> NumberStream {
        if failToOpen { throw TestFailure(index: -1) }
        return NumberStream(dataset: self, generator: context.generator)
    }
}

struct NumberStream: SampleStream {
    let dataset: NumberStreamDataset
    var generator: Philox4x32
    var i = 0

    mutating func next() throws -> [Float]? {
        if let n = dataset.length, i >= n { return nil }
        if i == dataset.failAt { throw TestFailure(index: i) }
        dataset.reads.add(1)
        usleep(UInt32((i * 7919) % 5) * 150)
        let v = Float(generator.next32() >> 8)
        defer { i += 1 }
        return (0..<6).map { v + Float(i) + Float($0) * 0.25 }
    }

    mutating func skip(count: Int) throws -> Int {
        guard dataset.seekable else {
            var n = 0
            while n < count, try next() != nil { n += 1 }
            return n
        }
        let n = dataset.length.map { Swift.min(count, $0 - i) } ?? count
        for _ in 0..<n { _ = generator.next32() }  // the values depend on the generator's position
        i += n
        return n
    }
}

/// The default `skip(count:)` (replay through `next()`).
struct PlainStream: SampleStream {
    var i = 0
    let n: Int
    mutating func next() -> Int? { guard i < n else { return nil }; i += 1; return i - 1 }
}

@Suite struct StreamLoaderTests {
    static func loader(_ ds: NumberStreamDataset, workers: Int, batch: Int = 4, epochs: Int = 2, dropLast: Bool = false)
        throws -> StreamLoader<NumberStreamDataset, [Float], [UInt32]> {
        try StreamLoader(dataset: ds, batchSize: batch, seed: 3407, workers: workers, prefetch: 2, dropLast: dropLast,
                         epochs: epochs, transform: augment, collate: flatten)
    }

    static func run(_ l: StreamLoader<NumberStreamDataset, [Float], [UInt32]>) throws -> [StreamBatch<[UInt32]>] {
        try l.map { try $0.get() }
    }

    /// Identical batches for 0, 1, 2, 4 and 8 workers; stream indices consecutive per epoch.
    @Test func identicalForAnyWorkerCount() throws {
        let reference = try Self.run(Self.loader(NumberStreamDataset(length: 37), workers: 0))
        #expect(reference.count == 20)
        #expect(reference.filter { $0.epoch == 0 }.flatMap(\.indices) == Array(0..<37))
        #expect(reference.last?.indices == [36])
        #expect(reference[0].value != reference[10].value, "epochs differ")
        for w in [1, 2, 4, 8] {
            let got = try Self.run(Self.loader(NumberStreamDataset(length: 37), workers: w))
            #expect(got.map(\.value) == reference.map(\.value), "workers \(w)")
            #expect(got.map(\.indices) == reference.map(\.indices))
            #expect(got.map { [$0.epoch, $0.position] } == reference.map { [$0.epoch, $0.position] })
        }
    }

    /// Each sample's transform draws from `streamGenerator(seed, epoch, stream index)`.
    @Test func perSampleGenerators() throws {
        let l = try StreamLoader(dataset: NumberStreamDataset(length: 9), batchSize: 4, seed: 99, workers: 2, epochs: 2,
                                 transform: { (_: [Float], g: inout SampleGenerator) in g.next() }, collate: { $0 })
        for b in try l.map({ try $0.get() }) {
            for (i, v) in zip(b.indices, b.value) {
                var want = SampleRandomness.streamGenerator(seed: 99, epoch: b.epoch, index: i)
                #expect(v == want.next())
            }
        }
    }

    /// Resuming from any batch's state, with another worker count, gives the remaining
    /// batches exactly, by seeking (no skipped sample read) or by replaying the stream.
    @Test(arguments: [true, false])
    func resumeIsExact(seekable: Bool) throws {
        let full = try Self.run(Self.loader(NumberStreamDataset(length: 23, seekable: seekable), workers: 2, batch: 5, epochs: 3))
        #expect(full.count == 15)
        for cut in [0, 1, 3, 4, 5, 9, full.count - 2, full.count - 1] {
            let data = try JSONEncoder().encode(full[cut].stateAfter)
            let state = try JSONDecoder().decode(StreamLoaderState.self, from: data)
            for w in [0, 3] {
                let ds = NumberStreamDataset(length: 23, seekable: seekable)
                let rest = try Self.run(Self.loader(ds, workers: 2, batch: 5, epochs: 3).resumed(from: state, workers: w))
                #expect(rest.map(\.value) == full[(cut + 1)...].map(\.value), "cut \(cut) workers \(w)")
                #expect(rest.map(\.indices) == full[(cut + 1)...].map(\.indices))
                if seekable && w == 0 {
                    // Only the samples of the remaining batches were read (plus none skipped).
                    #expect(ds.reads.value == rest.reduce(0) { $0 + $1.indices.count }, "cut \(cut)")
                }
            }
        }
        // The iterator's state before the first batch resumes the whole run.
        let it = try Self.loader(NumberStreamDataset(length: 23), workers: 0, batch: 5, epochs: 3).makeIterator()
        #expect(try Self.run(Self.loader(NumberStreamDataset(length: 23), workers: 1, batch: 5, epochs: 3)
            .resumed(from: it.state)).map(\.value) == full.map(\.value))
        // A state at no batch boundary, or for another batch size, is refused.
        var odd = full[2].stateAfter
        odd.position += 1
        #expect(throws: DataLoaderError.self) { try Self.loader(NumberStreamDataset(length: 23), workers: 0, batch: 5).resumed(from: odd) }
        #expect(throws: DataLoaderError.self) { try Self.loader(NumberStreamDataset(length: 23), workers: 0, batch: 4).resumed(from: full[2].stateAfter) }
    }

    @Test func dropLast() throws {
        for w in [0, 2] {
            let keep = try Self.run(Self.loader(NumberStreamDataset(length: 10), workers: w, epochs: 2))
            #expect(keep.map(\.indices.count) == [4, 4, 2, 4, 4, 2])
            let drop = try Self.run(Self.loader(NumberStreamDataset(length: 10), workers: w, epochs: 2, dropLast: true))
            #expect(drop.map(\.indices) == [[0, 1, 2, 3], [4, 5, 6, 7], [0, 1, 2, 3], [4, 5, 6, 7]])
            #expect(drop.map(\.value) == keep.filter { $0.indices.count == 4 }.map(\.value))
            // The state after an epoch's last full batch moves to the next epoch once the stream is found ended.
            #expect(drop[1].stateAfter.epoch == 0 && drop[1].stateAfter.position == 8)
            #expect(keep[2].stateAfter.epoch == 1 && keep[2].stateAfter.position == 0)
        }
    }

    /// Errors surface with the stream index (reading or transforming) or as a failed stream.
    @Test func errorsCarryTheStreamIndex() throws {
        for w in [0, 2, 4] {
            let results = Array(try Self.loader(NumberStreamDataset(length: 30, failAt: 13), workers: w))
            guard case .failure(.sampleFailed(let index, let epoch, _))? = results.last else {
                Issue.record("no failure with \(w) workers"); continue
            }
            #expect(index == 13 && epoch == 0 && results.count == 4)
            let opened = Array(try Self.loader(NumberStreamDataset(length: 30, failToOpen: true), workers: w))
            guard case .failure(.streamFailed(let e, let i, _))? = opened.last, opened.count == 1 else {
                Issue.record("no stream failure with \(w) workers"); continue
            }
            #expect(e == 0 && i == 0)
        }
        // A transform error names the stream index too.
        let failing = try StreamLoader(dataset: NumberStreamDataset(length: 30), batchSize: 4, seed: 1, workers: 3, firstEpoch: 1,
                                       transform: { (_: [Float], g: inout SampleGenerator) throws -> Int in
                                           let v = g.next32()
                                           if v % 7 == 3 { throw TestFailure(index: Int(v)) }
                                           return 0
                                       }, collate: { $0 })
        let firstBad = (0..<30).first { i in
            var g = SampleRandomness.streamGenerator(seed: 1, epoch: 1, index: i)
            return g.next32() % 7 == 3
        }
        let last = Array(failing).last
        if let firstBad {
            guard case .failure(.sampleFailed(let index, let epoch, _))? = last else { Issue.record("no transform failure"); return }
            #expect(index == firstBad && epoch == 1)
        }
    }

    /// An empty stream yields nothing; an exhausted stream ends its epoch; an endless one can be left early.
    @Test func finiteExhaustedAndEndlessStreams() throws {
        for w in [0, 3] {
            let empty = try Self.loader(NumberStreamDataset(length: 0), workers: w, epochs: 3)
            var it = empty.makeIterator()
            #expect(it.next().map { _ in true } == nil)
            #expect(it.state.isFinished)
            // Exactly two batches per epoch; resuming from the last batch of epoch 0 (stream exhausted
            // exactly at the saved position) continues with epoch 1.
            let exact = try Self.run(Self.loader(NumberStreamDataset(length: 8), workers: w, epochs: 2))
            #expect(exact.map(\.epoch) == [0, 0, 1, 1])
            let rest = try Self.run(Self.loader(NumberStreamDataset(length: 8), workers: w, epochs: 2).resumed(from: exact[1].stateAfter))
            #expect(rest.map(\.value) == Array(exact[2...]).map(\.value))
            // A saved position past the end of the stream is reported, not skipped over.
            var beyond = exact[1].stateAfter
            beyond.position = 12
            let bad = Array(try Self.loader(NumberStreamDataset(length: 8), workers: w, epochs: 2).resumed(from: beyond))
            guard case .failure(.stateMismatch)? = bad.first else { Issue.record("no mismatch with \(w) workers"); continue }
            // An endless stream: take five batches and stop; the workers are released.
            var endless = try Self.loader(NumberStreamDataset(length: nil), workers: w, epochs: 1).makeIterator()
            var got: [[Int]] = []
            for _ in 0..<5 { got.append(try endless.next()!.get().indices) }
            #expect(got.flatMap { $0 } == Array(0..<20))
            #expect(endless.state.position == 20)
        }
        var plain = PlainStream(n: 5)
        #expect(try plain.skip(count: 3) == 3 && plain.next() == 3)
        #expect(try plain.skip(count: 3) == 1 && plain.next() == nil)
    }
}

extension StreamLoaderTests {
    @Test func asyncMatchesSync() async throws {
        let sync = try Self.run(Self.loader(NumberStreamDataset(length: 19), workers: 0))
        for w in [0, 3] {
            var got: [[UInt32]] = []
            for try await b in try Self.loader(NumberStreamDataset(length: 19), workers: w).asyncBatches { got.append(b.value) }
            #expect(got == sync.map(\.value), "workers \(w)")
        }
    }
}

extension StreamLoaderTests {
    /// Golden values: the stream generators are part of the contract (a change here changes
    /// every user's stream augmentations).
    @Test func goldenGenerators() {
        var g = SampleRandomness.streamGenerator(seed: 3407, epoch: 1, index: 5)
        var c = StreamContext(seed: 3407, epoch: 1).generator
        let got = [g.next(), c.next()]
        #expect(got == StreamLoaderTests.golden)
        // Distinct epochs and indices give distinct streams; the context's differs from the samples'.
        var a = SampleRandomness.streamGenerator(seed: 3407, epoch: 2, index: 5)
        var b = SampleRandomness.streamGenerator(seed: 3407, epoch: 1, index: 6)
        #expect(Set([got[0], got[1], a.next(), b.next()]).count == 4)
    }
    static let golden: [UInt64] = [10_315_864_818_230_734_827, 12_026_666_147_778_901_032]
}
