import Testing
import ReproTensor

/// The canonical sample sum gives the same bits for every partition of the samples.
@Suite struct SampleTreeSumTests {
    /// Contributions whose sum depends on the order of additions (mixed magnitudes).
    static func contributions(_ n: Int, count: Int) -> [[Float]] {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        return (0..<n).map { _ in
            (0..<count).map { _ in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                let mantissa = Float(Int32(truncatingIfNeeded: state >> 33)) / Float(1 << 30)
                let scale: Float = [1, 1e-4, 3e3, 1e7][Int(state >> 62)]
                return mantissa * scale
            }
        }
    }

    static func sequential(_ c: [[Float]], count: Int) -> [Float] {
        var s = SampleTreeSum(count: count)
        for v in c { s.append(sample: v) }
        return s.total()
    }

    /// Every composition of `n` (all ways to cut 0..<n into contiguous parts), for n up to 9.
    static func compositions(_ n: Int) -> [[Int]] {
        if n == 0 { return [[]] }
        var out: [[Int]] = []
        for first in 1...n { for rest in compositions(n - first) { out.append([first] + rest) } }
        return out
    }

    @Test func everyPartitionGivesTheSameBits() throws {
        let count = 5
        for n in 1...9 {
            let c = Self.contributions(n, count: count)
            let expected = Self.sequential(c, count: count).map(\.bitPattern)
            for parts in Self.compositions(n) {
                var merger = SampleTreeSum(count: count)
                var start = 0
                for size in parts {
                    var part = SampleTreeSum(count: count, startIndex: start)
                    for i in start..<(start + size) { part.append(sample: c[i]) }
                    // Half of the time hand over the accumulator, half of the time its blocks one by one.
                    if size % 2 == 0 { try merger.append(part) } else { for b in part.blocks { try merger.append(b) } }
                    start += size
                }
                #expect(merger.total().map(\.bitPattern) == expected, "n=\(n) parts=\(parts)")
            }
        }
    }

    @Test func treeIsPairwiseNotLeftToRight() {
        // Values chosen so that ((a+b)+c)+d ≠ (a+b)+(c+d) in float32.
        let c: [[Float]] = [[1e8], [1], [-1e8], [1]]
        let tree = Self.sequential(c, count: 1)[0]
        #expect(tree == (Float(1e8) + 1) + (Float(-1e8) + 1))
        #expect(tree != ((Float(1e8) + 1) + Float(-1e8)) + 1)
        // Three blocks left over for B = 7: [0,4) + ([4,6) + [6,7)).
        let seven: [[Float]] = (0..<7).map { [Float($0 == 4 ? 1e8 : ($0 == 6 ? -1e8 : 1))] }
        let x: Float = 1
        let expected7 = ((x + x) + (x + x)) + ((Float(1e8) + x) + Float(-1e8))
        #expect(Self.sequential(seven, count: 1)[0] == expected7)
    }

    @Test func blocksAreMaximalAlignedNodes() {
        var part = SampleTreeSum(count: 1, startIndex: 3)
        for _ in 3..<8 { part.append(sample: [1]) }
        #expect(part.blocks.map { [$0.start, $0.size] } == [[3, 1], [4, 4]])
        #expect(part.sampleCount == 5 && part.nextIndex == 8)
    }

    @Test func badBlocksAreTypedErrors() {
        var s = SampleTreeSum(count: 2)
        #expect(throws: SampleTreeSumError.unalignedBlock(start: 0, size: 3)) {
            try s.append(SampleTreeSum.Block(start: 0, size: 3, values: [0, 0]))
        }
        #expect(throws: SampleTreeSumError.gap(expected: 0, found: 2)) {
            try s.append(SampleTreeSum.Block(start: 2, size: 2, values: [0, 0]))
        }
        #expect(throws: SampleTreeSumError.wrongCount(expected: 2, found: 1)) {
            try s.append(SampleTreeSum.Block(start: 0, size: 1, values: [0]))
        }
        #expect(SampleTreeSum(count: 3).total() == [0, 0, 0])
    }
}
