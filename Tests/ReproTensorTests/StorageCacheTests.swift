import Synchronization
import Testing
@testable import ReproTensor

/// The cache of freed large blocks: its reuse/eviction policy on a private
/// instance (the shared one is used concurrently by other tests), and that
/// tensors built on reused blocks are what they should be.
@Suite struct StorageCacheTests {
    /// A cache whose releases are recorded instead of freeing fake addresses.
    final class Recorder: Sendable {
        final class Log: Sendable {
            let sizes = Mutex<[Int]>([])
            func withLock<R>(_ body: (inout [Int]) -> R) -> R { sizes.withLock { body(&$0) } }
        }
        let released = Log()
        let cache: StorageCache
        init() {
            let log = released
            cache = StorageCache { b in log.withLock { $0.append(b.capacity) } }
        }
    }

    static func block(_ tag: Int) -> UnsafeMutableRawPointer { UnsafeMutableRawPointer(bitPattern: tag * 4096)! }

    /// Requests `sizes` (all misses on an empty cache), then frees them: the blocks
    /// become cached, in order, with `live` back to 0 and `peak` their sum.
    static func fill(_ c: StorageCache, _ sizes: [Int], limit: Int = 64 << 20) {
        for s in sizes { #expect(c.take(atLeast: s << 20) == nil) }
        for (i, s) in sizes.enumerated() { #expect(c.keep(block(i + 1), capacity: s << 20, limit: limit)) }
    }

    @Test func reusesTheSmallestFittingBlock() {
        let r = Recorder()
        let c = r.cache
        Self.fill(c, [10, 8, 9])
        // 8 MB request: 8, 9 and 10 fit within +25 %; the smallest wins.
        #expect(c.take(atLeast: 8 << 20)?.base == Self.block(2))
        // 7.5 MB: 9 MB is within +25 % (9.375 MB), 10 MB is not.
        #expect(c.take(atLeast: 15 << 19)?.base == Self.block(3))
        #expect(c.cachedBytes == 10 << 20)
        #expect(c.usage.live == 17 << 20 && c.usage.peak == 27 << 20)
        #expect(r.released.withLock { $0 }.isEmpty)
    }

    @Test func missesEvictOnlyBeyondThePeak() {
        let r = Recorder()
        let c = r.cache
        Self.fill(c, [5, 6, 7])   // peak 18 MB, all cached
        // 3 MB fits nothing (5 MB is more than a quarter larger), and live + cached
        // would be 21 > 18: the oldest block (5 MB) goes.
        #expect(c.take(atLeast: 3 << 20) == nil)
        #expect(r.released.withLock { $0 } == [5 << 20])
        #expect(c.cachedBytes == 13 << 20 && c.usage.live == 3 << 20)
        // The cached 6 and 7 MB blocks are still there for the sizes that come back.
        #expect(c.take(atLeast: 6 << 20)?.base == Self.block(2))
        #expect(c.take(atLeast: 7 << 20)?.base == Self.block(3))
        // A 100 MB miss raises the peak; nothing is left to evict.
        #expect(c.take(atLeast: 100 << 20) == nil)
        #expect(c.cachedBytes == 0 && c.usage.peak == 116 << 20)
        // Invariant: live + cached never exceeds the peak.
        #expect(c.usage.live + c.cachedBytes <= c.usage.peak)
    }

    @Test func limitEvictsTheOldestAndZeroDisables() {
        let r = Recorder()
        let c = r.cache
        Self.fill(c, [6, 6, 6], limit: 16 << 20)   // the third keep pushes the first out
        #expect(r.released.withLock { $0 } == [6 << 20])
        #expect(c.cachedBytes == 12 << 20)
        #expect(c.take(atLeast: 6 << 20)?.base == Self.block(2))
        #expect(!c.keep(Self.block(2), capacity: 6 << 20, limit: 0))       // cache off: the caller frees
        #expect(c.cachedBytes == 6 << 20 && c.usage.live == 0)
        #expect(c.releaseAll() == 6 << 20)
        #expect(c.cachedBytes == 0)
        #expect(c.take(atLeast: 20 << 20) == nil)
        #expect(!c.keep(Self.block(5), capacity: 20 << 20, limit: 16 << 20))  // larger than the whole cache
        #expect(c.usage.live == 0 && c.usage.peak == 20 << 20)
    }

    @Test func tensorsOnReusedBlocksAreCorrect() throws {
        // Whether or not the shared cache hands these blocks back (other tests run
        // concurrently), zero-filled tensors are zero and results are exact.
        let ones = try Tensor(repeating: Float(1.5), shape: [2, 1024, 1024])
        for _ in 0..<3 {
            let big = try Tensor(zeros: [2, 1024, 1024])   // 8 MB
            #expect(try big.scalars(as: Float.self).allSatisfy { $0.bitPattern == 0 })
            let y = try big.adding(ones, relu: true)       // an uninitialized output, fully written
            #expect(try y.scalars(as: Float.self).allSatisfy { $0 == 1.5 })
        }
        #expect(Runtime.cachedStorageBytes <= Runtime.storageCacheBytes)
    }

    @Test func aNetworkOfLargeTensorsGivesTheSameBitsWithTheCacheOnAndOff() throws {
        // 64 × 128 × 128 floats = 4 MB per activation: every tensor goes through the cache.
        let x = try seededTensor([1, 64, 128, 128], seed: 11)
        let c1 = try PreparedConv2d(weight: try seededTensor([64, 64, 3, 3], seed: 12), padding: (1, 1), relu: true)
        let c2 = try PreparedConv2d(weight: try seededTensor([64, 64, 3, 3], seed: 13), stride: (2, 2), padding: (1, 1))
        func run() throws -> String {
            var y = x
            for _ in 0..<3 { y = try c1.forward(y, threads: 2).adding(y, relu: true) }
            return try c2.forward(y, threads: 2).bitsHash
        }
        var off = Runtime.settings
        off.storageCacheBytes = 0
        let reference = try Runtime.withSettings(off) { try run() }
        for _ in 0..<3 { #expect(try run() == reference) }
    }

    @Test func environmentSetsTheLimit() {
        #expect(RuntimeSettings.fromEnvironment(["REPRO_STORAGE_CACHE_BYTES": "0"]).storageCacheBytes == 0)
        #expect(RuntimeSettings.fromEnvironment(["REPRO_STORAGE_CACHE_BYTES": "1048576"]).storageCacheBytes == 1 << 20)
        #expect(RuntimeSettings.fromEnvironment([:]).storageCacheBytes == 512 << 20)
    }
}
