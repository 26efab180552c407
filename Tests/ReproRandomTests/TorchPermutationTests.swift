import Foundation
import Testing
import _ReproTestSupport
@testable import ReproRandom

@Suite struct TorchPermutationTests {
    /// Both branches at small n against a reference written from the algorithm in docs/random.md (`randperm(n)`).
    @Test(arguments: [0, 1, 2, 3, 17, 1000])
    func branchesMatchSpecReference(n: Int) {
        var g = TorchGenerator(seed: 99), ref = g
        var fwd = [Int64](repeating: -1, count: n)
        fwd.withUnsafeMutableBufferPointer { if let p = $0.baseAddress { g.forwardShuffle(p, count: n) } }
        var want = Array(Int64(0)..<Int64(n))
        if n > 1 {
            for i in 0..<(n - 1) {
                let z = Int(ref.random() % UInt32(n - i))
                want.swapAt(i, i + z)
            }
        }
        #expect(fwd == want && g == ref)

        var io = [Int32](repeating: -1, count: n)
        io.withUnsafeMutableBufferPointer { if let p = $0.baseAddress { g.insideOutShuffle(p, count: n) } }
        var want2 = [Int32](repeating: 0, count: n)
        for i in 0..<n {
            let z = Int(ref.random64() % UInt64(i + 1))
            want2[i] = want2[z]
            want2[z] = Int32(i)
        }
        #expect(io == want2 && g == ref)
        #expect(Set(io).count == n)
    }

    @Test func dtypeDoesNotChangeTheStream() throws {
        var a = TorchGenerator(seed: 5), b = a
        #expect(try a.randperm(300, as: Int16.self).map(Int64.init) == b.randperm(300))
        #expect(a == b)
    }

    /// `randperm_threshold`: n = 214748363 (last n of the 32-bit branch) and
    /// 214748364 (first n of the inside-out branch), seed 7, int32, SHA-256 of
    /// the little-endian bytes. Heavy: 860 MB per permutation and, in a release
    /// build on an idle core, about 20–60 s each (random access over the whole
    /// array; a debug build is several times slower). It therefore runs only
    /// when `REPRO_HEAVY_TESTS=1` is set, e.g.
    /// `REPRO_HEAVY_TESTS=1 swift test -c release --filter randpermThreshold`.
    /// The branch logic itself is covered at small n above.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["REPRO_HEAVY_TESTS"] == "1"),
          arguments: ["214748363", "214748364"])
    func randpermThreshold(nKey: String) throws {
        let v = try Fixtures.json("rng/torch_cpu.json")["capability_independent"]["randperm_threshold"][nKey]
        let n = Int(nKey)!
        var g = TorchGenerator(seed: UInt64(try v["seed"].int64))
        let p = try g.randperm(n, as: Int32.self)
        #expect(p.prefix(8).map(Int64.init) == (try v["first8"].array.map { try $0.int64 }))
        #expect(p.suffix(8).map(Int64.init) == (try v["last8"].array.map { try $0.int64 }))
        #expect(sha256HexLittleEndian(p) == (try v["sha256_int32le"].string))
    }
}
