import _ReproKernelsAVX512

/// The sample-tree product: a sum over samples of per-sample products, reduced with the
/// canonical sample tree inside the GEMM.
///
/// For samples `s = 0..<samples` (global indices `firstSample + s`) with operands `Aₛ` (`m × depth`)
/// and `Bₛ` (`depth × n`), each sample's product `Cₛ = Aₛ · Bₛ` has exactly the bits of
/// ``GEMM/multiply(m:n:k:a:b:c:ldc:epilogue:epilogueAxis:threads:split:)`` on that sample alone:
/// one FMA chain from zero over `p = 0..<depth`, or — when ``GEMM/isSegmented(m:n:k:)`` holds for
/// `(m, n, depth)` — per segment of ``GEMM/segmentLength`` one chain from zero, the partials added
/// left to right. The `Cₛ` are then reduced as ``SampleGradients/accumulate(count:firstSample:samples:threads:_:)``
/// reduces them (``SampleTreePlan``: the same merges, each one `left + right`), so the nodes of the
/// canonical tree that come out are bit for bit those of per-sample GEMMs plus the tree adds.
///
/// What changes is where the work happens: both operands of every sample are packed once
/// (shared by the threads), and the threads claim runs of 6 × 16 output tiles. For each block of
/// tiles, every sample's tile goes straight into a per-block stack of tree nodes (one node's
/// tile per stack slot, L2-resident) and is merged there while it is still in L1; only the
/// final nodes are written to memory. Per-sample products are never written out, which is what
/// made the weight gradient of short-plane convolutions (ResNet's layer4: depth 7·7) cost half
/// again as much as one batched GEMM.
///
/// ```swift
/// // Σₛ Aₛ·Bₛ over 3 samples starting at global index 3: nodes {3} and {4, 5}.
/// let plan = SampleTreePlan(firstSample: 3, samples: 3)
/// plan.nodes.count   // 2
/// ```
extension GEMM {
    /// Row panels (of 6) per block of the sample-tree product.
    static let treeBlockRowPanels = 12
    /// Column panels (of 16) per block of the sample-tree product.
    static let treeBlockColumnPanels = 16
    /// Floats of packed operands per chunk of samples (long depths), and twice the largest
    /// whole-node stack that chunking may keep.
    static let treeChunkFloats = 1 << 21
    /// Bytes of packed A (one chunk of row panels, every sample) a short-depth product keeps in L2.
    static let treeShortBytes = 1 << 19

    /// Where the columns of a sample-tree product are written: product column `j` goes to output
    /// column `destination[j]` (a pure copy of whole elements, so the bits of each element do not
    /// change). Folds a layout change of the result — the weight gradient's tap-major columns
    /// `(ky, kx, c)` to OIHW's `(c, ky, kx)` — into the write of the final nodes.
    struct ColumnPermutation: Sendable {
        /// Output column of each product column (a permutation of `0..<n`).
        let destination: [Int]

        /// Tap-major `t·channels + c` to channel-major `c·taps + t`.
        init(taps: Int, channels: Int) {
            var d = [Int](repeating: 0, count: taps * channels)
            for t in 0..<taps { for c in 0..<channels { d[t * channels + c] = c * taps + t } }
            destination = d
        }
    }

    /// Whether ``sampleTreeMultiply(m:n:depth:samples:firstSample:packSample:outputs:ldc:columns:threads:chunkFloats:)``
    /// takes its short path for this shape: one KC block per sample, unsegmented, and the packed A
    /// of MC rows over all samples fits in ``treeShortBytes`` (each tile runs every sample back to
    /// back with its stack in L1).
    static func sampleTreeIsShort(m: Int, n: Int, depth: Int, samples: Int) -> Bool {
        let mPanels = (m + mr - 1) / mr
        return depth <= kc && !isSegmented(m: m, n: n, k: depth)
            && treeShortBytes / (24 * max(samples, 1) * max(depth, 1)) >= min(mc / 6, mPanels)
    }

    /// Computes the canonical tree nodes of `Σₛ Aₛ · Bₛ` over `samples` samples from global index
    /// `firstSample`, and writes node `i` of `SampleTreePlan(firstSample:samples:).nodes` to
    /// `outputs[i]` (`m × n`, row-major, leading dimension `ldc`; only those elements are written).
    ///
    /// - Parameters:
    ///   - packSample: `packSample(s, a, b)` packs sample `s`'s operands: A (`m × depth`) into `a`
    ///     and B (`depth × n`) into `b`, both over the whole depth in KC depth blocks of all their
    ///     panels, as ``packSampleOperands(a:b:m:n:depth:intoA:intoB:threads:)`` does. Called once per
    ///     sample, in order, from the calling thread (it may use the pool).
    ///   - columns: where each product column is written (`nil`: column `j` to column `j`).
    ///   - threads: the largest number of threads (results do not depend on it).
    ///   - chunkFloats: ``treeChunkFloats`` (tests shrink it; results do not depend on it).
    static func sampleTreeMultiply(
        m: Int, n: Int, depth: Int, samples: Int, firstSample: Int,
        packSample: (Int, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void,
        outputs: [UnsafeMutablePointer<Float>], ldc: Int, columns: ColumnPermutation? = nil, threads: Int,
        chunkFloats: Int = treeChunkFloats
    ) {
        let plan = SampleTreePlan(firstSample: firstSample, samples: samples)
        precondition(outputs.count == plan.nodes.count, "sampleTreeMultiply: one output per tree node")
        guard m > 0 && n > 0 && samples > 0 else { return }
        if depth == 0 {
            for out in outputs { for i in 0..<m { (out + i * ldc).initialize(repeating: 0, count: n) } }
            return
        }
        let mPanels = (m + mr - 1) / mr, nPanels = (n + nr - 1) / nr
        let aFloats = mPanels * 6 * depth, bFloats = nPanels * 16 * depth
        let segmented = isSegmented(m: m, n: n, k: depth)
        let threads = max(1, threads)
        let byRows = rowsBalanceBetter(m: m, n: n, threads: threads)
        let parts = min(threads, byRows ? mPanels : nPanels)
        // One KC block per sample, and the packed A of MC rows over all samples fits in L2: each
        // tile runs every sample back to back with its stack in L1
        // (``SampleTreeTiles/shortBlock(rows:columns:scratch:)``), in chunks of row panels whose
        // packed A over all samples stays in L2 (so B is re-read no more often than by one batched GEMM).
        let shortChunk = treeShortBytes / (24 * samples * depth)
        let short = sampleTreeIsShort(m: m, n: n, depth: depth, samples: samples)
        let rowPanels = short ? min(mPanels, shortChunk) : min(treeBlockRowPanels, mPanels)
        let colPanels = short ? nPanels : min(treeBlockColumnPanels, nPanels)
        let blockFloats = short ? 192 : rowPanels * colPanels * 96
        // Long per-sample depths whose outputs are small: samples go in chunks whose packed operands
        // stay in cache, and the tree's stack holds whole nodes (every tile) between the chunks.
        let stackFloats = plan.slotCount * mPanels * nPanels * 96
        let perChunk = short ? samples : max(1, min(samples, chunkFloats / (aFloats + bFloats)))
        let chunk = perChunk < samples && stackFloats <= treeChunkFloats / 2 ? perChunk : samples
        let chunked = chunk < samples
        let perThread = chunked ? (segmented ? blockFloats : 0) : (plan.slotCount + (segmented ? 1 : 0)) * blockFloats
        let shared = chunk * (aFloats + bFloats)
        let total = shared + (chunked ? stackFloats : 0) + parts * perThread
        let destination = columns?.destination ?? []
        precondition(columns == nil || destination.count == n, "sampleTreeMultiply: one destination per column")
        destination.withUnsafeBufferPointer { destination in
        ThreadPool.current.withWorkspace(bytes: total * 4) { raw in
            let ws = raw.bindMemory(to: Float.self, capacity: total)
            let packedA = UnsafePointer(ws), packedB = UnsafePointer(ws + chunk * aFloats)
            let tree = SampleTreeTiles(m: m, n: n, depth: depth, plan: plan, segmented: segmented,
                                       packedA: packedA, aStride: aFloats, packedB: packedB, bStride: bFloats,
                                       outputs: outputs, ldc: ldc, rowPanels: rowPanels, colPanels: colPanels,
                                       stack: chunked ? ws + shared : nil, wide: Runtime.usesAVX512,
                                       columns: columns == nil ? nil : destination.baseAddress!)
            for c0 in stride(from: 0, to: samples, by: chunk) {
                let range = c0..<min(c0 + chunk, samples)
                // Pack the chunk's operands once, shared by the threads.
                for s in range { packSample(s, ws + (s - c0) * aFloats, ws + chunk * aFloats + (s - c0) * bFloats) }
                // The threads claim units of panels along the split side, each at most one block;
                // every tile's tree is computed whole by whoever claims it, so the split never
                // changes a bit.
                let split = byRows ? mPanels : nPanels
                let units = claimedUnits(panels: split, blockPanels: byRows ? rowPanels : colPanels, parts: parts)
                ThreadPool.current.forEachClaimedChunk(units, threads: parts) { u, p in
                    let own = (u * split / units)..<((u + 1) * split / units)
                    let scratch = ws + shared + (chunked ? stackFloats : 0) + p * perThread
                    for ic in stride(from: byRows ? own.lowerBound : 0, to: byRows ? own.upperBound : mPanels, by: rowPanels) {
                        let icEnd = min(ic + rowPanels, byRows ? own.upperBound : mPanels)
                        for jc in stride(from: byRows ? 0 : own.lowerBound, to: byRows ? nPanels : own.upperBound, by: colPanels) {
                            let jcEnd = min(jc + colPanels, byRows ? nPanels : own.upperBound)
                            if short {
                                tree.shortBlock(rows: ic..<icEnd, columns: jc..<jcEnd, scratch: scratch)
                            } else {
                                tree.block(rows: ic..<icEnd, columns: jc..<jcEnd, samples: range, scratch: scratch)
                            }
                        }
                    }
                }
            }
        }
        }
    }

    /// How the threads pack one sample's operands (`mPanels` 6-row and `nPanels` 16-column panels
    /// over `depth`): `packers` threads (one alone below ``packGrain`` floats) claiming `units`
    /// ranges of panels, unit `u` being the same fraction `u/units` of both operands' panels.
    static func samplePackingTeam(mPanels: Int, nPanels: Int, depth: Int, threads: Int) -> (packers: Int, units: Int) {
        let packers = min(max(threads, 1), max(1, (mPanels * 6 + nPanels * 16) * depth / packGrain))
        return (packers, packers == 1 ? 1 : min(max(mPanels, nPanels), 3 * packers))
    }

    /// Packs one sample's operands for ``sampleTreeMultiply(m:n:depth:samples:firstSample:packSample:outputs:ldc:columns:threads:chunkFloats:)``:
    /// `a` (`m × depth`) as 6-row panels and `b` (`depth × n`) as 16-column panels, each over the
    /// whole depth in KC depth blocks of all panels (a pure copy; threads claim panel ranges).
    static func packSampleOperands(a: Operand, b: Operand, m: Int, n: Int, depth: Int,
                                   intoA: UnsafeMutablePointer<Float>, intoB: UnsafeMutablePointer<Float>, threads: Int) {
        let mPanels = (m + mr - 1) / mr, nPanels = (n + nr - 1) / nr
        let (packers, units) = samplePackingTeam(mPanels: mPanels, nPanels: nPanels, depth: depth, threads: threads)
        ThreadPool.current.forEachClaimedChunk(units, threads: packers) { u, _ in
            packABlocked(a, m: m, depth: 0..<depth, panels: (u * mPanels / units)..<((u + 1) * mPanels / units),
                         origin: 0, layoutPanels: mPanels, into: intoA)
            packBBlocked(b, n: n, depth: 0..<depth, panels: (u * nPanels / units)..<((u + 1) * nPanels / units),
                         origin: 0, layoutPanels: nPanels, into: intoB)
        }
    }

    /// The scalar reference of ``sampleTreeMultiply(m:n:depth:samples:firstSample:packSample:outputs:ldc:columns:threads:chunkFloats:)``:
    /// each sample's product by ``reference(m:n:k:a:b:c:ldc:epilogue:epilogueAxis:)``, reduced by
    /// ``SampleGradients/accumulate(count:firstSample:samples:threads:_:)``.
    static func sampleTreeReference(
        m: Int, n: Int, depth: Int, samples: Int, firstSample: Int, a: (Int) -> Operand, b: (Int) -> Operand
    ) -> SampleTreeSum {
        SampleGradients.accumulate(count: m * n, firstSample: firstSample, samples: samples, threads: 1) { s, out in
            reference(m: m, n: n, k: depth, a: a(s), b: b(s), c: out, ldc: n)
        }
    }

    /// One thread's view of a sample-tree product: the shared packed operands and the plan.
    struct SampleTreeTiles: @unchecked Sendable {
        let m: Int, n: Int, depth: Int
        let plan: SampleTreePlan
        let segmented: Bool
        let packedA: UnsafePointer<Float>, aStride: Int
        let packedB: UnsafePointer<Float>, bStride: Int
        let outputs: [UnsafeMutablePointer<Float>]
        let ldc: Int
        let rowPanels: Int, colPanels: Int
        /// When samples come in chunks: the stack of whole nodes (slot `q`, tile `(ip, jp)` at
        /// `(q·mPanels·nPanels + jp·mPanels + ip)·96`), kept between the chunks.
        let stack: UnsafeMutablePointer<Float>?
        let wide: Bool
        /// ``ColumnPermutation/destination`` (`nil`: none).
        let columns: UnsafePointer<Int>?

        /// Writes the valid `rows × cols` part of a tile (16 floats per row) whose first element is
        /// product element `(row, column)` to `out`, through ``columns``.
        @inline(__always)
        func store(_ t: UnsafePointer<Float>, rows: Int, cols: Int, to out: UnsafeMutablePointer<Float>, row: Int, column: Int) {
            guard let columns else {
                for r in 0..<rows { (out + (row + r) * ldc + column).update(from: t + r * 16, count: cols) }
                return
            }
            let dest = columns + column
            for r in 0..<rows {
                let o = out + (row + r) * ldc, src = t + r * 16
                for l in 0..<cols { o[dest[l]] = src[l] }
            }
        }

        /// Samples `samples` (the packed chunk starting at `samples.lowerBound`) of the tiles in row
        /// panels `rows` × column panels `columns`. Without ``stack``, `scratch` holds one block of
        /// tiles per stack slot (tile `(ip, jp)` at `((jp − jc)·rowPanels + ip − ic)·96`, 16 floats per
        /// row, so two row panels make one 12 × 16 tile); with it, the slots live there. When
        /// segmented, one more block of `scratch` (after the slots, or alone) holds the running
        /// segment. The final nodes are written out after the last sample.
        func block(rows: Range<Int>, columns: Range<Int>, samples: Range<Int>, scratch: UnsafeMutablePointer<Float>) {
            let blockFloats = rowPanels * colPanels * 96
            let mPanels = (m + mr - 1) / mr, nPanels = (n + nr - 1) / nr
            let base = stack ?? scratch, slotStride = stack == nil ? blockFloats : mPanels * nPanels * 96
            let segmentBlock = scratch + (stack == nil ? plan.slotCount * blockFloats : 0)
            @inline(__always) func local(_ ip: Int, _ jp: Int) -> Int {
                ((jp - columns.lowerBound) * rowPanels + ip - rows.lowerBound) * 96
            }
            @inline(__always) func slotOffset(_ ip: Int, _ jp: Int) -> Int { stack == nil ? local(ip, jp) : (jp * mPanels + ip) * 96 }
            for s in samples {
                let step = plan.steps[s]
                let leaf = base + step.slot * slotStride
                let aSample = packedA + (s - samples.lowerBound) * aStride, bSample = packedB + (s - samples.lowerBound) * bStride
                for pc in stride(from: 0, to: depth, by: kc) {
                    let kcb = min(kc, depth - pc)
                    // Segment s ≥ 1 of a segmented product runs from zero in its own block and is added
                    // to the leaf after its last KC block; segment 0 runs in the leaf itself.
                    let inLaterSegment = segmented && pc >= segmentLength
                    let startsChain = pc % (segmented ? segmentLength : depth) == 0
                    let endsSegment = inLaterSegment && (pc + kcb == depth || (pc + kcb) % segmentLength == 0)
                    let endsSample = pc + kcb == depth
                    let aBlock = aSample + pc * 6 * mPanels, bBlock = bSample + pc * 16 * nPanels
                    for jp in columns {
                        let bp = bBlock + jp * 16 * kcb
                        var ip = rows.lowerBound
                        while ip < rows.upperBound {
                            let pair = wide && ip + 1 < rows.upperBound
                            let so = slotOffset(ip, jp)
                            let tile = inLaterSegment ? segmentBlock + local(ip, jp) : leaf + so
                            let src: UnsafePointer<Float>? = startsChain ? nil : UnsafePointer(tile)
                            let ap = aBlock + ip * 6 * kcb
                            if endsSample && !segmented {
                                tileThenMerge(rows: pair ? 12 : 6, kcb, ap, panelStride: 6 * kcb, bp, src: src,
                                              stack: base + so, slotStride: slotStride, step: step)
                                ip += pair ? 2 : 1
                                continue
                            }
                            if pair {
                                tileAVX512(rows: 12, kcb, ap, panelStride: 6 * kcb, bp, src, 16, tile, 16, nil, 0, nil)
                            } else {
                                tile6x16(wide: wide, kcb, ap, bp, src, 16, tile, 16, nil, 0)
                            }
                            let floats = pair ? 192 : 96
                            if endsSegment { Self.add(tile, into: leaf + so, count: floats) }
                            if endsSample {
                                for q in 0..<step.merges {
                                    Self.add(base + (step.slot - q) * slotStride + so,
                                             into: base + (step.slot - q - 1) * slotStride + so, count: floats)
                                }
                            }
                            ip += pair ? 2 : 1
                        }
                    }
                }
            }
            guard samples.upperBound == plan.steps.count else { return }
            // Write out the valid part of each final node's tiles.
            for (i, out) in outputs.enumerated() {
                let node = base + i * slotStride
                for jp in columns {
                    let cols = min(16, n - jp * 16)
                    for ip in rows {
                        store(node + slotOffset(ip, jp), rows: min(6, m - ip * 6), cols: cols, to: out, row: ip * 6, column: jp * 16)
                    }
                }
            }
        }

        /// The tiles in row panels `rows` × column panels `columns` of a product whose depth is one
        /// KC block: per tile (12 × 16 on AVX-512, else 6 × 16), every sample's chain from zero into
        /// its stack slot (`scratch + slot·192`), merged at once, then the final nodes' tile written
        /// out. Nothing but the final nodes leaves L1.
        func shortBlock(rows: Range<Int>, columns: Range<Int>, scratch: UnsafeMutablePointer<Float>) {
            for jp in columns {
                let cols = min(16, n - jp * 16)
                var ip = rows.lowerBound
                while ip < rows.upperBound {
                    let pair = wide && ip + 1 < rows.upperBound
                    let ap = packedA + ip * 6 * depth, bp = packedB + jp * 16 * depth
                    for (s, step) in plan.steps.enumerated() {
                        tileThenMerge(rows: pair ? 12 : 6, depth, ap + s * aStride, panelStride: 6 * depth, bp + s * bStride, src: nil,
                                      stack: scratch, slotStride: 192, step: step)
                    }
                    for (i, out) in outputs.enumerated() {
                        store(scratch + i * 192, rows: min(pair ? 12 : 6, m - ip * 6), cols: cols, to: out, row: ip * 6, column: jp * 16)
                    }
                    ip += pair ? 2 : 1
                }
            }
        }

        /// One tile's last KC block of sample `step`: the chain (from `src`, or zero) written to the
        /// sample's stack slot (`stack + slot·slotStride`), then the step's merges
        /// (slot `slot − q − 1` += slot `slot − q`). On AVX-512 the merges happen in registers
        /// (`repro_sgemm_avx512_tile_tree`: the same additions, in the same order) and only the
        /// merged node is stored.
        @inline(__always)
        func tileThenMerge(rows: Int, _ kcb: Int, _ a: UnsafePointer<Float>, panelStride: Int, _ b: UnsafePointer<Float>,
                           src: UnsafePointer<Float>?, stack: UnsafeMutablePointer<Float>, slotStride: Int,
                           step: SampleTreePlan.Step) {
            if wide {
                withUnsafeTemporaryAllocation(of: UnsafePointer<Float>?.self, capacity: max(step.merges, 1)) { addends in
                    for q in 0..<step.merges { addends[q] = UnsafePointer(stack + (step.slot - q - 1) * slotStride) }
                    repro_sgemm_avx512_tile_tree(rows, kcb, a, panelStride, b, src, addends.baseAddress!, step.merges,
                                                 stack + (step.slot - step.merges) * slotStride)
                }
                return
            }
            let tile = stack + step.slot * slotStride
            tile6x16(wide: false, kcb, a, b, src, 16, tile, 16, nil, 0)
            for q in 0..<step.merges {
                Self.add(stack + (step.slot - q) * slotStride, into: stack + (step.slot - q - 1) * slotStride, count: 96)
            }
        }

        /// `left[i] = left[i] + right[i]` over one tile (one rounding each).
        @inline(__always)
        static func add(_ right: UnsafePointer<Float>, into left: UnsafeMutablePointer<Float>, count: Int) {
            typealias V = SIMD16<Float>
            for i in stride(from: 0, to: count, by: 16) {
                let l = UnsafeRawPointer(left + i).loadUnaligned(as: V.self), r = UnsafeRawPointer(right + i).loadUnaligned(as: V.self)
                UnsafeMutableRawPointer(left + i).storeBytes(of: l + r, as: V.self)
            }
        }
    }
}
