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
        for ci in scan.comps { s.components[ci].pred = 0 }
        s.eobrun = 0
        var br = JPEGBitReader(data, at: start)
        try runMCUs(s, scan, &br)
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
    static func runMCUs(_ s: JPEGState, _ scan: JPEGScan, _ br: inout JPEGBitReader) throws(ImageError) {
        let single = scan.comps.count == 1
        let c0 = s.components[scan.comps[0]]
        let unitsX = single ? (c0.width + 7) / 8 : s.mcusX
        let unitsY = single ? (c0.height + 7) / 8 : s.mcusY
        var restartsLeft = s.restartInterval
        var nextRST = 0
        var block = [Int16](repeating: 0, count: 64)
        var ws = [Int32](repeating: 0, count: 64)
        let range = JPEGIDCT.rangeLimit
        let quants = scan.comps.map { s.latchedQuant[$0]! }
        try block.withUnsafeMutableBufferPointer { (blk) throws(ImageError) in
            try ws.withUnsafeMutableBufferPointer { (wsp) throws(ImageError) in
                try range.withUnsafeBufferPointer { (rl) throws(ImageError) in
                    for uy in 0..<unitsY {
                        for ux in 0..<unitsX {
                            if s.restartInterval > 0 {
                                if restartsLeft == 0 {
                                    try br.restart(expected: nextRST)
                                    nextRST = (nextRST + 1) & 7
                                    restartsLeft = s.restartInterval
                                    for ci in scan.comps { s.components[ci].pred = 0 }
                                    s.eobrun = 0
                                }
                                restartsLeft -= 1
                            }
                            for (k, ci) in scan.comps.enumerated() {
                                let (bh, bv) = single ? (1, 1) : (s.components[ci].h, s.components[ci].v)
                                for by in 0..<bv {
                                    for bx in 0..<bh {
                                        let x = single ? ux : ux * bh + bx
                                        let y = single ? uy : uy * bv + by
                                        if s.progressive {
                                            try progressiveBlock(s, scan, ci, x, y, &br)
                                        } else {
                                            blk.update(repeating: 0)
                                            try baselineBlock(s, ci, blk.baseAddress!, &br)
                                            let c = s.components[ci]
                                            quants[k].withUnsafeBufferPointer { q in
                                                JPEGIDCT.transform(blk.baseAddress!, quant: q.baseAddress!,
                                                                   out: c.plane! + y * 8 * c.stride + x * 8, stride: c.stride,
                                                                   workspace: wsp.baseAddress!, range: rl.baseAddress!)
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        if br.overran { return }
                    }
                }
            }
        }
    }

    /// Decodes one sequential-mode block into natural-order coefficients.
    @inline(__always)
    static func baselineBlock(_ s: JPEGState, _ ci: Int, _ blk: UnsafeMutablePointer<Int16>,
                              _ br: inout JPEGBitReader) throws(ImageError) {
        let dcT = s.components[ci].dcTable, acT = s.components[ci].acTable
        let t = try br.decode(s.dcTables[dcT]!)
        guard t <= 16 else { throw .corrupt("JPEG: DC coefficient size \(t)") }
        let diff = br.receiveExtend(t)
        let dc = s.components[ci].pred &+ diff
        s.components[ci].pred = Int(Int32(truncatingIfNeeded: dc))
        blk[0] = Int16(truncatingIfNeeded: dc)
        var k = 1
        try naturalOrder.withUnsafeBufferPointer { (zz) throws(ImageError) in
            while k < 64 {
                let rs = try br.decode(s.acTables[acT]!)
                let r = rs >> 4, sz = rs & 15
                if sz != 0 {
                    k += r
                    blk[zz[k]] = Int16(truncatingIfNeeded: br.receiveExtend(sz))
                    k += 1
                } else {
                    if r != 15 { break }
                    k += 16
                }
            }
        }
    }
}
