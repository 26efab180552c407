/// The convolution's weight and bias gradients reduced over samples inside the kernel
/// (``GEMM/sampleTreeMultiply(m:n:depth:samples:firstSample:packSample:outputs:ldc:threads:chunkFloats:)``):
/// the canonical tree nodes come out with the bits of per-sample gradients
/// (``Conv2dBackward/withSampleWeightGradients(_:input:outputGradient:threads:_:)``) pushed
/// through ``SampleGradients/accumulate(count:firstSample:samples:threads:_:)``, without writing
/// any per-sample gradient to memory.
extension Conv2dBackward {
    /// The weight-gradient tree nodes of samples `0..<g.batch` (global indices from `firstSample`):
    /// per group one sample-tree product of `dyₙᵀ` (`O/groups × OH·OW`) by `im2col(xₙ)`
    /// (`OH·OW × C/groups·KH·KW`), the per-sample operands packed once each (for several groups,
    /// `im2col(xₙ)` is rebuilt per group).
    static func weightGradientTree(
        _ g: ConvGeometry, input x: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
        firstSample: Int, threads: Int
    ) -> SampleTreeSum {
        let plane = g.outHeight * g.outWidth, oc = g.outChannels, width = tapWidth(g)
        let icg = g.groupInChannels, ocg = g.groupOutChannels, kk = g.kernelHeight * g.kernelWidth
        let count = weightCount(g)
        let plan = SampleTreePlan(firstSample: firstSample, samples: g.batch)
        let nodes = plan.nodes.map { _ in UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1)) }
        defer { for p in nodes { p.deallocate() } }
        withWeightGradientWorkspace(g) { cols in
            for grp in 0..<g.groups {
                GEMM.sampleTreeMultiply(
                    m: ocg, n: icg * kk, depth: plane, samples: g.batch, firstSample: firstSample,
                    packSample: { n, packedA, packedB in
                        im2col(g, sample: x + n * g.height * g.width * g.inChannels, into: cols, threads: threads)
                        GEMM.packSampleOperands(a: .init(dy + n * plane * oc + grp * ocg, rowStride: 1, colStride: oc),
                                                b: .init(cols + grp * icg * kk, rowStride: width),
                                                m: ocg, n: icg * kk, depth: plane, intoA: packedA, intoB: packedB, threads: threads)
                    },
                    outputs: nodes.map { $0 + grp * ocg * icg * kk }, ldc: icg * kk, threads: threads)
            }
        }
        return plan.sum(count: count) { UnsafePointer(nodes[$0]) }
    }

    /// The bias-gradient tree nodes of samples `0..<g.batch` (global indices from `firstSample`):
    /// each sample's raster-order sum from zero (as ``biasGradients(_:outputGradient:into:threads:)``)
    /// written straight into its stack slot and merged there; threads take blocks of 16 channels.
    static func biasGradientTree(
        _ g: ConvGeometry, outputGradient dy: UnsafePointer<Float>, firstSample: Int, threads: Int
    ) -> SampleTreeSum {
        let plane = g.outHeight * g.outWidth, oc = g.outChannels, blocks = (oc + 15) / 16
        let plan = SampleTreePlan(firstSample: firstSample, samples: g.batch)
        let slots = UnsafeMutablePointer<Float>.allocate(capacity: max(plan.slotCount * oc, 1))
        defer { slots.deallocate() }
        ThreadPool.current.forEachChunk(blocks, threads: threads) { block in
            let c0 = block * 16, c1 = min(c0 + 16, oc)
            for (n, step) in plan.steps.enumerated() {
                let d = slots + step.slot * oc
                for o in c0..<c1 { d[o] = 0 }
                for p in 0..<plane {
                    let s = dy + (n * plane + p) * oc
                    for o in c0..<c1 { d[o] = d[o] + s[o] }
                }
                for q in 0..<step.merges {
                    let right = slots + (step.slot - q) * oc, left = right - oc
                    for o in c0..<c1 { left[o] = left[o] + right[o] }
                }
            }
        }
        return plan.sum(count: oc) { UnsafePointer(slots + $0 * oc) }
    }

    /// The benchmarks' yardstick: the weight gradient of the whole batch as one batched GEMM
    /// (`im2col` of every sample into `cols`, `N·OH·OW·C·KH·KW` floats, then
    /// `dyᵀ · cols` with K = N·OH·OW; one group only). Its sum order depends on the batch, so it
    /// is not the canonical gradient; it is what a sample-blind framework computes.
    @_spi(Kernels) public static func batchedWeightGradient(
        _ g: ConvGeometry, input x: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
        columns cols: UnsafeMutablePointer<Float>, into dw: UnsafeMutablePointer<Float>, threads: Int
    ) {
        precondition(g.groups == 1, "batchedWeightGradient: one group")
        let plane = g.outHeight * g.outWidth, width = tapWidth(g), one = g.withBatch(1)
        for n in 0..<g.batch {
            im2col(one, sample: x + n * g.height * g.width * g.inChannels, into: cols + n * plane * width, threads: threads)
        }
        GEMM.multiply(m: g.outChannels, n: width, k: g.batch * plane, a: .init(dy, rowStride: 1, colStride: g.outChannels),
                      b: .init(cols, rowStride: width), c: dw, ldc: width, threads: threads)
    }

    /// The weight-gradient tree nodes computed the unfused way: each sample's `dWₙ` written out by
    /// ``withSampleWeightGradients(_:input:outputGradient:threads:_:)``, then the tree adds of
    /// ``SampleGradients/accumulate(count:firstSample:samples:threads:_:)``. The same bits as
    /// ``weightGradientSum(_:input:outputGradient:firstSample:threads:)``; kept as its reference
    /// and for the benchmarks.
    @_spi(Kernels) public static func unfusedWeightGradientSum(
        _ g: ConvGeometry, input x: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
        firstSample: Int, threads: Int
    ) -> SampleTreeSum {
        withSampleWeightGradients(g, input: x, outputGradient: dy, threads: threads) { produce in
            SampleGradients.accumulate(count: weightCount(g), firstSample: firstSample, samples: g.batch, threads: threads, produce)
        }
    }
}
