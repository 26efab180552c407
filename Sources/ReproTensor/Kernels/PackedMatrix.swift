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
    @_spi(Kernels) public final class PackedMatrix: @unchecked Sendable {
        /// Depth (rows of B).
        @_spi(Kernels) public let k: Int
        /// Columns of B.
        @_spi(Kernels) public let n: Int
        /// Number of 16-column panels.
        @_spi(Kernels) public let panels: Int
        /// Packed elements: `panels · k · 16` floats, 64-byte aligned.
        let base: UnsafeMutablePointer<Float>

        /// Packs `b` (`k` rows × `n` columns), splitting the copy over `threads`.
        @_spi(Kernels) public init(_ b: Operand, k: Int, n: Int, threads: Int) {
            self.k = k
            self.n = n
            panels = (n + 15) / 16
            let count = max(panels * k * 16, 1)
            base = UnsafeMutableRawPointer.allocate(byteCount: count * 4, alignment: 64)
                .bindMemory(to: Float.self, capacity: count)
            let dst = base
            let parts = min(max(threads, 1), max(1, count / GEMM.packGrain))
            ThreadPool.current.run(participants: parts) { p in
                Self.pack(b, k: k, n: n, part: p, of: parts, into: dst)
            }
        }

        /// The bytes of the packed copy.
        var byteCount: Int { max(panels * k * 16, 1) * 4 }

        /// Packs share `part` of `parts` of `b` into `dst` (`⌈n/16⌉·16·k` floats):
        /// a range of rows for row-major `b`, else a range of panels. The shares
        /// together write every element once; a pure copy.
        static func pack(_ b: Operand, k: Int, n: Int, part: Int, of parts: Int, into dst: UnsafeMutablePointer<Float>) {
            let panels = (n + 15) / 16, rs = b.rowStride, cs = b.colStride
            let fullPanels = n / 16
            typealias V = SIMD8<Float>
            if cs == 1 && fullPanels > 0 {
                // Row-major B: read each row sequentially and deal 16-float pieces
                // to the panels; shares are ranges of rows.
                let rows = (part * k / parts)..<((part + 1) * k / parts)
                for p in rows {
                    let s = UnsafeRawPointer(b.base + p * rs)
                    let o = UnsafeMutableRawPointer(dst + p * 16)
                    for jp in 0..<fullPanels {
                        let d = o + jp * k * 64
                        d.storeBytes(of: s.loadUnaligned(fromByteOffset: jp * 64, as: V.self), as: V.self)
                        d.storeBytes(of: s.loadUnaligned(fromByteOffset: jp * 64 + 32, as: V.self), toByteOffset: 32, as: V.self)
                    }
                }
                if fullPanels < panels {
                    let d = dst + fullPanels * k * 16, cols = n - fullPanels * 16
                    for p in rows {
                        for l in 0..<16 { d[p * 16 + l] = l < cols ? b.base[p * rs + fullPanels * 16 + l] : 0 }
                    }
                }
                return
            }
            for jp in (part * panels / parts)..<((part + 1) * panels / parts) {
                let d = dst + jp * k * 16
                let cols = min(16, n - jp * 16)
                if cs == 1 {
                    for p in 0..<k {
                        let s = b.base + p * rs + jp * 16
                        for l in 0..<cols { d[p * 16 + l] = s[l] }
                        for l in cols..<16 { d[p * 16 + l] = 0 }
                    }
                } else if rs == 1 && cols == 16 {
                    // Column-major B (transposed weights): 16 column streams, each contiguous in p.
                    GEMM.packColumns16(b.base + jp * 16 * cs, cs: cs, k: k, into: d)
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
