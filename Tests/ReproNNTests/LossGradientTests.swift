import Foundation
import ReproTensor
import Testing
import _ReproTestSupport
@testable import ReproNN

/// The losses in Double with Foundation's exp/log — an independent reference of each formula —
/// for finite differences.
struct DoubleLoss {
    let c: LossCase
    let t: [Double]
    let classTargets: [Int64]

    init(_ c: LossCase) throws {
        self.c = c
        if c.target.dtype == .int64 {
            classTargets = try c.target.scalars()
            t = []
        } else {
            t = try c.target.scalars(as: Float.self).map(Double.init)
            classTargets = []
        }
    }

    func vector(_ key: String) throws -> [Double]? {
        try c.tensorParam(key).map { try $0.scalars(as: Float.self).map(Double.init) }
    }

    static func logSigmoid(_ x: Double) -> Double { min(x, 0) - Foundation.log1p(Foundation.exp(-abs(x))) }

    /// The loss summed over every element.
    func sum(_ x: [Double]) throws -> Double {
        switch c.kind {
        case "cross_entropy":
            let n = c.input.shape[0], cl = c.input.shape[1], pos = c.input.count / (n * cl)
            let w = try vector("weight"), eps = try c.double("label_smoothing") ?? 0
            let ignore = try c.param("ignore_index")?.int64 ?? -100
            var total = 0.0
            if classTargets.isEmpty {
                // Probability targets, laid out like the input: −Σ_c w_c·p'_c·log q_c with
                // p' = (1 − ε)·p + ε/C (torch smooths the given distribution; no ignore_index).
                for s in 0..<n {
                    for p in 0..<pos {
                        let row = (0..<cl).map { x[(s * cl + $0) * pos + p] }
                        let m = row.max()!
                        let lse = m + Foundation.log(row.map { Foundation.exp($0 - m) }.reduce(0, +))
                        for k in 0..<cl {
                            let prob = (1 - eps) * t[(s * cl + k) * pos + p] + eps / Double(cl)
                            total -= (w?[k] ?? 1) * prob * (row[k] - lse)
                        }
                    }
                }
                return total
            }
            for s in 0..<n {
                for p in 0..<pos {
                    let y = classTargets[s * pos + p]
                    if y == ignore { continue }
                    let row = (0..<cl).map { x[(s * cl + $0) * pos + p] }
                    let m = row.max()!
                    let lse = m + Foundation.log(row.map { Foundation.exp($0 - m) }.reduce(0, +))
                    let lp = row.map { $0 - lse }
                    let wy = w?[Int(y)] ?? 1
                    let smooth = (0..<cl).map { -(w?[$0] ?? 1) * lp[$0] }.reduce(0, +)
                    total += (1 - eps) * wy * -lp[Int(y)] + eps / Double(cl) * smooth
                }
            }
            return total
        case "bce_with_logits", "sigmoid_focal":
            let w = try vector("weight"), pw = try vector("pos_weight")
            let alpha = try c.double("alpha") ?? -1, gamma = try c.double("gamma") ?? 0
            var total = 0.0
            for e in x.indices {
                let lw = pw.map { ($0[e % $0.count] - 1) * t[e] + 1 } ?? 1
                var l = (1 - t[e]) * x[e] - lw * Self.logSigmoid(x[e])
                if c.kind == "sigmoid_focal" {
                    let p = 1 / (1 + Foundation.exp(-x[e]))
                    let pt = p * t[e] + (1 - p) * (1 - t[e])
                    l *= Foundation.pow(1 - pt, gamma)
                    if alpha >= 0 { l *= alpha * t[e] + (1 - alpha) * (1 - t[e]) }
                }
                total += l * (w.map { $0[e % $0.count] } ?? 1)
            }
            return total
        case "l1": return zip(x, t).map { abs($0 - $1) }.reduce(0, +)
        case "mse": return zip(x, t).map { ($0 - $1) * ($0 - $1) }.reduce(0, +)
        case "smooth_l1":
            let b = try c.double("beta")!
            return zip(x, t).map { let a = abs($0 - $1); return a < b ? 0.5 * a * a / b : a - 0.5 * b }.reduce(0, +)
        case "generalized_box_iou":
            let eps = try c.double("eps")!
            var total = 0.0
            for k in 0..<(x.count / 4) {
                let (x1, y1, x2, y2) = (x[4 * k], x[4 * k + 1], x[4 * k + 2], x[4 * k + 3])
                let (u1, v1, u2, v2) = (t[4 * k], t[4 * k + 1], t[4 * k + 2], t[4 * k + 3])
                let iw = min(x2, u2) - max(x1, u1), ih = min(y2, v2) - max(y1, v1)
                let inter = iw > 0 && ih > 0 ? iw * ih : 0
                let union = (x2 - x1) * (y2 - y1) + (u2 - u1) * (v2 - v1) - inter
                let area = (max(x2, u2) - min(x1, u1)) * (max(y2, v2) - min(y1, v1))
                total += 1 - (inter / (union + eps) - (area - union) / (area + eps))
            }
            return total
        default: throw FixtureError.malformed(c.kind)
        }
    }
}

@Suite struct LossGradientTests {
    /// Every loss's `sum` gradient (float32) against central differences of the Double reference.
    /// Tolerance 2e-5 of the gradient's scale: the float32 gradient carries a few ulp of rounding
    /// (≈1e-7 relative) amplified by cancellation in `q − 1` and in the box algebra; the
    /// differences' own error is ~1e-9 (step 1e-5·max(1, |x|)). Elements at a kink (where the
    /// one-sided differences disagree: |d| = β, d = 0, equal box edges) are skipped and counted;
    /// at least 85 % of all elements must be checked.
    @Test func gradientsMatchFiniteDifferences() throws {
        var checked = 0, skipped = 0
        for c in try LossCase.all() {
            let ref = try DoubleLoss(c)
            let x0 = try c.input.scalars(as: Float.self).map(Double.init)
            let loss = try c.loss(.sum)
            let ours: [Float] = try loss.inputGradient(c.input, c.target).scalars()
            var fd = [Double](repeating: 0, count: x0.count), kink = [Bool](repeating: false, count: x0.count)
            let f0 = try ref.sum(x0)
            for i in x0.indices {
                let h = 1e-5 * max(1, abs(x0[i]))
                var xp = x0, xm = x0
                xp[i] += h
                xm[i] -= h
                let fp = try ref.sum(xp), fm = try ref.sum(xm)
                fd[i] = (fp - fm) / (2 * h)
                let right = (fp - f0) / h, left = (f0 - fm) / h
                kink[i] = abs(right - left) > 1e-3 * max(1, abs(fd[i]))
            }
            let scale = max(fd.map(abs).max() ?? 0, 1e-12)
            for i in x0.indices {
                if kink[i] { skipped += 1; continue }
                checked += 1
                let e = abs(Double(ours[i]) - fd[i]) / scale
                #expect(e <= 2e-5, "\(c.name)[\(i)]: ours \(ours[i]), finite difference \(fd[i]) (error \(e) of scale)")
            }
            // Our float32 values against the Double reference as well.
            let sum: [Float] = try loss(c.input, c.target).scalars()
            #expect(abs(Double(sum[0]) - f0) <= 1e-5 * max(1, abs(f0)), "\(c.name): sum \(sum[0]) vs \(f0)")
        }
        #expect(Double(checked) >= 0.85 * Double(checked + skipped), "checked \(checked), skipped \(skipped)")
        print("finite differences: \(checked) elements checked, \(skipped) at kinks skipped")
    }
}
