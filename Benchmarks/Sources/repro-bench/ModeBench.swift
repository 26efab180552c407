import Foundation
import ReproTensor

/// Deterministic vs nondeterministic matmul (the cost of deterministic mode),
/// and element-wise throughput of the own exp / sigmoid.
enum ModeBench {
    static func run(threads: [Int], reps: Int) {
        for (m, k, n) in [(64, 65536, 64), (1024, 1024, 1024)] {
            let a = try! Tensor(shape: [m, k], scalars: seeded(m * k, seed: 7))
            let b = try! Tensor(shape: [k, n], scalars: seeded(k * n, seed: 8))
            for t in threads {
                var sink = 0
                for alg in MatmulAlgorithm.allCases {
                    let s = RuntimeSettings(threads: t, deterministicAlgorithms: alg == .blocked)
                    let r = time(reps: reps) {
                        sink &+= Runtime.withSettings(s) { try! a.matmul(b, algorithm: alg).count }
                    }
                    report("matmul-\(alg.rawValue)", "\(m)x\(k)x\(n)", t, 2 * Double(m * k * n), r)
                }
                if sink == 0 { print("") }
            }
        }
        let x = try! Tensor(shape: [1 << 22], scalars: seeded(1 << 22, seed: 9).map { $0 * 20 })
        for t in threads {
            let s = RuntimeSettings(threads: t)
            for (name, f) in [("exp", { try! x.exp() }), ("sigmoid", { try! x.sigmoid() }), ("log", { try! x.log() })] {
                let r = time(reps: reps) { _ = Runtime.withSettings(s, f) }
                // Reported as "GFLOP/s" of 1 per element: i.e. Gelement/s.
                report("elementwise-Gelem/s", name, t, Double(1 << 22), r)
            }
        }
    }
}
