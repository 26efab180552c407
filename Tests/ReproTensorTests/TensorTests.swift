import Testing
import Foundation
import Synchronization
import _ReproTestSupport
@_spi(Kernels) @testable import ReproTensor

@Suite struct TensorTests {
    @Test func viewsAndContiguous() throws {
        let t = try Tensor(shape: [2, 3], scalars: (0..<6).map(Float.init))
        let p = try t.permuted([1, 0])
        #expect(p.shape == [3, 2] && !p.isContiguous)
        #expect(try p.scalars(as: Float.self) == [0, 3, 1, 4, 2, 5])
        #expect(try p.contiguous().isContiguous)
        let s = try t.sliced(dim: 1, range: 1..<3)
        #expect(try s.scalars(as: Float.self) == [1, 2, 4, 5])
        #expect(try t.reshaped([3, -1]).shape == [3, 2])
        #expect(try p.reshaped([6]).scalars(as: Float.self) == [0, 3, 1, 4, 2, 5])
        #expect(try t.scalar(at: [1, 2], as: Float.self) == 5)
    }

    @Test func backToBackDispatchesRunEveryChunkOnce() {
        // Many small dispatches in a row (workers spin between them, or park):
        // every chunk runs exactly once per call, for varying participant counts.
        let pool = ThreadPool()
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: 7)
        defer { counts.deallocate() }
        var total = 0
        for call in 0..<3000 {
            let t = [2, 3, 7, 2, 4][call % 5], chunks = 1 + call % 7
            counts.initialize(repeating: 0, count: 7)
            pool.forEachChunk(chunks, threads: t) { c in counts[c] += 1 }
            total += (0..<chunks).filter { counts[$0] == 1 }.count
            if call % 500 == 0 { usleep(200) }  // let the workers park now and then
        }
        #expect(total == (0..<3000).reduce(0) { $0 + 1 + $1 % 7 })
    }

    @Test func largeStorageIsZeroedAlignedAndCopies() throws {
        // Large storage (glibc's mmap path, through the storage cache) on ordinary pages.
        let n = (4 << 20) / 4 + 1000
        var t = try Tensor(zeros: [n])
        #expect(Int(bitPattern: t.storage.base) % 64 == 0)
        #expect(try t.scalars(as: Float.self).allSatisfy { $0.bitPattern == 0 })
        let u = try Tensor(shape: [n], scalars: (0..<n).map { Float($0 % 977) })
        t = u
        #expect(try t.contiguous().scalars(as: Float.self) == u.scalars(as: Float.self))
        #expect(t.storage.copy().byteCount == n * 4)
    }

    /// Only a caller that asks (the pool's workspace) gets the 2 MB-aligned huge-page block; tensor
    /// storage is 64-byte aligned on ordinary pages whatever its size.
    @Test func hugePagesOnlyOnRequest() {
        let bytes = 3 << 20
        let asked = TensorStorage.allocate(bytes, hugePagesFrom: 1 << 20)
        let plain = TensorStorage.allocate(bytes)
        defer { asked.deallocate(); plain.deallocate() }
        #if os(Linux)
        #expect(Int(bitPattern: asked) % (2 << 20) == 0)
        #endif
        #expect(Int(bitPattern: plain) % 64 == 0)
        asked.initializeMemory(as: UInt8.self, repeating: 1, count: bytes)
        plain.copyMemory(from: asked, byteCount: bytes)
        #expect(plain.load(fromByteOffset: bytes - 1, as: UInt8.self) == 1)
    }

    @Test func copyOnWrite() throws {
        let a = try Tensor(shape: [3], scalars: [Float(1), 2, 3])
        var b = a
        try b.withUnsafeMutableBufferPointer(as: Float.self) { $0[0] = 9 }
        #expect(try a.scalars(as: Float.self) == [1, 2, 3])
        #expect(try b.scalars(as: Float.self) == [9, 2, 3])
    }

    @Test func bitsHashCoversDtypeShapeAndBits() throws {
        let a = try Tensor(shape: [2, 2], scalars: [Float(0), 1, 2, 3])
        #expect(a.bitsHash == (try a.permuted([1, 0]).permuted([1, 0]).bitsHash))
        #expect(a.bitsHash != (try a.reshaped([4]).bitsHash))
        #expect(a.bitsHash != (try Tensor(shape: [2, 2], scalars: [Float(-0.0), 1, 2, 3]).bitsHash))
        #expect(try Tensor(zeros: [2], dtype: .int64).bitsHash != (try Tensor(zeros: [4], dtype: .float32).bitsHash))
        // Known answer: dtype byte 1, rank 1, dim 1, then the bytes of 1.0f.
        let one = try Tensor(shape: [1], scalars: [Float(1)])
        #expect(one.bitsHash == sha256Hex([1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x3f]))
    }

    @Test func badShapesThrowTypedErrors() throws {
        #expect(throws: TensorError.self) { try Tensor(zeros: [2, -1]) }
        #expect(throws: TensorError.self) { try Tensor(zeros: [Int.max, 4]) }
        #expect(throws: TensorError.self) { try Tensor(shape: [2, 2], scalars: [Float(1)]) }
        let t = try Tensor(zeros: [2, 3])
        #expect(throws: TensorError.self) { try t.reshaped([4]) }
        #expect(throws: TensorError.self) { try t.permuted([0, 0]) }
        #expect(throws: TensorError.self) { try t.sliced(dim: 1, range: 2..<4) }
        #expect(throws: TensorError.self) { try t.scalars(as: Int64.self) }
        #expect(throws: TensorError.self) {
            try t.permuted([1, 0]).withUnsafeBufferPointer(as: Float.self) { $0.count }
        }
        #expect(throws: TensorError.self) { try t.matmul(t) }
    }

    @Test func allocationLimitIsConfigurable() throws {
        var s = RuntimeSettings(threads: 1)
        s.maxAllocationBytes = 1000
        try Runtime.withSettings(s) {
            #expect(throws: TensorError.allocationTooLarge(op: "Tensor(zeros:)", shape: [251], bytes: 1004, limit: 1000)) {
                try Tensor(zeros: [251])
            }
            _ = try Tensor(zeros: [250])
        }
    }
}

@Suite struct RuntimeTests {
    @Test func environmentParsing() {
        let s = RuntimeSettings.fromEnvironment([
            "REPRO_THREADS": "3", "REPRO_DETERMINISTIC": "0", "REPRO_WARN_ONLY": "1", "REPRO_BENCHMARK": "1",
            "REPRO_MAX_ALLOCATION_BYTES": "4096",
        ])
        #expect(s == RuntimeSettings(threads: 3, deterministicAlgorithms: false, warnOnly: true, benchmark: true, maxAllocationBytes: 4096))
        let d = RuntimeSettings.fromEnvironment(["REPRO_THREADS": "zero"])
        #expect(d.threads >= 1 && d.deterministicAlgorithms && !d.warnOnly && !d.benchmark)
    }

    @Test func scopedSettingsDoNotLeak() {
        let outer = Runtime.settings
        Runtime.withSettings(RuntimeSettings(threads: 5, benchmark: true)) {
            #expect(Runtime.threads == 5 && Runtime.benchmark)
        }
        #expect(Runtime.settings == outer)
    }

    @Test func threadPoolRunsEveryChunkOnce() throws {
        for t in invarianceThreadCounts {
            let hits = UnsafeMutablePointer<Int>.allocate(capacity: 100)
            hits.initialize(repeating: 0, count: 100)
            try onOwnPool(threads: t) { ThreadPool.current.forEachChunk(100, threads: t) { hits[$0] += 1 } }
            #expect((0..<100).allSatisfy { hits[$0] == 1 })
            hits.deallocate()
        }
    }

    @Test func claimedChunksRunOnceAndEveryParticipantComputes() {
        // Every chunk exactly once, each participant at least its own first chunk, for chunk
        // counts below, at and above the participant count; and on the busy-pool fallback.
        let pool = ThreadPool()
        let hits = UnsafeMutablePointer<Int>.allocate(capacity: 200)
        let owner = UnsafeMutablePointer<Int>.allocate(capacity: 200)
        defer { hits.deallocate(); owner.deallocate() }
        for (chunks, t) in [(1, 3), (2, 3), (3, 3), (7, 2), (200, 4), (200, 1)] {
            hits.initialize(repeating: 0, count: 200)
            owner.initialize(repeating: -1, count: 200)
            pool.forEachClaimedChunk(chunks, threads: t) { c, p in hits[c] += 1; owner[c] = p }
            #expect((0..<chunks).allSatisfy { hits[$0] == 1 }, "\(chunks) chunks, \(t) threads")
            let parts = min(t, chunks)
            #expect((0..<parts).allSatisfy { p in owner[p] == p }, "\(chunks) chunks, \(t) threads")
            #expect((0..<chunks).allSatisfy { owner[$0] >= 0 && owner[$0] < parts })
        }
        hits.initialize(repeating: 0, count: 200)
        Runtime.withThreadPool(pool) {
            ThreadPool.current.run(participants: 2) { p in
                if p == 0 { ThreadPool.current.forEachClaimedChunk(50, threads: 3) { c, _ in hits[c] += 1 } }
            }
        }
        #expect((0..<50).allSatisfy { hits[$0] == 1 })
        #expect(pool.statistics.serialFallbacks == 1)
    }

    @Test func aSlowParticipantsChunksAreTakenByTheOthers() {
        // Participant 0 (the caller) holds its first chunk until the other participant has run
        // every other chunk: only a claimed split finishes; a static one would leave half the
        // chunks to participant 0 and time out. Then the same through forEachChunk's runs.
        let pool = ThreadPool()
        let done = Atomic<Int>(0)
        let chunks = 40
        var timedOut = false
        func waitForOthers(_ target: Int) {
            let deadline = DispatchTime.now().uptimeNanoseconds + 20_000_000_000
            while done.load(ordering: .acquiring) < target {
                if DispatchTime.now().uptimeNanoseconds > deadline { timedOut = true; return }
                usleep(100)
            }
        }
        pool.forEachClaimedChunk(chunks, threads: 2) { c, p in
            if c == 0 { waitForOthers(chunks - 1) } else { done.add(1, ordering: .releasing) }
        }
        #expect(!timedOut && done.load(ordering: .acquiring) == chunks - 1)
        #expect(pool.statistics.largestTeam == 2 && pool.statistics.serialFallbacks == 0)
        done.store(0, ordering: .releasing)
        // forEachChunk: 16 runs of 10 chunks over 2 threads; the caller holds its first run.
        pool.forEachChunk(160, threads: 2) { c in
            if c == 0 { waitForOthers(150) } else if c >= 10 { done.add(1, ordering: .releasing) }
        }
        #expect(!timedOut && done.load(ordering: .acquiring) == 150)
    }

    @Test func ownPoolRunsEachParticipantOnItsOwnThread() {
        let pool = ThreadPool()
        let ids = UnsafeMutablePointer<pthread_t>.allocate(capacity: 5)
        defer { ids.deallocate() }
        ids.initialize(repeating: pthread_self(), count: 5)
        pool.run(participants: 5) { ids[$0] = pthread_self() }
        let distinct = (0..<5).filter { p in !(0..<p).contains { pthread_equal(ids[$0], ids[p]) != 0 } }.count
        #expect(distinct == 5)
        var expected = ThreadPool.Statistics()
        expected.parallelJobs = 1
        expected.largestTeam = 5
        expected.largestRequest = 5
        #expect(pool.statistics == expected)
    }

    @Test func backToBackJobsRunEveryParticipantOnceOnItsOwnThread() {
        // Thousands of tiny jobs in a row, the team size changing from job to job, so that a
        // worker is often still leaving one job (or spinning) when the next is published: every
        // participant runs exactly once per job, each job really runs on its threads, and no
        // job's closure is still referenced once its call returns (that traps in
        // `withoutActuallyEscaping`).
        let pool = ThreadPool()
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: 4)
        defer { counts.deallocate() }
        counts.initialize(repeating: 0, count: 4)
        let jobs = 5_000
        var expected = [0, 0, 0, 0]
        for i in 0..<jobs {
            let n = 2 + i % 3
            pool.run(participants: n) { p in counts[p] += 1 }
            for p in 0..<n { expected[p] += 1 }
        }
        #expect((0..<4).map { counts[$0] } == expected)
        #expect(pool.statistics.parallelJobs == jobs && pool.statistics.serialFallbacks == 0)
        #expect(pool.statistics.largestTeam == 4)
    }

    @Test func aBusyPoolRunsSeriallyAndSaysSo() {
        // A job started from inside a job finds the pool busy: it runs on the calling
        // thread, and the statistics record it (this is what the invariance tests check).
        let pool = ThreadPool()
        let inner = UnsafeMutablePointer<Int>.allocate(capacity: 3)
        defer { inner.deallocate() }
        inner.initialize(repeating: 0, count: 3)
        Runtime.withThreadPool(pool) {
            ThreadPool.current.run(participants: 3) { p in
                if p == 0 { ThreadPool.current.forEachChunk(3, threads: 3) { inner[$0] += 1 } }
            }
        }
        #expect((0..<3).allSatisfy { inner[$0] == 1 })
        #expect(pool.statistics.serialFallbacks == 1)
        #expect(pool.statistics.parallelJobs == 1 && pool.statistics.largestTeam == 3)
    }

    @Test func withThreadPoolIsScopedToTheTask() async {
        let pool = ThreadPool()
        #expect(ThreadPool.current === ThreadPool.shared)
        Runtime.withThreadPool(pool) { #expect(ThreadPool.current === pool) }
        #expect(ThreadPool.current === ThreadPool.shared)
        let other = await Task.detached { ThreadPool.current === ThreadPool.shared }.value
        #expect(other)
        #expect(pool.statistics == ThreadPool.Statistics())
    }

    @Test func releasingAPoolReleasesItsWorkers() {
        weak var released: ThreadPool?
        do {
            let pool = ThreadPool()
            pool.run(participants: 3) { _ in }
            released = pool
            #expect(released != nil)
        }
        #expect(released == nil)
    }
}

@Suite struct ConversionTests {
    @Test func conversionsFollowTorchRules() throws {
        let u = try Tensor(shape: [3], scalars: [UInt8(0), 128, 255])
        #expect(try u.converted(to: .float32).scalars(as: Float.self) == [0, 128, 255])
        let f = try Tensor(shape: [4], scalars: [Float(-2.7), 2.7, 0.5, 255.9])
        #expect(try f.converted(to: .int64).scalars(as: Int64.self) == [-2, 2, 0, 255])
        #expect(try f.converted(to: .float64).scalars(as: Double.self) == [-2.7, 2.7, 0.5, 255.9].map { Double(Float($0)) })
        let d = try Tensor(shape: [1], scalars: [0.1])
        #expect(try d.converted(to: .float32).scalars(as: Float.self) == [Float(0.1)])
        let big = try Tensor(shape: [1], scalars: [Int64(1 << 53 + 1)])
        #expect(try big.converted(to: .float32).scalars(as: Float.self) == [Float(Int64(1 << 53 + 1))])
        #expect(throws: TensorError.self) { try f.converted(to: .uint8) }  // −2.7 does not fit
        #expect(throws: TensorError.self) { try Tensor(shape: [1], scalars: [Float.nan]).converted(to: .int64) }
    }
}
