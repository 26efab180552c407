/// The B operand of ``GEMM`` packed into 16-column panels: panel `j`, depth
/// `p`, lane `l` holds `B[p, 16j + l]` (zero past the last column).
///
/// Pack weights once and reuse them across calls:
///
/// ```swift
/// let w = GEMM.PackedMatrix(.init(wPtr, rowStride: 1, colStride: k), k: k, n: outChannels, threads: 1)
/// ```
extension GEMM {
    /// A packed copy of B (owns its memory).
    public final class PackedMatrix: @unchecked Sendable {
        /// Depth (rows of B).
        public let k: Int
        /// Columns of B.
        public let n: Int
        /// Number of 16-column panels.
        public let panels: Int
        /// Packed elements: `panels · k · 16` floats, 64-byte aligned.
        let base: UnsafeMutablePointer<Float>

        /// Packs `b` (`k` rows × `n` columns), splitting panels over `threads`.
        public init(_ b: Operand, k: Int, n: Int, threads: Int) {
            self.k = k
            self.n = n
            panels = (n + 15) / 16
            let count = max(panels * k * 16, 1)
            base = UnsafeMutableRawPointer.allocate(byteCount: count * 4, alignment: 64)
                .bindMemory(to: Float.self, capacity: count)
            let dst = base, rs = b.rowStride, cs = b.colStride
            let fullPanels = n / 16
            if cs == 1 && fullPanels > 0 {
                // Row-major B: read each row sequentially and deal 16-float pieces
                // to the panels (threads take ranges of rows; pure copies).
                let rowsPerChunk = 32
                ThreadPool.shared.forEachChunk((k + rowsPerChunk - 1) / rowsPerChunk, threads: threads) { chunk in
                    typealias V = SIMD8<Float>
                    for p in (chunk * rowsPerChunk)..<min((chunk + 1) * rowsPerChunk, k) {
                        let s = UnsafeRawPointer(b.base + p * rs)
                        let o = UnsafeMutableRawPointer(dst + p * 16)
                        for jp in 0..<fullPanels {
                            let d = o + jp * k * 64
                            d.storeBytes(of: s.loadUnaligned(fromByteOffset: jp * 64, as: V.self), as: V.self)
                            d.storeBytes(of: s.loadUnaligned(fromByteOffset: jp * 64 + 32, as: V.self), toByteOffset: 32, as: V.self)
                        }
                    }
                }
                if fullPanels < panels {
                    let d = dst + fullPanels * k * 16, cols = n - fullPanels * 16
                    for p in 0..<k {
                        for l in 0..<16 { d[p * 16 + l] = l < cols ? b.base[p * rs + fullPanels * 16 + l] : 0 }
                    }
                }
                return
            }
            ThreadPool.shared.forEachChunk(panels, threads: threads) { jp in
                let d = dst + jp * k * 16
                let cols = min(16, n - jp * 16)
                if cs == 1 && cols == 16 {
                    typealias V = SIMD8<Float>
                    var s = UnsafeRawPointer(b.base + jp * 16)
                    var o = UnsafeMutableRawPointer(d)
                    for _ in 0..<k {
                        o.storeBytes(of: s.loadUnaligned(as: V.self), as: V.self)
                        o.storeBytes(of: s.loadUnaligned(fromByteOffset: 32, as: V.self), toByteOffset: 32, as: V.self)
                        s += rs * 4
                        o += 64
                    }
                } else if cs == 1 {
                    for p in 0..<k {
                        let s = b.base + p * rs + jp * 16
                        for l in 0..<cols { d[p * 16 + l] = s[l] }
                        for l in cols..<16 { d[p * 16 + l] = 0 }
                    }
                } else {
                    for l in 0..<16 {
                        if l < cols {
                            let s = b.base + (jp * 16 + l) * cs
                            for p in 0..<k { d[p * 16 + l] = s[p * rs] }
                        } else {
                            for p in 0..<k { d[p * 16 + l] = 0 }
                        }
                    }
                }
            }
        }

        deinit { base.deallocate() }
    }
}
