import Foundation
import Testing
import ReproRandom
@testable import ReproData

/// A dataset whose samples take a variable, index-dependent time, so that
/// workers finish out of order.
struct SlowDataset: Dataset {
    let count: Int
    var failAt: Int? = nil
    func sample(at index: Int) throws -> [Float] {
        if index == failAt { throw TestFailure(index: index) }
        usleep(UInt32((index * 7919) % 5) * 200)
        return (0..<8).map { Float(index) + Float($0) * 0.125 }
    }
}

struct TestFailure: Error { let index: Int }

/// An augmentation drawing from the sample's generator: a random flip and noise.
@Sendable func augment(_ x: [Float], _ g: inout SampleGenerator) -> [Float] {
    var y = g.next32() & 1 == 1 ? x.reversed() : x
    for i in y.indices { y[i] += Float(g.next32() >> 8) * 0x1p-24 }
    return y
}

@Sendable func flatten(_ items: [[Float]]) -> [UInt32] { items.flatMap { $0.map(\.bitPattern) } }

func run<S: Dataset>(_ loader: DataLoader<S, [Float], [UInt32]>) throws -> [LoaderBatch<[UInt32]>] {
    try loader.map { try $0.get() }
}

@Suite struct CounterPermutationTests {
    @Test(arguments: [0, 1, 2, 3, 5, 16, 17, 100, 1000, 4097])
    func isAPermutation(_ n: Int) {
        let p = CounterPermutation(count: n, seed: 42, epoch: 3)
        #expect(Set(p).count == n)
        #expect(p.allSatisfy { $0 >= 0 && $0 < n })
        #expect(Array(p) == Array(CounterPermutation(count: n, seed: 42, epoch: 3)))
    }

    @Test func dependsOnSeedAndEpoch() {
        let a = Array(CounterPermutation(count: 1000, seed: 1, epoch: 0))
        #expect(a != Array(CounterPermutation(count: 1000, seed: 2, epoch: 0)))
        #expect(a != Array(CounterPermutation(count: 1000, seed: 1, epoch: 1)))
        #expect(a != Array(0..<1000))
        // Random access equals sequential access.
        let p = CounterPermutation(count: 1000, seed: 1, epoch: 0)
        #expect(p[737] == a[737])
    }

    /// Golden values: the order is part of the contract (a change here changes every user's data order).
    @Test func golden() {
        let g = Array(CounterPermutation(count: 12, seed: 3407, epoch: 1))
        #expect(g == goldenOrder, "order changed: \(g)")
    }
    let goldenOrder: [Int] = [7, 3, 10, 1, 9, 2, 4, 0, 11, 8, 6, 5]
}

@Suite struct DataLoaderTests {
    static func loader(workers: Int, count: Int = 37, batch: Int = 4, epochs: Int = 2, dropLast: Bool = false,
                       failAt: Int? = nil) throws -> DataLoader<SlowDataset, [Float], [UInt32]> {
        try DataLoader(dataset: SlowDataset(count: count, failAt: failAt), batchSize: batch, seed: 3407,
                       workers: workers, prefetch: 2, dropLast: dropLast, epochs: epochs,
                       transform: augment, collate: flatten)
    }

    /// Batches are bit-identical for 0, 1, 2, 4 and 8 workers, in schedule order.
    @Test func identicalForAnyWorkerCount() throws {
        let reference = try run(Self.loader(workers: 0))
        #expect(reference.count == 20)  // 10 batches × 2 epochs (37 samples, batch 4, last partial)
        #expect(reference.last?.indices.count == 1)
        for w in [1, 2, 4, 8] {
            let got = try run(Self.loader(workers: w))
            #expect(got.map(\.value) == reference.map(\.value), "workers \(w)")
            #expect(got.map(\.indices) == reference.map(\.indices))
            #expect(got.map { [$0.epoch, $0.position] } == reference.map { [$0.epoch, $0.position] })
        }
        // Every epoch covers the dataset once, in a different order.
        let e0 = reference.filter { $0.epoch == 0 }.flatMap(\.indices)
        let e1 = reference.filter { $0.epoch == 1 }.flatMap(\.indices)
        #expect(Set(e0) == Set(0..<37) && e0.count == 37 && e0 != e1)
    }

    /// Resuming from any batch's state, with a different worker count, gives the remaining batches exactly.
    @Test func resumeIsExact() throws {
        let full = try run(Self.loader(workers: 2, count: 23, batch: 5, epochs: 3))
        for cut in [0, 1, 4, 5, 9, full.count - 1] {
            let state = full[cut].stateAfter
            let data = try JSONEncoder().encode(state)
            let restored = try JSONDecoder().decode(LoaderState.self, from: data)
            for w in [0, 3] {
                let rest = try run(Self.loader(workers: 2, count: 23, batch: 5, epochs: 3).resumed(from: restored, workers: w))
                #expect(rest.map(\.value) == full[(cut + 1)...].map(\.value), "cut \(cut) workers \(w)")
                #expect(rest.map(\.indices) == full[(cut + 1)...].map(\.indices))
            }
        }
        // The iterator's own state before the first batch resumes the whole run.
        let it = try Self.loader(workers: 0, count: 23, batch: 5, epochs: 3).makeIterator()
        #expect(try run(Self.loader(workers: 1, count: 23, batch: 5, epochs: 3).resumed(from: it.state)).map(\.value) == full.map(\.value))
    }

    @Test func dropLastAndErrors() throws {
        let b = try run(Self.loader(workers: 2, count: 10, batch: 4, epochs: 1, dropLast: true))
        #expect(b.count == 2 && b.allSatisfy { $0.indices.count == 4 })
        for w in [0, 2] {
            let results = Array(try Self.loader(workers: w, count: 10, batch: 4, epochs: 1, failAt: 6))
            guard case .failure(.sampleFailed(let index, let epoch, _))? = results.last else {
                Issue.record("no failure reported with \(w) workers"); continue
            }
            #expect(index == 6 && epoch == 0)
            #expect(results.dropLast().allSatisfy { (try? $0.get()) != nil })
        }
        #expect(throws: DataLoaderError.self) { try Self.loader(workers: 0, batch: 0) }
        #expect(throws: DataLoaderError.self) {
            try Self.loader(workers: 0, count: 10).resumed(from: try Self.loader(workers: 0, count: 11).makeIterator().state)
        }
    }

    @Test func asyncMatchesSync() async throws {
        let sync = try run(Self.loader(workers: 3))
        var got: [[UInt32]] = []
        for try await b in try Self.loader(workers: 3).asyncBatches { got.append(b.value) }
        #expect(got == sync.map(\.value))
        var got0: [[UInt32]] = []
        for try await b in try Self.loader(workers: 0).asyncBatches { got0.append(b.value) }
        #expect(got0 == got)
    }

    /// The pipeline never holds more than workers × prefetch batches ahead of the consumer.
    @Test func prefetchIsBounded() throws {
        let inFlight = Counter()
        let loader = try DataLoader(
            dataset: InMemoryDataset(Array(0..<200)), batchSize: 1, seed: 1, workers: 4, prefetch: 2,
            transform: { x, _ in inFlight.add(1); return x }, collate: { $0 })
        var it = loader.makeIterator()
        var consumed = 0
        while let r = it.next() {
            _ = try r.get()
            consumed += 1
            usleep(300)
            #expect(inFlight.value - consumed <= 4 * 2 + 4, "produced \(inFlight.value) consumed \(consumed)")
        }
        #expect(consumed == 200)
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var v = 0
    func add(_ n: Int) { lock.lock(); v += n; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return v }
}
