// Scan decoding: MCU iteration, restart intervals and baseline blocks.

struct JPEGScan {
    var comps: [Int] = []
    var ss = 0, se = 63, ah = 0, al = 0
}

extension JPEGDecoder {
    /// Decodes one scan whose header is `header`, with entropy-coded data
    /// starting at `start`. Returns the position of the marker that follows.
    static func decodeScan(_ s: JPEGState, header: UnsafeBufferPointer<UInt8>, data: UnsafeBufferPointer<UInt8>,
                           at start: Int) throws(ImageError) -> Int {
        guard header.count >= 1 else { throw .truncated("JPEG scan header") }
        let ns = Int(header[0])
        guard ns >= 1, ns <= 4, header.count == 4 + 2 * ns else { throw .corrupt("JPEG scan header (\(ns) components)") }
        var scan = JPEGScan()
        for i in 0..<ns {
            let id = Int(header[1 + 2 * i])
            guard let ci = s.components.firstIndex(where: { $0.id == id }), !scan.comps.contains(ci) else {
                throw .corrupt("JPEG scan names unknown or repeated component \(id)")
            }
            scan.comps.append(ci)
            s.components[ci].dcTable = Int(header[2 + 2 * i] >> 4)
            s.components[ci].acTable = Int(header[2 + 2 * i] & 15)
            guard s.components[ci].dcTable < 4, s.components[ci].acTable < 4 else { throw .corrupt("JPEG Huffman table selector") }
            guard s.quantDefined[s.components[ci].tq] else {
                throw .corrupt("JPEG: quantisation table \(s.components[ci].tq) not defined")
            }
            if s.latchedQuant[ci] == nil { s.latchedQuant[ci] = s.quant[s.components[ci].tq] }
        }
        scan.ss = Int(header[1 + 2 * ns])
        scan.se = Int(header[2 + 2 * ns])
        scan.ah = Int(header[3 + 2 * ns] >> 4)
        scan.al = Int(header[3 + 2 * ns] & 15)
        if s.progressive {
            guard scan.ss <= scan.se, scan.se <= 63, scan.al <= 13, scan.ah <= 13 else {
                throw .corrupt("JPEG progressive scan parameters Ss=\(scan.ss) Se=\(scan.se) Ah=\(scan.ah) Al=\(scan.al)")
            }
            if scan.ss == 0 && scan.se != 0 { throw .corrupt("JPEG progressive scan mixes DC and AC") }
            if scan.ss > 0 && ns != 1 { throw .corrupt("JPEG progressive AC scan with \(ns) components") }
        }
        // Tables needed by this scan must exist.
        for ci in scan.comps {
            let c = s.components[ci]
            let needDC = !s.progressive || (scan.ss == 0 && scan.ah == 0)
            let needAC = !s.progressive || scan.ss > 0
            if needDC && s.dcTables[c.dcTable] == nil { throw .corrupt("JPEG: DC Huffman table \(c.dcTable) not defined") }
            if needAC && s.acTables[c.acTable] == nil { throw .corrupt("JPEG: AC Huffman table \(c.acTable) not defined") }
        }
        guard s.streamed == nil else {
            // libjpeg too: a frame whose first scan held every component has no
            // further scans (JERR_EOI_EXPECTED).
            throw .corrupt("JPEG: another scan after the complete interleaved baseline scan")
        }
        // A baseline file whose first scan holds every component is converted
        // while it is decoded, one MCU row behind, through rings of three MCU
        // rows per component: no whole-image planes.
        let streaming = !s.progressive && ns == s.components.count && s.components.allSatisfy { $0.plane == nil }
        // Progressive scans fill coefficient buffers; their samples come at the end.
        if !s.progressive { allocatePlanes(s, streaming: streaming) }
        // Flat per-scan state: no reference counting in the inner loop.
        let comps = UnsafeMutableBufferPointer<ScanComponent>.allocate(capacity: ns)
        var luts: [HuffmanLUT] = []
        defer {
            for i in 0..<ns { comps[i].quant.deallocate() }
            comps.deallocate()
            for l in luts { l.free() }
        }
        for (k, ci) in scan.comps.enumerated() {
            let c = s.components[ci]
            let q = UnsafeMutablePointer<Int32>.allocate(capacity: 64)
            for i in 0..<64 { q[i] = s.latchedQuant[ci]![i] }
            var dc: HuffmanLUT?, ac: HuffmanLUT?
            if let t = s.dcTables[c.dcTable] { dc = HuffmanLUT(t); luts.append(dc!) }
            if let t = s.acTables[c.acTable] { ac = HuffmanLUT(t); luts.append(ac!) }
            comps.baseAddress!.advanced(by: k).initialize(to: ScanComponent(
                plane: c.plane, planeRows: c.planeRows, rowBase: 0, stride: c.stride, coefs: c.coefs,
                blocksW: c.blocksW, h: c.h, v: c.v, dc: dc, ac: ac, quant: q, pred: 0))
        }
        var br = JPEGBitReader(data, at: start)
        let c0 = s.components[scan.comps[0]]
        if streaming {
            let count = s.width * s.height * (s.components.count == 1 ? 1 : 3)
            var failure: ImageError?
            let pixels = [UInt8](unsafeUninitializedCapacity: count) { o, initialized in
                let writer = JPEGOutputWriter(s, into: o.baseAddress!)
                do throws(ImageError) {
                    try runMCUs(s, scan, comps, firstWidth: c0.width, firstHeight: c0.height, &br, writer: writer)
                } catch {
                    failure = error
                }
                if failure == nil && !br.overran {
                    writer.emit(upTo: s.height)
                    initialized = count
                } else {
                    initialized = 0
                }
            }
            if let failure { throw failure }
            if !br.overran { s.streamed = (pixels, pillowMode(s)) }
        } else {
            try runMCUs(s, scan, comps, firstWidth: c0.width, firstHeight: c0.height, &br, writer: nil)
        }
        if br.overran { throw br.pos >= data.count ? .truncated("JPEG scan data") : .corrupt("JPEG scan data ends early (hit a marker)") }
        // Position of the next marker.
        var p = br.pos
        while p < data.count && !(data[p] == 0xFF && p + 1 < data.count && data[p + 1] != 0 && data[p + 1] != 0xFF) {
            p += 1
        }
        return p
    }

    /// Walks the MCUs of a scan (interleaved, or block by block when one
    /// component), handling restart markers.
    static func runMCUs(_ s: JPEGState, _ scan: JPEGScan, _ comps: UnsafeMutableBufferPointer<ScanComponent>,
                        firstWidth: Int, firstHeight: Int, _ reader: inout JPEGBitReader,
                        writer: JPEGOutputWriter?) throws(ImageError) {
        // A local copy that no out-of-line call sees, so its fields can live in registers.
        var br = reader
        defer { reader = br }
        let single = comps.count == 1
        let unitsX = single ? (firstWidth + 7) / 8 : s.mcusX
        let unitsY = single ? (firstHeight + 7) / 8 : s.mcusY
        let interval = s.restartInterval
        var restartsLeft = interval
        var nextRST = 0
        var eobrun = 0
        let progressive = s.progressive
        let blk = UnsafeMutablePointer<Int16>.allocate(capacity: 64)
        let ws = UnsafeMutablePointer<Int32>.allocate(capacity: 64)
        let zz = UnsafeMutablePointer<Int>.allocate(capacity: 80)
        let range = UnsafeMutablePointer<UInt8>.allocate(capacity: 1024)
        defer { blk.deallocate(); ws.deallocate(); zz.deallocate(); range.deallocate() }
        for i in 0..<80 { zz[i] = naturalOrder[i] }
        for i in 0..<1024 { range[i] = JPEGIDCT.rangeLimit[i] }
        // Output rows per row of units (MCUs, or blocks of a one-component scan).
        let unitRows = single ? 8 : 8 * s.vmax
        for uy in 0..<unitsY {
            for k in 0..<comps.count {
                let bv = single ? 1 : comps[k].v
                if !progressive { comps[k].rowBase = (uy * bv * 8) % comps[k].planeRows }
            }
            for ux in 0..<unitsX {
                if interval > 0 {
                    if restartsLeft == 0 {
                        var r = br
                        try r.restart(expected: nextRST)
                        br = r
                        nextRST = (nextRST + 1) & 7
                        restartsLeft = interval
                        for k in 0..<comps.count { comps[k].pred = 0 }
                        eobrun = 0
                    }
                    restartsLeft -= 1
                }
                for k in 0..<comps.count {
                    let bh = single ? 1 : comps[k].h, bv = single ? 1 : comps[k].v
                    for by in 0..<bv {
                        for bx in 0..<bh {
                            let x = ux * bh + bx, y = uy * bv + by
                            if progressive {
                                let b = comps[k].coefs! + (y * comps[k].blocksW + x) * 64
                                try progressiveBlock(scan, &comps[k], b, zz, &eobrun, &br)
                            } else {
                                blk.update(repeating: 0, count: 64)
                                let hasAC = try baselineBlock(&comps[k], blk, zz, &br)
                                let c = comps[k]
                                let dst = c.plane! + (c.rowBase + by * 8) * c.stride + x * 8
                                if hasAC {
                                    JPEGIDCT.transformSIMD(blk, quant: c.quant, out: dst, stride: c.stride)
                                } else {
                                    JPEGIDCT.transformDC(blk[0], quant: c.quant[0], out: dst, stride: c.stride, range: range)
                                }
                            }
                        }
                    }
                }
            }
            if br.overran { return }
            // Rows of earlier unit rows have their context rows (for fancy upsampling) now.
            writer?.emit(upTo: unitRows * uy)
        }
    }

    /// Decodes one sequential-mode block into natural-order coefficients
    /// (`blk` must be zero). Returns whether any AC code was read (when not,
    /// the block is DC only; a block whose AC codes were all zero runs still
    /// transforms exactly as a DC-only one).
    ///
    /// The bit buffer lives in locals for the whole block (written back at the
    /// end and around the rare out-of-line calls), so the loop runs in registers.
    static func baselineBlock(_ c: inout ScanComponent, _ blk: UnsafeMutablePointer<Int16>, _ zz: UnsafeMutablePointer<Int>,
                              _ br: inout JPEGBitReader) throws(ImageError) -> Bool {
        var cur = JPEGBitCursor(br)
        let valueFlag = Int(JPEGFastEntry.value), eobFlag = Int(JPEGFastEntry.endOfBlock)
        let zrlFlag = Int(JPEGFastEntry.zeroRun)
        cur.ensure32(&br)
        let dcTable = c.dc!
        let d = cur.peekFast(dcTable.fast)
        var diff: Int
        if d & valueFlag != 0 {
            cur.consume(d & 31)
            diff = d >> 16
        } else {
            cur.store(into: &br)
            let t = try br.decode(dcTable)
            guard t <= 16 else { throw .corrupt("JPEG: DC coefficient size \(t)") }
            diff = br.receiveExtend(t)
            cur = JPEGBitCursor(br)
        }
        let dc = c.pred &+ diff
        c.pred = Int(Int32(truncatingIfNeeded: dc))
        blk[0] = Int16(truncatingIfNeeded: dc)
        let ac = c.ac!, fast = UnsafePointer(ac.fast)
        var k = 1
        while k < 64 {
            cur.ensure32(&br)
            let e = cur.peekFast(fast)
            if e & valueFlag != 0 {
                cur.consume(e & 31)
                k &+= (e >> 5) & 15
                blk[zz[k]] = Int16(truncatingIfNeeded: e >> 16)
                k &+= 1
                continue
            }
            if e & eobFlag != 0 {
                cur.consume(e & 31)
                break
            }
            if e & zrlFlag != 0 {
                cur.consume(e & 31)
                k &+= 16
                continue
            }
            // A long code, or extra bits beyond the table: the general path.
            cur.store(into: &br)
            let rs = try br.decode(ac)
            let r = rs >> 4, sz = rs & 15
            if sz != 0 {
                k &+= r
                blk[zz[k]] = Int16(truncatingIfNeeded: br.receiveExtend(sz))
                k &+= 1
            } else if r == 15 {
                k &+= 16
            } else {
                cur = JPEGBitCursor(br)
                break
            }
            cur = JPEGBitCursor(br)
        }
        cur.store(into: &br)
        return k > 1
    }
}
