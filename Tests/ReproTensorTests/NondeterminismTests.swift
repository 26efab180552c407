import Testing
@testable import ReproTensor

@Suite struct NondeterminismTests {
    @Test func splitKIsRefusedInDeterministicMode() throws {
        let a = try seededTensor([4, 64], seed: 1), b = try seededTensor([64, 5], seed: 2)
        try Runtime.withSettings(RuntimeSettings(threads: 2)) {
            #expect(throws: TensorError.nondeterministicAlgorithm(op: "matmul", algorithm: "splitK",
                                                                  reason: "partial sums are split by thread count")) {
                try a.matmul(b, algorithm: .splitK)
            }
        }
    }

    @Test func splitKRunsWhenAllowedOrWarnOnly() throws {
        let a = try seededTensor([4, 640], seed: 1), b = try seededTensor([640, 5], seed: 2)
        let exact: [Float] = try a.matmul(b).scalars()
        let off = RuntimeSettings(threads: 3, deterministicAlgorithms: false)
        let y: [Float] = try Runtime.withSettings(off) { try a.matmul(b, algorithm: .splitK).scalars() }
        for (u, v) in zip(y, exact) { #expect(abs(u - v) <= 1e-4) }  // reassociated sums: tolerance
        let warn = RuntimeSettings(threads: 3, warnOnly: true)
        _ = try Runtime.withSettings(warn) { try a.matmul(b, algorithm: .splitK) }
        #expect(Runtime.warnedOperations.contains("matmul"))
    }

    @Test func autotunerOnlyWithBenchmarkAndRecordsItsChoice() throws {
        let a = try seededTensor([37, 50], seed: 3), b = try seededTensor([50, 41], seed: 4)
        let plain = try a.matmul(b)
        #expect(!Runtime.autotuneChoices.contains { $0.key == "matmul 37x50x41 threads 2" })
        let tuned = try Runtime.withSettings(RuntimeSettings(threads: 2, benchmark: true)) { try a.matmul(b) }
        #expect(tuned.bitsHash == plain.bitsHash)
        let choice = Runtime.autotuneChoices.first { $0.key == "matmul 37x50x41 threads 2" }
        #expect(choice != nil && ["rows", "columns"].contains(choice!.choice))
    }
}
