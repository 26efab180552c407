@_spi(Kernels) import ReproTensor

/// The GEMMs of RetinaNet's 1×1 convolutions (O × C × pixels), called directly:
/// NCHW as `W · X` (B = the activation, packed by GEMM in pieces, epilogue per
/// row) and NHWC as `X · Wᵀ` (B = the weights, packed once), plus small-M /
/// long-K and tall-skinny products. `--only gemmconv`.
enum GEMMShapes {
    static let pointwise: [(name: String, o: Int, c: Int, hw: Int)] = [
        ("1x1_1024-256_50x68", 256, 1024, 50 * 68),
        ("1x1_2048-256_25x34", 256, 2048, 25 * 34),
    ]

    static func run(threads: [Int], reps: Int) {
        for s in pointwise {
            let w = seeded(s.o * s.c, seed: 3).map { $0 * 0.05 }, x = seeded(s.c * s.hw, seed: 4)
            var y = [Float](repeating: 0, count: s.o * s.hw)
            let flops = 2 * Double(s.o * s.c * s.hw)
            w.withUnsafeBufferPointer { wp in x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in
                let wT = GEMM.PackedMatrix(.init(wp.baseAddress!, rowStride: 1, colStride: s.c), k: s.c, n: s.o, threads: 1)
                for t in threads {
                    // NCHW: out[o, p] = Σ_c W[o, c] · X[c, p].
                    let r1 = time(reps: reps) {
                        GEMM.multiply(m: s.o, n: s.hw, k: s.c, a: .init(wp.baseAddress!, rowStride: s.c),
                                      b: .init(xp.baseAddress!, rowStride: s.hw), c: yp.baseAddress!, ldc: s.hw,
                                      epilogueAxis: .rows, threads: t)
                    }
                    report("gemm-nchw", s.name, t, flops, r1)
                    // NHWC: out[p, o] = Σ_c X[p, c] · Wᵀ[c, o] (x read as [hw, c]).
                    let r2 = time(reps: reps) {
                        GEMM.multiply(m: s.hw, a: .init(xp.baseAddress!, rowStride: s.c), packedB: wT,
                                      c: yp.baseAddress!, ldc: s.o, threads: t)
                    }
                    report("gemm-nhwc", s.name, t, flops, r2)
                }
            }}}
        }
        for (m, k, n) in [(64, 65536, 64), (3400, 256, 9), (9, 256, 3400)] {
            let a = seeded(m * k, seed: 5), b = seeded(k * n, seed: 6)
            var c = [Float](repeating: 0, count: m * n)
            for t in threads {
                a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                    let r = time(reps: reps) {
                        GEMM.multiply(m: m, n: n, k: k, a: .init(ap.baseAddress!, rowStride: k),
                                      b: .init(bp.baseAddress!, rowStride: n), c: cp.baseAddress!, ldc: n, threads: t)
                    }
                    report("gemm", "\(m)x\(k)x\(n)", t, 2 * Double(m * k * n), r)
                }}}
            }
        }
    }
}
