/// The blocked loops of ``GEMM``: the units of C the threads claim, operand packing and
/// the cache blocking around the micro-kernel.
///
/// Neither the block sizes, nor the split, nor which operand is packed whole
/// change a bit: every output is one FMA chain over `p = 0..<k` in order,
/// continued across K blocks through C itself.
extension GEMM {
    /// How many units the threads claim along a side of `panels` panels, cut in cache blocks of
    /// `blockPanels`: for one thread one unit per block; for several at least three units per
    /// thread where the panels allow, a multiple of `parts` (so that threads of equal speed
    /// finish together) unless every unit is a single panel, and each unit at most one block.
    /// Unit `v` is the panels `v·panels/units ..< (v+1)·panels/units`.
    static func claimedUnits(panels: Int, blockPanels: Int, parts: Int) -> Int {
        if parts <= 1 { return max(1, (panels + blockPanels - 1) / blockPanels) }
        let perPart = max(3, (panels + parts * blockPanels - 1) / (parts * blockPanels))
        return max(1, min(panels, parts * perPart))
    }

    /// The B operand as given to ``Driver``.
    enum BSource {
        /// Row/column-strided B, packed by the driver.
        case unpacked(Operand)
        /// B already in 16-column panels over the whole depth (``PackedMatrix``).
        case packed(UnsafePointer<Float>)
    }

    /// One multiply: decides the split and which operand is shared, then runs the threads.
    struct Driver: @unchecked Sendable {
        let m: Int, n: Int, k: Int
        let a: Operand
        let b: BSource
        let c: UnsafeMutablePointer<Float>
        let ldc: Int
        let epilogue: Epilogue
        let epilogueAxis: EpilogueAxis
        let threads: Int
        let split: Split
        /// Floats of a shared packed operand walked per pass (tests shrink it).
        let sharedBlock: Int
        /// Largest whole operand (floats) each thread packs a copy of for itself (tests set 0 to
        /// force one copy packed by the team).
        let privateCopyLimit: Int
        /// Depth of the panels of a prepacked B (its full K; larger than `k`
        /// when this multiply covers one segment of it).
        var packedDepth: Int
        /// Scratch memory (base, bytes) to use instead of the pool's workspace
        /// (segmented products give each thread its own); too small: ignored.
        var scratch: (base: UnsafeMutableRawPointer, bytes: Int)?
        /// When set, A is this im2col view (``GEMM/convolve(_:paddedInput:packedWeights:c:ldc:epilogue:threads:)``), not `a`.
        var im2col: Im2col?
        /// When set, added to each finished output, then ReLU (`GEMM+Residual.swift`).
        var residual: Operand? = nil

        init(m: Int, n: Int, k: Int, a: Operand, b: BSource, c: UnsafeMutablePointer<Float>, ldc: Int,
             epilogue: Epilogue, epilogueAxis: EpilogueAxis, threads: Int, split: Split,
             sharedBlock: Int = GEMM.sharedBlockFloats, privateCopyLimit: Int = GEMM.privateCopyFloats) {
            self.m = m; self.n = n; self.k = k; self.a = a; self.b = b; self.c = c; self.ldc = ldc
            self.epilogue = epilogue; self.epilogueAxis = epilogueAxis; self.threads = max(1, threads); self.split = split
            self.sharedBlock = sharedBlock
            self.privateCopyLimit = privateCopyLimit
            self.packedDepth = k
            self.scratch = nil
            self.im2col = nil
        }

        /// Packs A's panels `panels` over `depth` in KC depth blocks (see ``GEMM/packABlocked(_:m:depth:panels:origin:layoutPanels:into:)``).
        func packA(depth: Range<Int>, panels: Range<Int>, origin: Int, layoutPanels: Int, into dst: UnsafeMutablePointer<Float>) {
            if let im2col {
                im2col.packBlocked(depth: depth, panels: panels, origin: origin, layoutPanels: layoutPanels, into: dst)
            } else {
                GEMM.packABlocked(a, m: m, depth: depth, panels: panels, origin: origin, layoutPanels: layoutPanels, into: dst)
            }
        }

        func run() {
            let byRow = epilogueAxis == .rows
            if k == 0 {
                for i in 0..<m { for j in 0..<n { c[i * ldc + j] = epilogue.apply(0, channel: byRow ? i : j) } }
                if let residual { GEMM.addResidualReLU(residual, c: c, ldc: ldc, rows: 0..<m, columns: 0..<n) }
                return
            }
            let mPanels = (m + mr - 1) / mr, nPanels = (n + nr - 1) / nr
            let splitM: Bool
            switch split {
            case .automatic: splitM = GEMM.rowsBalanceBetter(m: m, n: n, threads: threads)
            case .rows: splitM = true
            case .columns: splitM = false
            }
            let parts = min(threads, splitM ? mPanels : nPanels)
            // The operand along the split is private to each thread (packed in
            // pieces just before use); the other one is shared, packed whole.
            // A prepacked B is always the shared one. When a thread's share of
            // the split side fits one cache block, the other operand is packed
            // just in time too (by each thread, once): packing it whole would
            // cost a write and a re-read of the whole operand for nothing.
            var streamA = splitM
            if case .packed = b { streamA = true }
            let perThread = ((splitM ? mPanels : nPanels) + parts - 1) / parts
            let both = !isPacked && (streamA == splitM) && perThread <= (splitM ? GEMM.mc / 6 : GEMM.nc / 16)
            let kw = min(k, GEMM.ks)
            let shared = both ? 0 : streamA ? (isPacked ? 0 : nPanels * 16 * k) : mPanels * 6 * k
            let aPiece = GEMM.mc * kw, bPieceFloats = both || !streamA ? GEMM.nc * kw : 0
            let piece = aPiece + bPieceFloats + GEMM.mc * GEMM.nc
            // A small whole operand is packed by every thread into a copy of its own, at the start
            // of its first unit, rather than once by all of them before the units: no team-wide
            // wait between packing and multiplying, and no thread reads (or, on the next call,
            // overwrites) cache lines the other core has just written.
            let copies = shared > 0 && parts > 1 && shared <= privateCopyLimit ? parts : 1
            let pe = PaddedEpilogue(epilogue, channels: byRow ? m : n)
            defer { pe.deallocate() }
            let body = { (raw: UnsafeMutableRawPointer) in
                let ws = raw.bindMemory(to: Float.self, capacity: copies * shared + parts * piece)
                // Packs the whole shared operand into `dst` over the participants `packers`.
                func packShared(participant p: Int, of packers: Int, into dst: UnsafeMutablePointer<Float>) {
                    if streamA, case .unpacked(let bo) = b {
                        let lo = p * nPanels / packers, hi = (p + 1) * nPanels / packers
                        GEMM.packB(bo, n: n, depth: 0..<k, panels: lo..<hi, into: dst + lo * 16 * k)
                    } else if !streamA {
                        let lo = p * mPanels / packers, hi = (p + 1) * mPanels / packers
                        packA(depth: 0..<k, panels: lo..<hi, origin: 0, layoutPanels: mPanels, into: dst)
                    }
                }
                if shared > 0 && copies == 1 {
                    let packers = min(threads, max(1, shared / GEMM.packGrain))
                    ThreadPool.current.run(participants: packers) { p in packShared(participant: p, of: packers, into: ws) }
                }
                let sharedBase: UnsafePointer<Float>? = shared > 0 ? UnsafePointer(ws) : nil
                let tiles = Tiles(m: m, n: n, k: k, c: c, ldc: ldc, epilogue: pe, byRow: byRow, residual: residual)
                let work = Work(m: m, n: n, k: k, splitM: splitM, parts: parts, both: both,
                                sharedOther: streamA ? splitM && (sharedBase != nil || isPacked) : sharedBase != nil,
                                sharedBlock: sharedBlock)
                ThreadPool.current.forEachClaimedChunk(work.units, threads: parts) { u, p in
                    let (mr, nr) = work.ranges(unit: u)
                    let aBuf = ws + copies * shared + p * piece, bBuf = aBuf + aPiece, cBuf = bBuf + bPieceFloats
                    var whole = sharedBase
                    if copies > 1 {
                        // Participant p's first unit is unit p (forEachClaimedChunk).
                        let own = ws + p * shared
                        if u == p { packShared(participant: 0, of: 1, into: own) }
                        whole = UnsafePointer(own)
                    }
                    if streamA {
                        var bPacked = whole
                        if case .packed(let pb) = b { bPacked = pb }
                        streamingA(mPanels: mr, nPanels: nr, packedB: bPacked, aBuffer: aBuf, bBuffer: bBuf, cBuffer: cBuf, tiles: tiles)
                    } else {
                        streamingB(mPanels: mr, nPanels: nr, packedA: whole, aBuffer: aBuf, bBuffer: bBuf, cBuffer: cBuf, tiles: tiles)
                    }
                }
            }
            let bytes = (copies * shared + parts * piece) * 4
            if let scratch, scratch.bytes >= bytes {
                body(scratch.base)
            } else {
                ThreadPool.current.withWorkspace(bytes: bytes, body)
            }
        }

        private var mPanelCount: Int { (m + GEMM.mr - 1) / GEMM.mr }

        /// The units of work the threads claim (``ThreadPool/forEachClaimedChunk(_:threads:_:)``):
        /// runs of panels along the split side of C, inside the super-blocks of the shared operand
        /// (the super-block outermost, so the threads walk the same one at the same time). With
        /// several threads there are at least three units per thread, a multiple of the thread
        /// count, each at most one cache block (MC rows or NC columns), so a thread that falls
        /// behind is made up for by the others; in the mode where each thread also packs the other
        /// operand itself, the units are the even shares (one each).
        /// One participant alone walks the units in order, super-block by super-block, each unit at
        /// most a cache block. Units are a rule on the shape and the thread count; they never change a bit.
        struct Work {
            let splitM: Bool
            /// Panels along the split side, and the units they are cut into (as equal as whole panels allow).
            let splitPanels: Int, unitsPerSuperBlock: Int
            /// Panels along the other side, and per super-block of the shared operand.
            let otherPanels: Int, superPanels: Int

            /// `sharedOther`: whether an operand shared by the threads lies along the other side of C
            /// (B for a row split, A for a column split), walked in super-blocks of `sharedBlock` floats.
            init(m: Int, n: Int, k: Int, splitM: Bool, parts: Int, both: Bool, sharedOther: Bool, sharedBlock: Int) {
                let mPanels = (m + GEMM.mr - 1) / GEMM.mr, nPanels = (n + GEMM.nr - 1) / GEMM.nr
                self.splitM = splitM
                splitPanels = splitM ? mPanels : nPanels
                otherPanels = splitM ? nPanels : mPanels
                let block = splitM ? GEMM.mc / GEMM.mr : GEMM.nc / GEMM.nr
                if both {
                    unitsPerSuperBlock = parts
                } else {
                    unitsPerSuperBlock = GEMM.claimedUnits(panels: splitPanels, blockPanels: block, parts: parts)
                }
                if sharedOther {
                    // Super-blocks of the shared operand: a whole number of cache blocks that fit
                    // `sharedBlock` floats (they stay in L3 while every unit inside uses them; the
                    // other operand's pieces are packed once per super-block).
                    let otherBlock = splitM ? GEMM.nc / GEMM.nr : GEMM.mc / GEMM.mr
                    let panelFloats = (splitM ? GEMM.nr : GEMM.mr) * k
                    superPanels = max(otherBlock, sharedBlock / panelFloats / otherBlock * otherBlock)
                } else {
                    superPanels = max(1, otherPanels)
                }
            }

            var units: Int { unitsPerSuperBlock * ((otherPanels + superPanels - 1) / superPanels) }

            /// The row and column panels of unit `u`.
            func ranges(unit u: Int) -> (m: Range<Int>, n: Range<Int>) {
                let s = u / unitsPerSuperBlock, v = u % unitsPerSuperBlock
                let split = (v * splitPanels / unitsPerSuperBlock)..<((v + 1) * splitPanels / unitsPerSuperBlock)
                let other = (s * superPanels)..<min((s + 1) * superPanels, otherPanels)
                return splitM ? (split, other) : (other, split)
            }
        }

        private var isPacked: Bool { if case .packed = b { return true } else { return false } }

        /// One unit (``Work``) of C, `mPanels × nPanels`, with A packed per (MC rows × KS depth)
        /// piece; B shared (panels over the whole depth; the unit lies in one super-block of it), or —
        /// when `packedB` is `nil` — packed per (NC × KS) piece too. Pieces are laid out in KC depth
        /// blocks (``GEMM/packABlocked(_:m:depth:panels:origin:layoutPanels:into:)``); `cBuffer`
        /// (MC × NC floats) carries a block of C between the KC blocks of a piece.
        func streamingA(mPanels: Range<Int>, nPanels: Range<Int>, packedB: UnsafePointer<Float>?,
                        aBuffer: UnsafeMutablePointer<Float>, bBuffer: UnsafeMutablePointer<Float>,
                        cBuffer: UnsafeMutablePointer<Float>, tiles: Tiles) {
            let mcp = GEMM.mc / 6, ncp = GEMM.nc / 16
            for ic in stride(from: mPanels.lowerBound, to: mPanels.upperBound, by: mcp) {
                let icEnd = min(ic + mcp, mPanels.upperBound)
                for k0 in stride(from: 0, to: k, by: GEMM.ks) {
                    let kw = min(GEMM.ks, k - k0)
                    let kEnd = k0 + kw, mp = icEnd - ic
                    packA(depth: k0..<kEnd, panels: ic..<icEnd, origin: ic, layoutPanels: mp, into: aBuffer)
                    let aPiece = UnsafePointer(aBuffer)
                    for jc in stride(from: nPanels.lowerBound, to: nPanels.upperBound, by: ncp) {
                        let jcEnd = min(jc + ncp, nPanels.upperBound), np = jcEnd - jc
                        let bPiece = UnsafePointer(bBuffer)
                        if packedB == nil, case .unpacked(let bo) = b {
                            GEMM.packBBlocked(bo, n: n, depth: k0..<kEnd, panels: jc..<jcEnd, origin: jc, layoutPanels: np, into: bBuffer)
                        }
                        tiles.blocks(panelsM: ic..<icEnd, panelsN: jc..<jcEnd, depth: k0..<kEnd, buffer: cBuffer) { ip, pc in
                            aPiece + (pc - k0) * 6 * mp + (ip - ic) * 6 * min(GEMM.kc, kEnd - pc)
                        } bPanel: { jp, pc in
                            if let packedB { return packedB + jp * 16 * packedDepth + pc * 16 }
                            return bPiece + (pc - k0) * 16 * np + (jp - jc) * 16 * min(GEMM.kc, kEnd - pc)
                        }
                    }
                }
            }
        }

        /// One unit (``Work``) of C with B packed per (NC columns × KS depth) piece; A shared (packed
        /// whole, in KC depth blocks of all its panels; the unit lies in one super-block of it), or —
        /// when `packedA` is `nil` — packed per (MC × KS) piece too. `cBuffer` as in ``streamingA``.
        func streamingB(mPanels: Range<Int>, nPanels: Range<Int>, packedA: UnsafePointer<Float>?,
                        aBuffer: UnsafeMutablePointer<Float>, bBuffer: UnsafeMutablePointer<Float>,
                        cBuffer: UnsafeMutablePointer<Float>, tiles: Tiles) {
            guard case .unpacked(let bo) = b else { return }
            let mcp = GEMM.mc / 6, ncp = GEMM.nc / 16
            let allPanels = mPanelCount
            for jc in stride(from: nPanels.lowerBound, to: nPanels.upperBound, by: ncp) {
                let jcEnd = min(jc + ncp, nPanels.upperBound), np = jcEnd - jc
                for k0 in stride(from: 0, to: k, by: GEMM.ks) {
                    let kw = min(GEMM.ks, k - k0), kEnd = k0 + kw
                    GEMM.packBBlocked(bo, n: n, depth: k0..<kEnd, panels: jc..<jcEnd, origin: jc, layoutPanels: np, into: bBuffer)
                    let bPiece = UnsafePointer(bBuffer)
                    for ic in stride(from: mPanels.lowerBound, to: mPanels.upperBound, by: mcp) {
                        let icEnd = min(ic + mcp, mPanels.upperBound), mp = icEnd - ic
                        let aPiece = UnsafePointer(aBuffer)
                        if packedA == nil {
                            packA(depth: k0..<kEnd, panels: ic..<icEnd, origin: ic, layoutPanels: mp, into: aBuffer)
                        }
                        tiles.blocks(panelsM: ic..<icEnd, panelsN: jc..<jcEnd, depth: k0..<kEnd, buffer: cBuffer) { ip, pc in
                            if let packedA { return packedA + pc * 6 * allPanels + ip * 6 * min(GEMM.kc, k - pc) }
                            return aPiece + (pc - k0) * 6 * mp + (ip - ic) * 6 * min(GEMM.kc, kEnd - pc)
                        } bPanel: { jp, pc in
                            bPiece + (pc - k0) * 16 * np + (jp - jc) * 16 * min(GEMM.kc, kEnd - pc)
                        }
                    }
                }
            }
        }
    }

    /// Whether threads should split the rows of C (else its columns): the
    /// longer side of C, unless splitting the other one balances the 6 × 16
    /// tiles more than 5 % better. Splitting the longer side lets each thread
    /// pack its own pieces of the larger operand while they are in cache.
    static func rowsBalanceBetter(m: Int, n: Int, threads t: Int) -> Bool {
        let mPanels = (m + mr - 1) / mr, nPanels = (n + nr - 1) / nr
        let byRows = (mPanels + t - 1) / t * nPanels
        let byColumns = (nPanels + t - 1) / t * mPanels
        if m >= n { return !(byColumns * 20 < byRows * 19) }
        return byRows * 20 < byColumns * 19
    }

    /// The C side of one multiply: walks blocks of tiles and calls the micro-kernel.
    struct Tiles {
        let m: Int, n: Int, k: Int
        let c: UnsafeMutablePointer<Float>
        let ldc: Int
        let epilogue: PaddedEpilogue
        let byRow: Bool
        /// Added to each block of C once its outputs are finished, then ReLU.
        let residual: Operand?
        /// Whether the tiles run on the AVX-512 micro-kernels (``Runtime/kernelISA``, read by the caller).
        var wide: Bool = Runtime.usesAVX512

        /// For each (MC × NC) block of C within the panel ranges, every KC block
        /// of `depth` in order; `aPanel(ip, pc)` / `bPanel(jp, pc)` locate the
        /// packed micro-panels at depth `pc`. Between the KC blocks of `depth` the
        /// block of C lives in `buffer` (MC × NC floats, tile after tile, contiguous):
        /// C itself is read at the first and written at the last KC block only, so
        /// a leading dimension that is a large power of two cannot make the block
        /// fight over a few cache sets. A stored and reloaded `Float` is exact:
        /// the bits are those of one FMA chain per output.
        @inline(__always)
        func blocks(panelsM: Range<Int>, panelsN: Range<Int>, depth: Range<Int>, buffer: UnsafeMutablePointer<Float>,
                    aPanel: (Int, Int) -> UnsafePointer<Float>, bPanel: (Int, Int) -> UnsafePointer<Float>) {
            var tmp = (SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>())
            let mcp = GEMM.mc / 6, ncp = GEMM.nc / 16
            withUnsafeMutableBytes(of: &tmp) { raw in
                let t = raw.baseAddress!.assumingMemoryBound(to: Float.self)
                for ic in stride(from: panelsM.lowerBound, to: panelsM.upperBound, by: mcp) {
                    let icEnd = min(ic + mcp, panelsM.upperBound)
                    for jc in stride(from: panelsN.lowerBound, to: panelsN.upperBound, by: ncp) {
                        let jcEnd = min(jc + ncp, panelsN.upperBound)
                        for pc in stride(from: depth.lowerBound, to: depth.upperBound, by: GEMM.kc) {
                            let kcb = min(GEMM.kc, depth.upperBound - pc)
                            let fromC = pc == depth.lowerBound, toC = pc + kcb == depth.upperBound
                            let first = pc == 0, last = pc + kcb == k
                            for jp in jc..<jcEnd {
                                let bp = bPanel(jp, pc)
                                let cols = min(16, n - jp * 16)
                                var ip = ic
                                while ip < icEnd {
                                    let rows = min(6, m - ip * 6)
                                    let cp = c + ip * 6 * ldc + jp * 16
                                    let bt = buffer + ((jp - jc) * mcp + (ip - ic)) * 96
                                    let col = byRow ? -1 - ip * 6 : jp * 16
                                    let e = last ? epilogue : nil
                                    defer { ip += 1 }
                                    if wide && cols == 16 && ip + 1 < icEnd && ip * 6 + 12 <= m {
                                        // Two full row panels in one 12 × 16 AVX-512 tile: the second
                                        // panel's rows follow the first's in C and in the buffer.
                                        let src: UnsafePointer<Float>? = first ? nil : fromC ? UnsafePointer(cp) : UnsafePointer(bt)
                                        let next = ip + 1 == icEnd - 1 && jp + 1 < jcEnd ? bPanel(jp + 1, pc) : nil
                                        let a0 = aPanel(ip, pc)
                                        GEMM.tileAVX512(rows: 12, kcb, a0, panelStride: aPanel(ip + 1, pc) - a0, bp,
                                                        src, fromC ? ldc : 16, toC ? cp : bt, toC ? ldc : 16, e, col, next)
                                        ip += 1
                                    } else if rows == 6 && cols == 16 {
                                        let src: UnsafePointer<Float>? = first ? nil : fromC ? UnsafePointer(cp) : UnsafePointer(bt)
                                        // The last row panel's call asks for the next B micro-panel.
                                        let next = ip == icEnd - 1 && jp + 1 < jcEnd ? bPanel(jp + 1, pc) : nil
                                        GEMM.tile6x16(wide: wide, kcb, aPanel(ip, pc), bp, src, fromC ? ldc : 16, toC ? cp : bt,
                                                      toC ? ldc : 16, e, col, next)
                                    } else {
                                        // Partial tile: the buffer tile holds the whole 6 × 16; C only its valid part.
                                        if !first && fromC {
                                            for r in 0..<rows { for l in 0..<cols { t[r * 16 + l] = cp[r * ldc + l] } }
                                        }
                                        let src: UnsafePointer<Float>? = first ? nil : fromC ? UnsafePointer(t) : UnsafePointer(bt)
                                        let dst = toC ? t : bt
                                        GEMM.tile6x16(wide: wide, kcb, aPanel(ip, pc), bp, src, 16, dst, 16, e, col)
                                        if toC {
                                            for r in 0..<rows { for l in 0..<cols { cp[r * ldc + l] = t[r * 16 + l] } }
                                        }
                                    }
                                }
                            }
                        }
                        if let residual, depth.upperBound == k {
                            GEMM.addResidualReLU(residual, c: c, ldc: ldc, rows: (ic * 6)..<min(icEnd * 6, m),
                                                 columns: (jc * 16)..<min(jcEnd * 16, n))
                        }
                    }
                }
            }
        }
    }
}
