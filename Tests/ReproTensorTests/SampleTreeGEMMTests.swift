import Testing
@_spi(Kernels) @testable import ReproTensor

/// A tree sum's nodes as (start, size, value bits), for exact comparisons.
func treeBits(_ s: SampleTreeSum) -> [String] {
    s.blocks.map { "\($0.start)+\($0.size): \(bits($0.values))" }
}

/// The sample-tree product gives, bit for bit, the tree nodes of per-sample GEMMs pushed through
/// `SampleGradients.accumulate`: on every kernel path, at threads 1/2/3 (threads proven to run),
/// for short depths, depths over several KC blocks, segmented depths, ragged tiles and any
/// first sample / sample count.
@Suite struct SampleTreeGEMMTests {
    /// `Σₛ Aₛ·Bₛ` by the sample-tree product; `A` is `[samples, m, depth]` read column-major
    /// (as the weight gradient reads `dyᵀ`), `B` is `[samples, depth, n]`.
    static func fused(m: Int, n: Int, depth: Int, samples: Int, first: Int, a: [Float], b: [Float], threads: Int,
                      columns: GEMM.ColumnPermutation? = nil, chunkFloats: Int = GEMM.treeChunkFloats) -> SampleTreeSum {
        let plan = SampleTreePlan(firstSample: first, samples: samples)
        let ptrs = plan.nodes.map { _ in
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(m * n, 1))
            p.initialize(repeating: .nan, count: max(m * n, 1))
            return p
        }
        defer { for p in ptrs { p.deallocate() } }
        a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in
            GEMM.sampleTreeMultiply(m: m, n: n, depth: depth, samples: samples, firstSample: first, packSample: { s, pa, pb in
                GEMM.packSampleOperands(a: .init(a.baseAddress! + s * m * depth, rowStride: 1, colStride: m),
                                        b: .init(b.baseAddress! + s * depth * n, rowStride: n),
                                        m: m, n: n, depth: depth, intoA: pa, intoB: pb, threads: threads)
            }, outputs: ptrs, ldc: n, columns: columns, threads: threads, chunkFloats: chunkFloats)
        } }
        var sum = SampleTreeSum(count: m * n, startIndex: first)
        for (node, p) in zip(plan.nodes, ptrs) {
            try! sum.append(SampleTreeSum.Block(start: node.start, size: node.size, values: Array(UnsafeBufferPointer(start: p, count: m * n))))
        }
        return sum
    }

    /// The per-sample path: one `GEMM.multiply` per sample into `SampleGradients.accumulate`.
    static func perSample(m: Int, n: Int, depth: Int, samples: Int, first: Int, a: [Float], b: [Float], threads: Int) -> SampleTreeSum {
        a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in
            SampleGradients.accumulate(count: m * n, firstSample: first, samples: samples, threads: threads) { s, out in
                GEMM.multiply(m: m, n: n, k: depth, a: .init(a.baseAddress! + s * m * depth, rowStride: 1, colStride: m),
                              b: .init(b.baseAddress! + s * depth * n, rowStride: n), c: out, ldc: n, threads: threads)
            }
        } }
    }

    /// The scalar reference.
    static func reference(m: Int, n: Int, depth: Int, samples: Int, first: Int, a: [Float], b: [Float]) -> SampleTreeSum {
        a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in
            GEMM.sampleTreeReference(m: m, n: n, depth: depth, samples: samples, firstSample: first,
                                     a: { .init(a.baseAddress! + $0 * m * depth, rowStride: 1, colStride: m) },
                                     b: { .init(b.baseAddress! + $0 * depth * n, rowStride: n) })
        } }
    }

    static func check(m: Int, n: Int, depth: Int, samples: Int, first: Int, threadCounts: [Int], seed: UInt64,
                      sourceLocation: SourceLocation = #_sourceLocation) throws {
        let a = seededFloats(samples * m * depth, seed: seed), b = seededFloats(samples * depth * n, seed: seed + 1)
        let want = reference(m: m, n: n, depth: depth, samples: samples, first: first, a: a, b: b)
        let label = "m \(m) n \(n) depth \(depth) samples \(samples) first \(first)"
        try onEveryKernelPath { isa in
            for t in threadCounts {
                let got = try onOwnPool(threads: t, sourceLocation: sourceLocation) {
                    fused(m: m, n: n, depth: depth, samples: samples, first: first, a: a, b: b, threads: t)
                }
                #expect(treeBits(got) == treeBits(want), "\(label) \(isa) threads \(t): reference", sourceLocation: sourceLocation)
                // Samples in chunks (one or two per chunk), the stack kept whole between them.
                for chunkFloats in [1, (m + 5) / 6 * 6 * depth * 2 + (n + 15) / 16 * 16 * depth * 2] {
                    let chunked = try onOwnPool(threads: t, sourceLocation: sourceLocation) {
                        fused(m: m, n: n, depth: depth, samples: samples, first: first, a: a, b: b, threads: t,
                              chunkFloats: chunkFloats)
                    }
                    #expect(treeBits(chunked) == treeBits(want), "\(label) \(isa) threads \(t): chunks of \(chunkFloats) floats",
                            sourceLocation: sourceLocation)
                }
                let old = perSample(m: m, n: n, depth: depth, samples: samples, first: first, a: a, b: b, threads: t)
                #expect(treeBits(old) == treeBits(got), "\(label) \(isa) threads \(t): per-sample GEMMs", sourceLocation: sourceLocation)
            }
        }
    }

    /// Short depths (one KC block), ragged M/N, every first sample and count of the brief.
    @Test(arguments: [(0, 1), (0, 2), (3, 3), (5, 5), (8, 8), (3, 8), (0, 5)])
    func shortDepth(first: Int, samples: Int) throws {
        try Self.check(m: 37, n: 41, depth: 49, samples: samples, first: first, threadCounts: [1, 2, 3], seed: 1)
    }

    /// Depths over several KC blocks; tile-multiple and ragged outputs; one row panel; a wide B.
    @Test func deepAndRagged() throws {
        try Self.check(m: 24, n: 64, depth: 600, samples: 3, first: 3, threadCounts: [1, 3], seed: 3)
        try Self.check(m: 13, n: 17, depth: GEMM.kc + 1, samples: 5, first: 0, threadCounts: [1, 2], seed: 5)
        try Self.check(m: 5, n: 300, depth: 31, samples: 2, first: 5, threadCounts: [1, 3], seed: 7)
        try Self.check(m: 150, n: 20, depth: 9, samples: 8, first: 8, threadCounts: [2, 3], seed: 9)
        try Self.check(m: 1, n: 1, depth: 1, samples: 3, first: 1, threadCounts: [1], seed: 11)
    }

    /// A per-sample shape that GEMM sums in K segments (`isSegmented`): the fused product sums
    /// each sample's segments the same way.
    @Test func segmentedDepth() throws {
        let depth = GEMM.segmentMinDepth + GEMM.segmentLength / 2 + 37
        #expect(GEMM.isSegmented(m: 7, n: 19, k: depth))
        try Self.check(m: 7, n: 19, depth: depth, samples: 3, first: 5, threadCounts: [1, 2], seed: 13)
    }

    /// The merge plan is SampleTreeSum's: the nodes of appending samples one by one.
    @Test(arguments: [0, 1, 3, 5, 8, 13])
    func planMatchesSampleTreeSum(first: Int) throws {
        for samples in 0...17 {
            let plan = SampleTreePlan(firstSample: first, samples: samples)
            var sum = SampleTreeSum(count: 1, startIndex: first)
            for s in 0..<samples { sum.append(sample: [Float(s)]) }
            #expect(plan.nodes.map(\.start) == sum.blocks.map(\.start) && plan.nodes.map(\.size) == sum.blocks.map(\.size),
                    "first \(first) samples \(samples)")
        }
    }
}

/// The column permutation folded into the sample-tree product's final write, and the row-wise
/// tap-major packer.
@Suite struct SampleTreeLayoutTests {
    /// With `columns:`, node element `(i, j)` lands at `(i, destination[j])` with the bits of the
    /// unpermuted reference: on the short path and on the blocked path (several row and column
    /// blocks, several KC blocks, samples in chunks), every kernel path, threads 1/2/3 proven to run.
    @Test func permutedColumnsMatchReference() throws {
        // (m, n = taps·channels, depth, samples, first, taps, short path)
        // The blocked cases are deeper than one KC block (the short path's first condition).
        let cases = [(37, 45, 49, 5, 3, 9, true), (150, 300, GEMM.kc + 44, 3, 1, 3, false), (80, 28, 40, 8, 0, 7, true),
                     (13, 98, GEMM.kc + 14, 2, 5, 49, false)]
        for (m, n, depth, samples, first, taps, short) in cases {
            #expect(GEMM.sampleTreeIsShort(m: m, n: n, depth: depth, samples: samples) == short, "m \(m) n \(n) depth \(depth)")
            let a = seededFloats(samples * m * depth, seed: 41), b = seededFloats(samples * depth * n, seed: 42)
            let perm = GEMM.ColumnPermutation(taps: taps, channels: n / taps)
            #expect(Set(perm.destination) == Set(0..<n))
            let plain = SampleTreeGEMMTests.reference(m: m, n: n, depth: depth, samples: samples, first: first, a: a, b: b)
            var want = SampleTreeSum(count: m * n, startIndex: first)
            for block in plain.blocks {
                var v = [Float](repeating: 0, count: m * n)
                for i in 0..<m { for j in 0..<n { v[i * n + perm.destination[j]] = block.values[i * n + j] } }
                try want.append(SampleTreeSum.Block(start: block.start, size: block.size, values: v))
            }
            try onEveryKernelPath { isa in
                for t in [1, 2, 3] {
                    for chunkFloats in [GEMM.treeChunkFloats, 1] {
                        let got = try onOwnPool(threads: t) {
                            SampleTreeGEMMTests.fused(m: m, n: n, depth: depth, samples: samples, first: first, a: a, b: b,
                                                      threads: t, columns: perm, chunkFloats: chunkFloats)
                        }
                        #expect(treeBits(got) == treeBits(want), "m \(m) n \(n) depth \(depth) \(isa) threads \(t) chunk \(chunkFloats)")
                    }
                }
            }
        }
    }

    /// `packTapMajorRows` writes exactly what `packTapMajorColumns` writes (pad lanes included):
    /// the stem's 3 channels (a small image, and a larger one with mostly interior pixels), 5
    /// channels with stride and dilation, 24 channels (panels that end mid-tap), 5 channels without
    /// padding (every pixel interior), over whole and partial pixel ranges and panel ranges
    /// spanning several panels.
    @Test func rowPackerMatchesColumnPacker() throws {
        let geometries = [
            try ConvGeometry(batch: 1, inChannels: 3, height: 23, width: 19, outChannels: 4, kernelHeight: 7, kernelWidth: 7,
                             stride: (2, 2), padding: (3, 3)),
            try ConvGeometry(batch: 1, inChannels: 5, height: 11, width: 12, outChannels: 4, kernelHeight: 3, kernelWidth: 3,
                             stride: (1, 2), padding: (2, 1), dilation: (2, 2)),
            try ConvGeometry(batch: 1, inChannels: 24, height: 9, width: 9, outChannels: 4, kernelHeight: 3, kernelWidth: 3,
                             stride: (1, 1), padding: (1, 1)),
            // Mostly interior pixels (the per-column fast path) with border rows and columns around them.
            try ConvGeometry(batch: 1, inChannels: 3, height: 41, width: 38, outChannels: 4, kernelHeight: 7, kernelWidth: 7,
                             stride: (2, 2), padding: (3, 3)),
            // No padding: every pixel interior.
            try ConvGeometry(batch: 1, inChannels: 5, height: 12, width: 10, outChannels: 4, kernelHeight: 3, kernelWidth: 3),
        ]
        for g in geometries {
            let x = seededFloats(g.height * g.width * g.inChannels, seed: 43)
            let plane = g.outHeight * g.outWidth, nPanels = (Conv2dBackward.tapWidth(g) + 15) / 16
            for depth in [0..<plane, 5..<(plane - 3), 17..<18] {
                for panels in [0..<nPanels, 1..<max(1, nPanels - 1), (nPanels - 1)..<nPanels] where !panels.isEmpty {
                    let count = panels.count * 16 * depth.count
                    var rows = [Float](repeating: .nan, count: count), cols = [Float](repeating: .nan, count: count)
                    x.withUnsafeBufferPointer { xp in
                        rows.withUnsafeMutableBufferPointer {
                            Conv2dBackward.packTapMajorRows(g, sample: xp.baseAddress!, depth: depth, panels: panels, into: $0.baseAddress!)
                        }
                        cols.withUnsafeMutableBufferPointer {
                            Conv2dBackward.packTapMajorColumns(g, sample: xp.baseAddress!, depth: depth, panels: panels, into: $0.baseAddress!)
                        }
                    }
                    #expect(rows.map(\.bitPattern) == cols.map(\.bitPattern), "\(g) pixels \(depth) panels \(panels)")
                }
            }
        }
    }
}

/// The convolution's weight and bias gradient trees (fused) against per-sample gradients pushed
/// through `SampleGradients.accumulate` — groups, strides, a 7×7 stem, pointwise, and the one-group
/// tap-major implicit im2col (against the per-sample OIHW im2col products); every kernel path.
@Suite struct ConvGradientTreeTests {
    static func geometry(_ n: Int, _ c: Int, _ h: Int, _ w: Int, _ o: Int, k: Int, s: Int = 1, p: Int = 0,
                         groups: Int = 1) throws -> ConvGeometry {
        try ConvGeometry(batch: n, inChannels: c, height: h, width: w, outChannels: o, kernelHeight: k, kernelWidth: k,
                         stride: (s, s), padding: (p, p), groups: groups)
    }

    @Test func weightAndBiasTreesMatchPerSample() throws {
        let cases: [(ConvGeometry, Int)] = [
            (try Self.geometry(5, 8, 9, 9, 16, k: 3, p: 1), 3),
            (try Self.geometry(3, 6, 11, 10, 12, k: 3, s: 2, p: 1, groups: 3), 0),
            (try Self.geometry(2, 3, 20, 20, 8, k: 7, s: 2, p: 3), 5),
            (try Self.geometry(8, 16, 4, 4, 40, k: 1), 8),
            // Tap-major implicit im2col, whole 16-channel panels: depth over two KC blocks, a
            // stride-2 layer, a dilated one, and channels that end mid-panel next to whole panels.
            (try Self.geometry(3, 32, 24, 23, 20, k: 3, p: 1), 1),
            (try Self.geometry(2, 16, 13, 12, 70, k: 3, s: 2, p: 1), 0),
            (try ConvGeometry(batch: 2, inChannels: 16, height: 11, width: 12, outChannels: 13, kernelHeight: 3, kernelWidth: 3,
                              stride: (1, 1), padding: (2, 2), dilation: (2, 2)), 6),
            (try Self.geometry(2, 24, 7, 7, 9, k: 3, p: 1), 2),
            // The permutation folded into the product's write (planes past one KC block): a 7×7
            // stem (row-wise packing), and several row and column blocks.
            (try Self.geometry(2, 3, 48, 48, 8, k: 7, s: 2, p: 3), 1),
            (try Self.geometry(3, 40, 24, 23, 80, k: 3, p: 1), 0),
        ]
        for (g, first) in cases {
            let x = seededFloats(g.batch * g.height * g.width * g.inChannels, seed: 31)
            let dy = seededFloats(g.batch * g.outHeight * g.outWidth * g.outChannels, seed: 32)
            let count = Conv2dBackward.weightCount(g), oc = g.outChannels
            try onEveryKernelPath { isa in
                for t in [1, 2, 3] {
                    let (fusedW, fusedB, oldW, oldB) = try onOwnPool(threads: t, team: .requested) {
                        withPointers(x) { xp in withPointers(dy) { dp in
                            let w = Conv2dBackward.weightGradientSum(g, input: xp, outputGradient: dp, firstSample: first, threads: t)
                            let b = Conv2dBackward.biasGradientSum(g, outputGradient: dp, firstSample: first, threads: t)
                            let ow = Conv2dBackward.withSampleWeightGradients(g, input: xp, outputGradient: dp, threads: t) { produce in
                                SampleGradients.accumulate(count: count, firstSample: first, samples: g.batch, threads: t, produce)
                            }
                            let db = produce(g.batch * oc) { Conv2dBackward.biasGradients(g, outputGradient: dp, into: $0, threads: t) }
                            let ob = SampleGradients.accumulate(count: oc, firstSample: first, samples: g.batch, threads: t) { n, out in
                                for o in 0..<oc { out[o] = db[n * oc + o] }
                            }
                            return (w, b, ow, ob)
                        } }
                    }
                    #expect(treeBits(fusedW) == treeBits(oldW), "\(g) \(isa) threads \(t): weight")
                    #expect(treeBits(fusedB) == treeBits(oldB), "\(g) \(isa) threads \(t): bias")
                }
            }
        }
    }
}
