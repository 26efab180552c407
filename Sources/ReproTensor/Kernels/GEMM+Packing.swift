/// Operand packing for ``GEMM``: pure copies into the micro-kernel's layouts.
extension GEMM {
    /// Packs row panels `panels` of `a` (`m` rows), depths `depth`, as 6-row panels:
    /// panel `i` at `dst + (i − panels.lowerBound)·6·depth.count`, depth `p`, row
    /// `r` at `+ 6p + r` (zero rows past `m`).
    static func packA(_ a: Operand, m: Int, depth: Range<Int>, panels: Range<Int>, into dst: UnsafeMutablePointer<Float>) {
        let rs = a.rowStride, cs = a.colStride, kw = depth.count, k0 = depth.lowerBound
        for ip in panels {
            let d = dst + (ip - panels.lowerBound) * 6 * kw
            if ip * 6 + 6 <= m && cs == 1 {
                // Six full rows: read six streams, write the panel sequentially.
                let s0 = a.base + ip * 6 * rs + k0, s1 = s0 + rs, s2 = s1 + rs
                let s3 = s2 + rs, s4 = s3 + rs, s5 = s4 + rs
                var o = d
                for kk in 0..<kw {
                    o[0] = s0[kk]; o[1] = s1[kk]; o[2] = s2[kk]
                    o[3] = s3[kk]; o[4] = s4[kk]; o[5] = s5[kk]
                    o += 6
                }
                continue
            }
            if ip * 6 + 6 <= m && rs == 1 {
                // Column-major A: six consecutive rows are contiguous per k.
                var o = d
                var s = a.base + ip * 6 + k0 * cs
                for _ in 0..<kw {
                    o[0] = s[0]; o[1] = s[1]; o[2] = s[2]; o[3] = s[3]; o[4] = s[4]; o[5] = s[5]
                    o += 6
                    s += cs
                }
                continue
            }
            for r in 0..<6 {
                let row = ip * 6 + r
                if row < m {
                    let s = a.base + row * rs + k0 * cs
                    for kk in 0..<kw { d[kk * 6 + r] = s[kk * cs] }
                } else {
                    for kk in 0..<kw { d[kk * 6 + r] = 0 }
                }
            }
        }
    }

    /// Lays out panels `panels` (of `width` rows or columns) over `depth` in depth
    /// blocks of ``kc``: the block at depth `pc` starts at
    /// `dst + (pc − depth.lowerBound)·width·layoutPanels` and holds panel `i` at
    /// `+ (i − origin)·width·kcb` (`kcb` = that block's depth), so the
    /// micro-panels one cache block uses are contiguous. `pack(block, at)` packs
    /// `panels` over the depths `block` with panel `panels.lowerBound` at `at`.
    @inline(__always)
    static func inKCBlocks(depth: Range<Int>, panels: Range<Int>, origin: Int, layoutPanels: Int, width: Int,
                           into dst: UnsafeMutablePointer<Float>,
                           _ pack: (Range<Int>, UnsafeMutablePointer<Float>) -> Void) {
        for pc in stride(from: depth.lowerBound, to: depth.upperBound, by: kc) {
            let kcb = min(kc, depth.upperBound - pc)
            let block = dst + (pc - depth.lowerBound) * width * layoutPanels
            pack(pc..<(pc + kcb), block + (panels.lowerBound - origin) * width * kcb)
        }
    }

    /// ``packA(_:m:depth:panels:into:)`` in the layout of ``inKCBlocks(depth:panels:origin:layoutPanels:width:into:_:)``.
    static func packABlocked(_ a: Operand, m: Int, depth: Range<Int>, panels: Range<Int>, origin: Int,
                             layoutPanels: Int, into dst: UnsafeMutablePointer<Float>) {
        inKCBlocks(depth: depth, panels: panels, origin: origin, layoutPanels: layoutPanels, width: 6, into: dst) { block, at in
            packA(a, m: m, depth: block, panels: panels, into: at)
        }
    }

    /// ``packB(_:n:depth:panels:into:)`` in the layout of ``inKCBlocks(depth:panels:origin:layoutPanels:width:into:_:)``.
    static func packBBlocked(_ b: Operand, n: Int, depth: Range<Int>, panels: Range<Int>, origin: Int,
                             layoutPanels: Int, into dst: UnsafeMutablePointer<Float>) {
        inKCBlocks(depth: depth, panels: panels, origin: origin, layoutPanels: layoutPanels, width: 16, into: dst) { block, at in
            packB(b, n: n, depth: block, panels: panels, into: at)
        }
    }

    /// Packs column panels `panels` of `b` (`n` columns), depths `depth`, as
    /// 16-column panels: panel `j` at `dst + (j − panels.lowerBound)·16·depth.count`,
    /// depth `p`, lane `l` at `+ 16p + l` (zero lanes past `n`).
    static func packB(_ b: Operand, n: Int, depth: Range<Int>, panels: Range<Int>, into dst: UnsafeMutablePointer<Float>) {
        let rs = b.rowStride, cs = b.colStride, kw = depth.count, k0 = depth.lowerBound
        typealias V = SIMD8<Float>
        guard !panels.isEmpty else { return }
        let full = panels.lowerBound..<max(panels.lowerBound, min(panels.upperBound, n / 16))
        if cs == 1 && !full.isEmpty {
            // Row-major B: read each row's run of panels sequentially, deal 16-float pieces.
            for p in 0..<kw {
                let s = UnsafeRawPointer(b.base + (k0 + p) * rs + full.lowerBound * 16)
                let o = UnsafeMutableRawPointer(dst + p * 16)
                for j in 0..<full.count {
                    let d = o + j * kw * 64
                    d.storeBytes(of: s.loadUnaligned(fromByteOffset: j * 64, as: V.self), as: V.self)
                    d.storeBytes(of: s.loadUnaligned(fromByteOffset: j * 64 + 32, as: V.self), toByteOffset: 32, as: V.self)
                }
            }
        }
        for jp in panels where !(cs == 1 && full.contains(jp)) {
            let d = dst + (jp - panels.lowerBound) * 16 * kw
            let cols = min(16, n - jp * 16)
            if cs == 1 {
                for p in 0..<kw {
                    let s = b.base + (k0 + p) * rs + jp * 16
                    for l in 0..<cols { d[p * 16 + l] = s[l] }
                    for l in cols..<16 { d[p * 16 + l] = 0 }
                }
            } else if rs == 1 && cols == 16 {
                // Column-major B (transposed weights): 16 column streams, each contiguous in p.
                packColumns16(b.base + jp * 16 * cs + k0, cs: cs, k: kw, into: d)
            } else {
                for l in 0..<16 {
                    if l < cols {
                        let s = b.base + (jp * 16 + l) * cs + k0 * rs
                        for p in 0..<kw { d[p * 16 + l] = s[p * rs] }
                    } else {
                        for p in 0..<kw { d[p * 16 + l] = 0 }
                    }
                }
            }
        }
    }

    /// Transposes 16 contiguous columns (`s + l·cs + p`) into one panel, 4 depths at a time.
    static func packColumns16(_ s: UnsafePointer<Float>, cs: Int, k: Int, into d: UnsafeMutablePointer<Float>) {
        var p = 0
        while p + 4 <= k {
            for l in 0..<16 {
                let q = s + l * cs + p
                d[p * 16 + l] = q[0]; d[p * 16 + 16 + l] = q[1]
                d[p * 16 + 32 + l] = q[2]; d[p * 16 + 48 + l] = q[3]
            }
            p += 4
        }
        while p < k {
            for l in 0..<16 { d[p * 16 + l] = s[l * cs + p] }
            p += 1
        }
    }
}
