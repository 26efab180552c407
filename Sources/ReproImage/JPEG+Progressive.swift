// Progressive JPEG (T.81 Annex G): spectral selection and successive
// approximation into per-component coefficient buffers, then one inverse DCT
// per block once the whole file has been read (as libjpeg does for
// multi-scan files before it outputs the first row).
//
// Not reproduced: libjpeg's inter-block smoothing, which it applies only
// while some AC coefficients are still unknown (a file that stops early or
// whose scans never send some coefficients); such files are rare and decode
// here with those coefficients as zero.

extension JPEGDecoder {
    @inline(__always)
    static func progressiveBlock(_ scan: JPEGScan, _ c: inout ScanComponent, _ blk: UnsafeMutablePointer<Int16>,
                                 _ zz: UnsafeMutablePointer<Int>, _ eobrun: inout Int,
                                 _ br: inout JPEGBitReader) throws(ImageError) {
        if scan.ss == 0 {
            if scan.ah == 0 {
                let t = try br.decode(c.dc!)
                guard t <= 16 else { throw .corrupt("JPEG: DC coefficient size \(t)") }
                let dc = Int(Int32(truncatingIfNeeded: c.pred &+ br.receiveExtend(t)))
                c.pred = dc
                blk[0] = Int16(truncatingIfNeeded: dc << scan.al)
            } else if br.bit() != 0 {
                blk[0] |= Int16(truncatingIfNeeded: 1 << scan.al)
            }
            return
        }
        if scan.ah == 0 {
            try acFirst(scan, c.ac!, blk, zz, &eobrun, &br)
        } else {
            try acRefine(scan, c.ac!, blk, zz, &eobrun, &br)
        }
    }

    /// First AC scan of a band: coefficients Ss...Se scaled by 2^Al, with end-of-band runs.
    @inline(__always)
    static func acFirst(_ scan: JPEGScan, _ table: HuffmanLUT, _ blk: UnsafeMutablePointer<Int16>,
                        _ zz: UnsafeMutablePointer<Int>, _ eobrun: inout Int, _ br: inout JPEGBitReader) throws(ImageError) {
        if eobrun > 0 { eobrun -= 1; return }
        var cur = JPEGBitCursor(br)
        let fast = UnsafePointer(table.fast), al = scan.al, se = scan.se
        var k = scan.ss
        while k <= se {
            cur.ensure32(&br)
            let e = cur.peekFast(fast)
            if e & Int(JPEGFastEntry.value) != 0 {
                cur.consume(e & 31)
                k += (e >> 5) & 15
                blk[zz[min(k, 79)]] = Int16(truncatingIfNeeded: (e >> 16) << al)
                k += 1
                continue
            }
            if e & Int(JPEGFastEntry.endOfBlock) != 0 {
                cur.consume(e & 31)
                let r = (e >> 5) & 15
                eobrun = (1 << r) - 1
                if r > 0 { eobrun += cur.bits(r) }  // r <= 14 bits, and at least 32 - 16 were buffered
                break
            }
            if e & Int(JPEGFastEntry.zeroRun) != 0 {
                cur.consume(e & 31)
                k += 16
                continue
            }
            cur.store(into: &br)
            let rs = try br.decode(table)
            let r = rs >> 4, sz = rs & 15
            if sz != 0 {
                k += r
                let v = br.receiveExtend(sz)
                blk[zz[min(k, 79)]] = Int16(truncatingIfNeeded: v << al)
            } else if r == 15 {
                k += 15
            } else {
                var run = 1 << r
                if r > 0 { run += br.bits(r) }
                eobrun = run - 1
                cur = JPEGBitCursor(br)
                break
            }
            cur = JPEGBitCursor(br)
            k += 1
        }
        cur.store(into: &br)
    }

    /// Refinement AC scan: one more bit of every already-nonzero coefficient,
    /// and newly nonzero coefficients of magnitude 2^Al.
    @inline(__always)
    static func acRefine(_ scan: JPEGScan, _ table: HuffmanLUT, _ blk: UnsafeMutablePointer<Int16>,
                         _ zz: UnsafeMutablePointer<Int>, _ eobrun: inout Int, _ br: inout JPEGBitReader) throws(ImageError) {
        let p1 = Int16(truncatingIfNeeded: 1 << scan.al)
        let m1 = Int16(truncatingIfNeeded: -1 << scan.al)
        let fast = UnsafePointer(table.fast), se = scan.se
        var cur = JPEGBitCursor(br)
        var k = scan.ss
        @inline(__always) func refine(_ i: Int, _ br: inout JPEGBitReader) {
            let v = blk[i]
            cur.ensure32(&br)
            if cur.bits(1) != 0 && (v & p1) == 0 {
                blk[i] = v >= 0 ? v &+ p1 : v &+ m1
            }
        }
        if eobrun == 0 {
            while k <= se {
                cur.ensure32(&br)
                let e = cur.peekFast(fast)
                var r: Int
                var value: Int16 = 0
                if e & Int(JPEGFastEntry.value) != 0 && (e >> 16 == 1 || e >> 16 == -1) {
                    // Size 1: the code and its sign bit.
                    cur.consume(e & 31)
                    r = (e >> 5) & 15
                    value = e >> 16 == 1 ? p1 : m1
                } else if e & Int(JPEGFastEntry.zeroRun) != 0 {
                    cur.consume(e & 31)
                    r = 15
                } else if e & Int(JPEGFastEntry.endOfBlock) != 0 {
                    cur.consume(e & 31)
                    r = (e >> 5) & 15
                    eobrun = 1 << r
                    if r > 0 { eobrun += cur.bits(r) }
                    break
                } else {
                    cur.store(into: &br)
                    let rs = try br.decode(table)
                    r = rs >> 4
                    let sz = rs & 15
                    if sz != 0 {
                        // sz must be 1 here; libjpeg warns and carries on (reading one bit), and so do we.
                        value = br.bit() != 0 ? p1 : m1
                    } else if r != 15 {
                        eobrun = 1 << r
                        if r > 0 { eobrun += br.bits(r) }
                        cur = JPEGBitCursor(br)
                        break
                    }
                    cur = JPEGBitCursor(br)
                }
                while k <= se {
                    let i = zz[k]
                    if blk[i] != 0 {
                        refine(i, &br)
                    } else {
                        if r == 0 { break }
                        r -= 1
                    }
                    k += 1
                }
                if value != 0 { blk[zz[min(k, 79)]] = value }
                k += 1
            }
        }
        if eobrun > 0 {
            while k <= se {
                let i = zz[k]
                if blk[i] != 0 { refine(i, &br) }
                k += 1
            }
            eobrun -= 1
        }
        cur.store(into: &br)
    }

    /// Inverse DCT of every block of every component after the last scan,
    /// one MCU row at a time into the components' rings, each converted into
    /// the output as soon as the next one (its context rows) is done.
    static func finishProgressive(_ s: JPEGState) -> [UInt8] {
        allocatePlanes(s, streaming: true)
        let range = UnsafeMutablePointer<UInt8>.allocate(capacity: 1024)
        let quant = UnsafeMutablePointer<Int32>.allocate(capacity: 64 * s.components.count)
        defer { range.deallocate(); quant.deallocate() }
        for i in 0..<1024 { range[i] = JPEGIDCT.rangeLimit[i] }
        for (ci, c) in s.components.enumerated() {
            // A component no scan named keeps zero coefficients (libjpeg
            // would use its table too); use its declared table if defined.
            let q = s.latchedQuant[ci] ?? s.quant[c.tq]
            for i in 0..<64 { quant[ci * 64 + i] = q[i] }
        }
        let count = s.width * s.height * (s.components.count == 1 ? 1 : 3)
        return [UInt8](unsafeUninitializedCapacity: count) { o, initialized in
            let writer = JPEGOutputWriter(s, into: o.baseAddress!)
            for uy in 0..<s.mcusY {
                for (ci, c) in s.components.enumerated() {
                    let qp = quant + ci * 64
                    for by in (uy * c.v)..<((uy + 1) * c.v) {
                        let dstRow = c.row(by * 8)
                        for bx in 0..<c.blocksW {
                            let b = c.coefs! + (by * c.blocksW + bx) * 64
                            let dst = dstRow + bx * 8
                            var ac: Int16 = 0
                            for i in 1..<64 { ac |= b[i] }
                            if ac == 0 {
                                JPEGIDCT.transformDC(b[0], quant: qp[0], out: dst, stride: c.stride, range: range)
                            } else {
                                JPEGIDCT.transformSIMD(b, quant: qp, out: dst, stride: c.stride)
                            }
                        }
                    }
                }
                writer.emit(upTo: 8 * s.vmax * uy)
            }
            writer.emit(upTo: s.height)
            initialized = count
        }
    }
}
