import Foundation
import ReproTensor

/// Error of each convolution algorithm against a float64 direct convolution on
/// the RetinaNet 3×3 stride-1 shapes, with realistic data: kaiming-scale
/// weights (uniform, std √(2/fan_in)) and ReLU'd inputs. The float64 reference
/// is computed for every output channel on four output rows (top, second,
/// middle, bottom: borders included). Prints
/// `accuracy <shape> <algorithm> <max abs> <max abs / max |y|> <max rel where |y| > 1e-2·max|y|>`.
enum AccuracyBench {
    static let shapes = [
        ConvShape(name: "3x3_64-64_200x272", c: 64, h: 200, w: 272, o: 64, k: 3, stride: 1, pad: 1),
        ConvShape(name: "3x3_256-256_100x136", c: 256, h: 100, w: 136, o: 256, k: 3, stride: 1, pad: 1),
        ConvShape(name: "3x3_256-819_100x136", c: 256, h: 100, w: 136, o: 819, k: 3, stride: 1, pad: 1),
        ConvShape(name: "3x3_512-512_25x34", c: 512, h: 25, w: 34, o: 512, k: 3, stride: 1, pad: 1),
    ]

    static func run() {
        for s in shapes {
            let fanIn = Double(s.c * 9), bound = Float((6.0 / fanIn).squareRoot())  // uniform ±√(6/fan_in): std √(2/fan_in)
            let ws = seeded(s.o * s.c * 9, seed: 21).map { $0 * bound }
            let xs = seeded(s.c * s.h * s.w, seed: 22).map { max(0, $0) * 2 }
            let w = try! Tensor(shape: [s.o, s.c, 3, 3], scalars: ws)
            let x = try! Tensor(shape: [1, s.c, s.h, s.w], scalars: xs)
            let rows = [0, 1, s.h / 2, s.h - 1]
            var exact = [Double](repeating: 0, count: s.o * rows.count * s.w)
            for o in 0..<s.o {
                for (ri, y) in rows.enumerated() {
                    for xx in 0..<s.w {
                        var acc = 0.0
                        for c in 0..<s.c { for ky in 0..<3 { for kx in 0..<3 {
                            let iy = y + ky - 1, ix = xx + kx - 1
                            guard iy >= 0, iy < s.h, ix >= 0, ix < s.w else { continue }
                            acc += Double(xs[(c * s.h + iy) * s.w + ix]) * Double(ws[((o * s.c + c) * 3 + ky) * 3 + kx])
                        }}}
                        exact[(o * rows.count + ri) * s.w + xx] = acc
                    }
                }
            }
            let scale = exact.map(abs).max()!
            for alg in PreparedConv2d.Algorithm.allCases {
                let y: [Float] = try! PreparedConv2d(weight: w, padding: (1, 1), algorithm: alg).forward(x, threads: 2).scalars()
                var maxAbs = 0.0, maxRel = 0.0
                for o in 0..<s.o {
                    for (ri, row) in rows.enumerated() {
                        for xx in 0..<s.w {
                            let e = exact[(o * rows.count + ri) * s.w + xx]
                            let d = abs(Double(y[(o * s.h + row) * s.w + xx]) - e)
                            maxAbs = max(maxAbs, d)
                            if abs(e) > 1e-2 * scale { maxRel = max(maxRel, d / abs(e)) }
                        }
                    }
                }
                print(String(format: "accuracy %@ %@ %.3e %.3e %.3e", s.name, alg.rawValue, maxAbs, maxAbs / scale, maxRel))
            }
        }
    }
}
