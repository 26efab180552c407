import Testing
@testable import ReproData

@Suite struct DistributedSamplerTests {
    /// Shards are disjoint and cover the epoch (exactly, when the size divides; with
    /// PyTorch's head padding otherwise), and dropLast truncates as PyTorch does.
    @Test(arguments: [(10, 3), (12, 4), (7, 7), (5, 8), (100, 6)])
    func shardsCoverTheEpoch(_ c: (Int, Int)) throws {
        let (n, w) = c
        for dropLast in [false, true] {
            var shards: [[Int]] = []
            for r in 0..<w {
                var s = try DistributedSampler(count: n, worldSize: w, rank: r, seed: 9, dropLast: dropLast)
                s.setEpoch(3)
                shards.append(s.indices)
                #expect(s.indices.count == s.samplesPerRank)
            }
            let all = shards.flatMap { $0 }
            let order = Array(CounterPermutation(count: n, seed: 9, epoch: 3))
            if dropLast {
                #expect(Set(all).count == all.count, "disjoint")
                #expect(all.count == (n / w) * w)
                #expect(Set(all) == Set(order.prefix(all.count)))
            } else {
                #expect(Set(all) == Set(0..<n), "covers")
                #expect(all.count == ((n + w - 1) / w) * w)
                // Padding repeats the head of the order.
                let padded = (0..<all.count).map { order[$0 % n] }
                #expect(Set(all) == Set(padded))
            }
        }
    }

    /// PyTorch's arithmetic: 10 samples on 3 ranks → 4 each, padded with the first two of the order.
    @Test func unshuffledMatchesTorch() throws {
        let r = try (0..<3).map { try DistributedSampler(count: 10, worldSize: 3, rank: $0, shuffle: .none).indices }
        #expect(r == [[0, 3, 6, 9], [1, 4, 7, 0], [2, 5, 8, 1]])
        let d = try (0..<3).map { try DistributedSampler(count: 10, worldSize: 3, rank: $0, shuffle: .none, dropLast: true).indices }
        #expect(d == [[0, 3, 6], [1, 4, 7], [2, 5, 8]])
        #expect(throws: DataLoaderError.self) { try DistributedSampler(count: 10, worldSize: 3, rank: 3) }
    }
}
