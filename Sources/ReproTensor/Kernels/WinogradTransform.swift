import _ReproKernelsAVX512

/// The transforms of Winograd's minimal filtering algorithm F(m×m, 3×3)
/// (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016):
/// `Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A` for a 3×3 filter `g`, an α×α input tile
/// `d` (α = m + 2) and an m×m output tile `Y`.
///
/// **The order of every operation is fixed** by one rule, so the SIMD kernel,
/// the scalar reference and any build compute the same bits: each entry of a
/// matrix product `P·x` is a chain over the nonzero coefficients of `P`'s row
/// in increasing column order — the first term is the product `p·x` (one
/// rounding; exact for ±2, ±4, ±8; `x` or `−x` for ±1), every later term is one fused
/// multiply-add `acc = fma(p, x, acc)` (for p = ±1 this is exactly `acc ± x`).
/// 2-D transforms apply the 1-D one down the columns first, then along the
/// rows: `V = (Bᵀ d) B`, `Y = (Aᵀ M) A`. The weight transform `G g Gᵀ` is
/// computed in `Double` (fixed order) and rounded to `Float` once.
///
/// ```swift
/// let t = WinogradTransform(.f4x3)
/// t.alpha   // 6 — the input tile; 36 products per 16 outputs instead of 144
/// ```
@_spi(Kernels) public struct WinogradTransform: Sendable {
    /// The supported tile sizes.
    @_spi(Kernels) public enum Variant: Int, Sendable, CaseIterable {
        /// F(2×2, 3×3): 4×4 input tiles, 16 products per 4 outputs (2.25× fewer than direct).
        case f2x3 = 2
        /// F(4×4, 3×3): 6×6 input tiles, 36 products per 16 outputs (4× fewer than direct).
        case f4x3 = 4
        /// F(6×6, 3×3): 8×8 input tiles, 64 products per 36 outputs (5.06× fewer than direct).
        case f6x3 = 6
    }

    /// The variant.
    @_spi(Kernels) public let variant: Variant
    /// Output tile side m.
    @_spi(Kernels) public var m: Int { variant.rawValue }
    /// Input tile side α = m + 2.
    @_spi(Kernels) public var alpha: Int { variant.rawValue + 2 }
    /// `Bᵀ` (α × α), the input transform.
    @_spi(Kernels) public let bt: [[Float]]
    /// `G` (α × 3), the filter transform, in double precision.
    @_spi(Kernels) public let g: [[Double]]
    /// `Aᵀ` (m × α), the output transform.
    @_spi(Kernels) public let at: [[Float]]
    /// `G` flattened row-major (α × 3), for ``transformFilter(_:into:)``.
    let gFlat: [Double]

    /// The transform matrices of `variant`: interpolation points 0, ±1, ∞ (F(2×2)), plus ±2
    /// (F(4×4)), plus ±½ (F(6×6)). Every coefficient of `Bᵀ` and `Aᵀ` is exact in `Float`.
    @_spi(Kernels) public init(_ variant: Variant) {
        self.variant = variant
        switch variant {
        case .f2x3:
            bt = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]
            g = [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]]
            at = [[1, 1, 1, 0], [0, 1, -1, -1]]
        case .f4x3:
            bt = [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
                  [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]]
            let s = 1.0 / 6, t = 1.0 / 12, u = 1.0 / 24
            g = [[0.25, 0, 0], [-s, -s, -s], [-s, s, -s], [u, t, s], [u, -t, s], [0, 0, 1]]
            at = [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]]
        case .f6x3:
            bt = [[1, 0, -5.25, 0, 5.25, 0, -1, 0], [0, 1, 1, -4.25, -4.25, 1, 1, 0],
                  [0, -1, 1, 4.25, -4.25, -1, 1, 0], [0, 0.5, 0.25, -2.5, -1.25, 2, 1, 0],
                  [0, -0.5, 0.25, 2.5, -1.25, -2, 1, 0], [0, 2, 4, -2.5, -5, 0.5, 1, 0],
                  [0, -2, 4, 2.5, -5, -0.5, 1, 0], [0, -1, 0, 5.25, 0, -5.25, 0, 1]]
            let r = 2.0 / 9, s = 1.0 / 90, t = 1.0 / 45, u = 2.0 / 45
            let p = 32.0 / 45, q = 16.0 / 45, v = 8.0 / 45
            g = [[1, 0, 0], [-r, -r, -r], [-r, r, -r], [s, t, u], [s, -t, u], [p, q, v], [p, -q, v], [0, 0, 1]]
            at = [[1, 1, 1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0.5, -0.5, 0], [0, 1, 1, 4, 4, 0.25, 0.25, 0],
                  [0, 1, -1, 8, -8, 0.125, -0.125, 0], [0, 1, 1, 16, 16, 0.0625, 0.0625, 0],
                  [0, 1, -1, 32, -32, 0.03125, -0.03125, 1]]
        }
        gFlat = g.flatMap { $0 }
    }

    /// `U = G g Gᵀ` for one 3×3 filter `f` (row-major), α×α row-major into `u`:
    /// `W = G f` then `U = W Gᵀ`, each entry a left-to-right `Double` sum, rounded once.
    @_spi(Kernels) public func transformFilter(_ f: UnsafePointer<Float>, into u: UnsafeMutablePointer<Float>) {
        let a = alpha
        // No allocation per filter (a model prepares millions): W lives on the stack, G is flat.
        gFlat.withUnsafeBufferPointer { gp in
            withUnsafeTemporaryAllocation(of: Double.self, capacity: a * 3) { wb in
                let g = gp.baseAddress!, w = wb.baseAddress!
                for i in 0..<a {
                    for l in 0..<3 {
                        var s = 0.0
                        for k in 0..<3 { s += g[i * 3 + k] * Double(f[k * 3 + l]) }
                        w[i * 3 + l] = s
                    }
                }
                for i in 0..<a {
                    for j in 0..<a {
                        var s = 0.0
                        for l in 0..<3 { s += w[i * 3 + l] * g[j * 3 + l] }
                        u[i * a + j] = Float(s)
                    }
                }
            }
        }
    }

    /// ``transformFilter(_:into:)`` on 16 filters at once, one per SIMD lane, with the same
    /// operations in the same order per lane (so the same bits): filter `l < lanes` starts at
    /// `f + l·filterStride`, lanes from `lanes` on are zero filters. `U[ξ]` of the 16 filters is
    /// stored as 16 consecutive floats at `u + ξ·stride`. `wide` (the caller reads
    /// ``Runtime/kernelISA`` once per job): the AVX-512 kernel, 8 doubles per register.
    func transformFilters16(
        _ f: UnsafePointer<Float>, filterStride: Int, lanes: Int, into u: UnsafeMutablePointer<Float>, stride: Int,
        wide: Bool = false
    ) {
        if wide {
            gFlat.withUnsafeBufferPointer { g in
                repro_winograd_filters16(f, filterStride, lanes, g.baseAddress!, alpha, u, stride)
            }
            return
        }
        typealias D16 = SIMD16<Double>
        let a = alpha
        withUnsafeTemporaryAllocation(of: D16.self, capacity: 9 + a * 3) { buf in
            let taps = buf.baseAddress!, w = taps + 9
            // Gather tap k of every lane into taps[k] (zero filters past `lanes`).
            let tapScalars = UnsafeMutableRawPointer(taps).assumingMemoryBound(to: Double.self)
            if lanes < 16 { tapScalars.initialize(repeating: 0, count: 9 * 16) }
            for l in 0..<lanes {
                let filter = f + l * filterStride
                for k in 0..<9 { tapScalars[k * 16 + l] = Double(filter[k]) }
            }
            gFlat.withUnsafeBufferPointer { gp in
                let g = gp.baseAddress!
                for i in 0..<a {
                    for l in 0..<3 {
                        var s = D16(repeating: 0)
                        for k in 0..<3 { s += g[i * 3 + k] * taps[k * 3 + l] }
                        w[i * 3 + l] = s
                    }
                }
                for i in 0..<a {
                    for j in 0..<a {
                        var s = D16(repeating: 0)
                        for l in 0..<3 { s += w[i * 3 + l] * g[j * 3 + l] }
                        let out = u + (i * a + j) * stride
                        for l in 0..<16 { out[l] = Float(s[l]) }
                    }
                }
            }
        }
    }

    /// One entry of `P·x` by the chain rule above (scalar reference).
    @inline(__always)
    static func chain(_ row: [Float], _ x: (Int) -> Float) -> Float {
        var acc: Float = 0
        var started = false
        for (k, p) in row.enumerated() where p != 0 {
            if started {
                acc = acc.addingProduct(p, x(k))
            } else {
                acc = p == 1 ? x(k) : p == -1 ? -x(k) : p * x(k)
                started = true
            }
        }
        return acc
    }

    /// Scalar reference of `V = (Bᵀ d) B` for one α×α tile (row-major in, row-major out).
    @_spi(Kernels) public func inputTile(_ d: [Float]) -> [Float] {
        let a = alpha
        var t = [Float](repeating: 0, count: a * a)
        for j in 0..<a { for i in 0..<a { t[i * a + j] = Self.chain(bt[i]) { d[$0 * a + j] } } }
        var v = [Float](repeating: 0, count: a * a)
        for i in 0..<a { for j in 0..<a { v[i * a + j] = Self.chain(bt[j]) { t[i * a + $0] } } }
        return v
    }

    /// Scalar reference of `Y = (Aᵀ M) A` for one α×α tile of products (m×m out, row-major).
    @_spi(Kernels) public func outputTile(_ mt: [Float]) -> [Float] {
        let a = alpha, m = self.m
        var s = [Float](repeating: 0, count: m * a)
        for j in 0..<a { for i in 0..<m { s[i * a + j] = Self.chain(at[i]) { mt[$0 * a + j] } } }
        var y = [Float](repeating: 0, count: m * m)
        for i in 0..<m { for j in 0..<m { y[i * m + j] = Self.chain(at[j]) { s[i * a + $0] } } }
        return y
    }
}

/// The 1-D transforms on eight channels at once, written out from the matrices
/// of ``WinogradTransform`` with the same chain order (checked bit for bit
/// against the scalar reference by the tests).
enum WinogradSIMD {
    typealias V = SIMD8<Float>

    /// F(2,3) input: rows of `Bᵀ` applied to `(d0…d3)`.
    @inline(__always)
    static func input2(_ d0: V, _ d1: V, _ d2: V, _ d3: V) -> (V, V, V, V) {
        (d0 - d2, d1 + d2, (-d1) + d2, d1 - d3)
    }

    /// F(2,3) output: rows of `Aᵀ` applied to `(m0…m3)`.
    @inline(__always)
    static func output2(_ m0: V, _ m1: V, _ m2: V, _ m3: V) -> (V, V) {
        ((m0 + m1) + m2, (m1 - m2) - m3)
    }

    /// F(4,3) input: rows of `Bᵀ` applied to `(d0…d5)`.
    @inline(__always)
    static func input4(_ d0: V, _ d1: V, _ d2: V, _ d3: V, _ d4: V, _ d5: V) -> (V, V, V, V, V, V) {
        let m5 = V(repeating: -5), m4 = V(repeating: -4), p4 = V(repeating: 4)
        let m2 = V(repeating: -2), p2 = V(repeating: 2)
        let r0 = (p4 * d0).addingProduct(m5, d2) + d4
        let r1 = ((m4 * d1).addingProduct(m4, d2) + d3) + d4
        let r2 = ((p4 * d1).addingProduct(m4, d2) - d3) + d4
        let r3 = ((m2 * d1) - d2).addingProduct(p2, d3) + d4
        let r4 = ((p2 * d1) - d2).addingProduct(m2, d3) + d4
        let r5 = (p4 * d1).addingProduct(m5, d3) + d5
        return (r0, r1, r2, r3, r4, r5)
    }

    /// F(4,3) output: rows of `Aᵀ` applied to `(m0…m5)`.
    @inline(__always)
    static func output4(_ m0: V, _ m1: V, _ m2: V, _ m3: V, _ m4: V, _ m5: V) -> (V, V, V, V) {
        let p2 = V(repeating: 2), n2 = V(repeating: -2), p4 = V(repeating: 4)
        let p8 = V(repeating: 8), n8 = V(repeating: -8)
        let y0 = (((m0 + m1) + m2) + m3) + m4
        let y1 = (m1 - m2).addingProduct(p2, m3).addingProduct(n2, m4)
        let y2 = (m1 + m2).addingProduct(p4, m3).addingProduct(p4, m4)
        let y3 = (m1 - m2).addingProduct(p8, m3).addingProduct(n8, m4) + m5
        return (y0, y1, y2, y3)
    }

    /// F(6,3) input: rows of `Bᵀ` applied to `(d0…d7)`.
    @inline(__always)
    static func input6(_ d0: V, _ d1: V, _ d2: V, _ d3: V, _ d4: V, _ d5: V, _ d6: V, _ d7: V)
        -> (V, V, V, V, V, V, V, V) {
        let a = V(repeating: 5.25), b = V(repeating: 4.25), h = V(repeating: 0.5), q = V(repeating: 0.25)
        let f = V(repeating: 2.5), e = V(repeating: 1.25), two = V(repeating: 2), four = V(repeating: 4)
        let five = V(repeating: 5)
        let r0 = (d0.addingProduct(-a, d2).addingProduct(a, d4)) - d6
        let r1 = ((d1 + d2).addingProduct(-b, d3).addingProduct(-b, d4) + d5) + d6
        let r2 = (((-d1) + d2).addingProduct(b, d3).addingProduct(-b, d4) - d5) + d6
        let r3 = (h * d1).addingProduct(q, d2).addingProduct(-f, d3).addingProduct(-e, d4).addingProduct(two, d5) + d6
        let r4 = (-h * d1).addingProduct(q, d2).addingProduct(f, d3).addingProduct(-e, d4).addingProduct(-two, d5) + d6
        let r5 = (two * d1).addingProduct(four, d2).addingProduct(-f, d3).addingProduct(-five, d4).addingProduct(h, d5) + d6
        let r6 = (-two * d1).addingProduct(four, d2).addingProduct(f, d3).addingProduct(-five, d4).addingProduct(-h, d5) + d6
        let r7 = ((-d1).addingProduct(a, d3).addingProduct(-a, d5)) + d7
        return (r0, r1, r2, r3, r4, r5, r6, r7)
    }

    /// F(6,3) output: rows of `Aᵀ` applied to `(m0…m7)`.
    @inline(__always)
    static func output6(_ m0: V, _ m1: V, _ m2: V, _ m3: V, _ m4: V, _ m5: V, _ m6: V, _ m7: V)
        -> (V, V, V, V, V, V) {
        @inline(__always) func c(_ x: Float) -> V { V(repeating: x) }
        let sum = m1 + m2, diff = m1 - m2
        let y0 = (((((m0 + m1) + m2) + m3) + m4) + m5) + m6
        let y1 = diff.addingProduct(c(2), m3).addingProduct(c(-2), m4).addingProduct(c(0.5), m5).addingProduct(c(-0.5), m6)
        let y2 = sum.addingProduct(c(4), m3).addingProduct(c(4), m4).addingProduct(c(0.25), m5).addingProduct(c(0.25), m6)
        let y3 = diff.addingProduct(c(8), m3).addingProduct(c(-8), m4).addingProduct(c(0.125), m5)
            .addingProduct(c(-0.125), m6)
        let y4 = sum.addingProduct(c(16), m3).addingProduct(c(16), m4).addingProduct(c(0.0625), m5)
            .addingProduct(c(0.0625), m6)
        let y5 = diff.addingProduct(c(32), m3).addingProduct(c(-32), m4).addingProduct(c(0.03125), m5)
            .addingProduct(c(-0.03125), m6) + m7
        return (y0, y1, y2, y3, y4, y5)
    }
}
