import Foundation
import Testing
@_spi(Kernels) @testable import ReproTensor

/// The blocked driver: both packing strategies (A or B shared), pieces deeper
/// than ``GEMM/ks``, row-axis epilogues, transposed operands and the pool's
/// workspace — every case bit-identical to the scalar reference for every
/// thread count and split.
@Suite struct GEMMBlockingTests {
    struct Case: CustomStringConvertible, Sendable {
        let m: Int, n: Int, k: Int
        var transposedA = false, transposedB = false, prepacked = false, rowsEpilogue = false
        var description: String {
            "\(m)x\(n)x\(k)\(transposedA ? " Aᵀ" : "")\(transposedB ? " Bᵀ" : "")\(prepacked ? " packed" : "")\(rowsEpilogue ? " rows" : "")"
        }
    }

    /// Runs the fast path and the reference; `nil` threads skips the reference.
    static func run(_ t: Case, threads: Int, split: GEMM.Split, seed: UInt64) -> (fast: [Float], ref: [Float]) {
        let (m, n, k) = (t.m, t.n, t.k)
        let a = seededFloats(m * k, seed: seed), b = seededFloats(k * n, seed: seed + 1)
        let channels = t.rowsEpilogue ? m : n
        let bias = seededFloats(channels, seed: seed + 2), scale = seededFloats(channels, seed: seed + 3)
        let shift = seededFloats(channels, seed: seed + 4)
        var fast = [Float](repeating: .nan, count: m * n), ref = fast
        a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in
            bias.withUnsafeBufferPointer { bi in scale.withUnsafeBufferPointer { sc in shift.withUnsafeBufferPointer { sh in
                let e = Epilogue(bias: bi.baseAddress, scale: sc.baseAddress, shift: sh.baseAddress, relu: true)
                let axis: GEMM.EpilogueAxis = t.rowsEpilogue ? .rows : .columns
                // Transposed storage: element (i, p) of A at p·m + i; (p, j) of B at j·k + p.
                let A = t.transposedA ? GEMM.Operand(ap.baseAddress!, rowStride: 1, colStride: m) : GEMM.Operand(ap.baseAddress!, rowStride: k)
                let B = t.transposedB ? GEMM.Operand(bp.baseAddress!, rowStride: 1, colStride: k) : GEMM.Operand(bp.baseAddress!, rowStride: n)
                fast.withUnsafeMutableBufferPointer { c in
                    if t.prepacked {
                        let packed = GEMM.PackedMatrix(B, k: k, n: n, threads: threads)
                        GEMM.multiply(m: m, a: A, packedB: packed, c: c.baseAddress!, ldc: n, epilogue: e,
                                      epilogueAxis: axis, threads: threads, split: split)
                    } else {
                        GEMM.multiply(m: m, n: n, k: k, a: A, b: B, c: c.baseAddress!, ldc: n, epilogue: e,
                                      epilogueAxis: axis, threads: threads, split: split)
                    }
                }
                ref.withUnsafeMutableBufferPointer { c in
                    GEMM.reference(m: m, n: n, k: k, a: A, b: B, c: c.baseAddress!, ldc: n, epilogue: e, epilogueAxis: axis)
                }
            }}}
        }}
        return (fast, ref)
    }

    static let cases: [Case] = [
        Case(m: 37, n: 53, k: 2100),                                   // two K pieces (ks = 2048), edges in m and n
        Case(m: 151, n: 21, k: 300, transposedB: true, prepacked: true), // NHWC 1×1 conv: A = pixels, B = Wᵀ packed
        Case(m: 23, n: 290, k: 257, rowsEpilogue: true),                // NCHW 1×1 conv: A = W, B = pixels
        Case(m: 160, n: 40, k: 70, transposedA: true, transposedB: true),
        Case(m: 5, n: 17, k: 2049, prepacked: true),
        Case(m: 301, n: 300, k: 33),                                    // several MC and NC blocks
        Case(m: 155, n: 64, k: 4700),                                   // three K pieces, C carried in the block buffer
        Case(m: 200, n: 256, k: 1100, rowsEpilogue: true),              // power-of-two ldc, five KC blocks
        Case(m: 160, n: 40, k: 700, transposedA: true, prepacked: true), // KC-blocked pieces of a transposed A
    ]

    @Test(arguments: cases)
    func bitIdenticalToReferenceForEveryThreadCountAndSplit(_ t: Case) throws {
        try onEveryKernelPath { isa in
            for threads in invarianceThreadCounts {
                for split in GEMM.Split.allCases {
                    // Edge-case shapes: some have fewer panels than threads along the split.
                    let r = try onOwnPool(threads: threads, team: .requested) {
                        Self.run(t, threads: threads, split: split, seed: UInt64(t.m * 7 + t.n * 3 + t.k))
                    }
                    #expect(bits(r.fast) == bits(r.ref), "\(isa) \(t) threads \(threads) split \(split)")
                }
            }
        }
    }

    @Test(arguments: [0, GEMM.privateCopyFloats])
    func sharedOperandSuperBlocksKeepTheBits(privateCopyLimit: Int) throws {
        // A tiny super-block forces many passes over the shared operand (both strategies), packed
        // once by the team (limit 0) or into a copy per thread (the default limit).
        for (m, n, k, split) in [(200, 70, 90, GEMM.Split.rows), (70, 300, 90, .columns), (200, 300, 40, .rows), (200, 300, 40, .columns)] {
            let a = seededFloats(m * k, seed: 21), b = seededFloats(k * n, seed: 22)
            var fast = [Float](repeating: .nan, count: m * n), ref = fast
            try a.withUnsafeBufferPointer { ap in try b.withUnsafeBufferPointer { bp in
                let A = GEMM.Operand(ap.baseAddress!, rowStride: k), B = GEMM.Operand(bp.baseAddress!, rowStride: n)
                ref.withUnsafeMutableBufferPointer { GEMM.reference(m: m, n: n, k: k, a: A, b: B, c: $0.baseAddress!, ldc: n) }
                for threads in invarianceThreadCounts {
                    try onOwnPool(threads: threads) {
                        fast.withUnsafeMutableBufferPointer {
                            GEMM.Driver(m: m, n: n, k: k, a: A, b: .unpacked(B), c: $0.baseAddress!, ldc: n, epilogue: .none,
                                        epilogueAxis: .columns, threads: threads, split: split, sharedBlock: 1,
                                        privateCopyLimit: privateCopyLimit).run()
                        }
                    }
                    #expect(bits(fast) == bits(ref), "\(m)x\(n)x\(k) \(split) threads \(threads)")
                }
            }}
        }
    }

    @Test func claimedUnitsCoverCEachOnceInEqualShares() {
        // The units the threads claim tile C's panels exactly once: the super-blocks of a shared
        // operand outermost, at least three units per thread (a multiple of the thread count) when
        // there are enough panels, none larger than a cache block, and sizes within one panel.
        for (m, n, k) in [(2048, 2048, 2048), (1024, 1024, 1024), (512, 512, 512), (13400, 256, 64), (64, 3000, 256), (7, 5, 9)] {
            for threads in [1, 2, 3, 4] {
                for splitM in [true, false] {
                    for (both, shared) in [(false, true), (false, false), (true, false)] {
                        let mPanels = (m + 5) / 6, nPanels = (n + 15) / 16
                        let splitPanels = splitM ? mPanels : nPanels
                        let parts = min(threads, splitPanels)
                        let w = GEMM.Driver.Work(m: m, n: n, k: k, splitM: splitM, parts: parts, both: both,
                                                 sharedOther: shared, sharedBlock: GEMM.sharedBlockFloats)
                        var covered = [Int](repeating: 0, count: mPanels * nPanels)
                        var sizes: [Int] = []
                        for u in 0..<w.units {
                            let r = w.ranges(unit: u)
                            for i in r.m { for j in r.n { covered[i * nPanels + j] += 1 } }
                            if u < w.unitsPerSuperBlock { sizes.append(splitM ? r.m.count : r.n.count) }
                        }
                        let label = "\(m)x\(n)x\(k) threads \(threads) splitM \(splitM) both \(both) shared \(shared)"
                        #expect(covered.allSatisfy { $0 == 1 }, "\(label)")
                        #expect(sizes.max()! - sizes.min()! <= 1, "\(label)")
                        if !both {
                            #expect(sizes.max()! <= (splitM ? GEMM.mc / 6 : GEMM.nc / 16), "\(label)")
                            if parts > 1 && splitPanels >= 3 * parts {
                                #expect(sizes.count >= 3 * parts && sizes.count % parts == 0, "\(label)")
                            }
                        }
                    }
                }
            }
        }
    }

    @Test func claimedUnitsAlongOneSide() {
        // The rule the GEMM driver and the sample-tree product share: units cover the panels once
        // in order, none larger than a block, sizes within one panel; with several threads every
        // thread gets a unit, and at least three when there are enough panels.
        for panels in 1...60 {
            for block in [1, 4, 24] {
                for parts in 1...4 where parts <= panels {
                    let units = GEMM.claimedUnits(panels: panels, blockPanels: block, parts: parts)
                    let ranges = (0..<units).map { ($0 * panels / units)..<(($0 + 1) * panels / units) }
                    let label = "panels \(panels) block \(block) parts \(parts) units \(units)"
                    #expect(ranges.first?.lowerBound == 0 && ranges.last?.upperBound == panels, "\(label)")
                    #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound }, "\(label)")
                    #expect(ranges.allSatisfy { !$0.isEmpty && $0.count <= block }, "\(label)")
                    #expect(ranges.map(\.count).max()! - ranges.map(\.count).min()! <= 1, "\(label)")
                    if parts > 1 {
                        #expect(units >= parts, "\(label)")
                        // A multiple of the threads unless every unit is already one panel.
                        if panels >= 3 * parts { #expect(units >= 3 * parts && (units == panels || units % parts == 0), "\(label)") }
                    }
                }
            }
        }
    }

    @Test func concurrentCallersGetTheSameBits() async {
        // Two callers at once: one gets the pool's workspace, the other a temporary one
        // (and the pool's threads, or runs serially) — same bits either way.
        let t = Case(m: 70, n: 90, k: 500)
        let expected = bits(Self.run(t, threads: 1, split: .automatic, seed: 3).ref)
        let results = await withTaskGroup(of: [UInt32].self) { group in
            for i in 0..<4 { group.addTask { bits(Self.run(t, threads: 1 + i % 3, split: .automatic, seed: 3).fast) } }
            return await group.reduce(into: [[UInt32]]()) { $0.append($1) }
        }
        #expect(results.count == 4)
        for r in results { #expect(r == expected) }
    }

    @Test func splitChoiceFollowsTheLongerSideUnlessUnbalanced() {
        // 64×64 on 2 threads: 11 row panels split 6/5, 4 column panels 2/2 → columns.
        #expect(GEMM.rowsBalanceBetter(m: 64, n: 64, threads: 2) == false)
        #expect(GEMM.rowsBalanceBetter(m: 2048, n: 2048, threads: 2) == true)
        // 1×1 conv, NCHW (W · X: 256 × 3400) and NHWC (X · Wᵀ: 3400 × 256).
        #expect(GEMM.rowsBalanceBetter(m: 256, n: 3400, threads: 2) == false)
        #expect(GEMM.rowsBalanceBetter(m: 3400, n: 256, threads: 2) == true)
        #expect(GEMM.rowsBalanceBetter(m: 850, n: 256, threads: 7) == true)
    }

    @Test func workspaceIsReusedAndLargeRequestsWork() {
        let pool = ThreadPool()
        var first: UnsafeMutableRawPointer?
        pool.withWorkspace(bytes: 1000) { first = $0 }
        pool.withWorkspace(bytes: 900) { #expect($0 == first) }
        pool.withWorkspace(bytes: 64) { outer in
            // Nested use cannot share the buffer.
            pool.withWorkspace(bytes: 64) { inner in #expect(inner != outer) }
        }
        pool.withWorkspace(bytes: 1 << 20) { p in
            p.storeBytes(of: 1, toByteOffset: (1 << 20) - 4, as: Int32.self)
            #expect(Int(bitPattern: p) % 64 == 0)
        }
    }
}
