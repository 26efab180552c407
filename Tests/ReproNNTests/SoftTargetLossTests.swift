import Foundation
import ReproRandom
import ReproTensor
import Testing
import _ReproTestSupport
@testable import ReproNN

/// Cross-entropy with probability targets and the generalized IoU loss's target-box gradient:
/// their PyTorch 2.13 cases (`Tests/Fixtures/losses/soft_targets.json`, written by
/// `scripts/make_train_parity_fixtures.py`) run in `LossFixtureTests`; here the identities and
/// errors torch's semantics imply, and exact micro-batch splits on the tape.
@Suite struct SoftTargetLossTests {
    static func cases() throws -> [LossCase] {
        try Fixtures.json("losses/soft_targets.json")["cases"].array.map(LossCase.init)
    }

    /// `LossFixtureTests` checks these cases against torch with the other losses' tolerance;
    /// this makes sure they are there (a missing file or case fails here).
    @Test func fixtureHoldsSoftTargetsAndTargetGradients() throws {
        let cases = try Self.cases()
        #expect(cases.filter { $0.kind == "cross_entropy" && $0.target.dtype == .float32 }.count == 5)
        #expect(cases.filter { $0.kind == "generalized_box_iou" && $0.json.has("target_grad_mean") }.count == 1)
        #expect(try LossCase.all().count == cases.count + Fixtures.json("losses/losses.json")["cases"].array.count)
    }

    /// A one-hot probability target is the class-index loss (same formula, up to rounding of the
    /// smoothing terms), including weights and smoothing; `mean` divides by the positions, not by
    /// the weight sum, as torch.
    @Test func oneHotProbabilitiesMatchClassIndices() throws {
        let logits = try Tensor(shape: [3, 4], scalars: (0..<12).map { Float(($0 * 7) % 5) - 2 })
        let labels: [Int64] = [2, 1, 3]
        let oneHot = try Tensor(shape: [3, 4], scalars: (0..<12).map { Float(labels[$0 / 4] == Int64($0 % 4) ? 1 : 0) })
        let weight = try Tensor(shape: [4], scalars: [Float(1), 2, 0.5, 1.5])
        let indices = try Tensor(shape: [3], scalars: labels)
        for smoothing in [0.0, 0.2] {
            let hard = CrossEntropyLoss(weight: weight, reduction: .sum, labelSmoothing: smoothing)
            let a: [Float] = try hard(logits, indices).scalars(), b: [Float] = try hard(logits, oneHot).scalars()
            #expect(abs(a[0] - b[0]) <= 1e-6 * abs(a[0]), "smoothing \(smoothing): \(a) vs \(b)")
            let ga: [Float] = try hard.inputGradient(logits, indices).scalars()
            let gb: [Float] = try hard.inputGradient(logits, oneHot).scalars()
            #expect(relativeError(gb, ga) <= 1e-6, "smoothing \(smoothing) gradient")
        }
        let mean = CrossEntropyLoss(weight: weight)
        #expect(try mean.denominator(target: oneHot) == 3)
        #expect(try mean.denominator(target: indices) == 4)   // Σ w[y] = 0.5 + 2 + 1.5
    }

    @Test func badProbabilityTargetsAreRefused() throws {
        let logits = try Tensor(zeros: [2, 3])
        let p = try Tensor(shape: [2, 3], scalars: [Float](repeating: 1.0 / 3, count: 6))
        #expect(throws: LossError.invalidArgument(loss: "cross_entropy", reason: "ignore_index 1 is not supported with probability targets")) {
            _ = try CrossEntropyLoss(ignoreIndex: 1)(logits, p)
        }
        #expect(throws: LossError.shapeMismatch(loss: "cross_entropy", argument: "target", expected: [2, 3], found: [2, 2])) {
            _ = try CrossEntropyLoss()(logits, try Tensor(zeros: [2, 2]))
        }
        let nan = try Tensor(shape: [2, 3], scalars: [Float(0), 1, 0, 0, .nan, 1])
        #expect(throws: LossError.nonFinite(loss: "cross_entropy", argument: "target", sample: 1)) {
            _ = try CrossEntropyLoss()(logits, nan)
        }
    }

    /// Micro-batches of a probability-target loss on the tape give the whole batch's bits.
    @Test func probabilityTargetsSplitExactly() throws {
        var g = TorchGenerator(seed: 5)
        let model = try Linear(inFeatures: 3, outFeatures: 4, generator: &g)
        let inputs = try Tensor(shape: [7, 3], scalars: (0..<21).map { Float($0 % 6) / 5 - 0.4 })
        let targets = try Tensor(shape: [7, 4], scalars: (0..<28).map { Float(($0 * 3) % 7) / 6 })
        let loss = CrossEntropyLoss(weight: try Tensor(shape: [4], scalars: [Float(1), 0.5, 2, 1]), labelSmoothing: 0.1)
        let denominator = try loss.denominator(target: targets)
        #expect(denominator == 7)
        func run(_ split: [Int]) throws -> GradientResult {
            try valueAndGradient(of: model, batchSize: 7, microBatches: split, options: GradientOptions(reduction: .sum)) { model, scope in
                let x = try scope.constant(samplesOf: inputs)
                let y = try targets.sliced(dim: 0, range: scope.samples)
                return try model.forward(x, in: scope).loss(loss, target: y, denominator: denominator)
            }
        }
        let whole = try run([7])
        let direct: [Float] = try loss(model.forwardForTest(inputs), targets).scalars()
        #expect(abs(whole.loss - direct[0]) <= 1e-6 * abs(direct[0]))
        for split in [[3, 4], [1, 2, 4], [5, 2]] {
            let r = try run(split)
            #expect(r.loss.bitPattern == whole.loss.bitPattern, "\(split)")
            #expect(r.gradients.digest == whole.gradients.digest, "\(split)")
        }
    }
}

private extension Linear {
    /// `x · Wᵀ + b` in plain float loops (the reference the tape's loss value is checked against).
    func forwardForTest(_ x: Tensor) throws -> Tensor {
        let w: [Float] = try weight.scalars(), b: [Float] = try bias!.scalars(), v: [Float] = try x.scalars()
        let (n, i, o) = (x.shape[0], x.shape[1], weight.shape[0])
        var out = [Float](repeating: 0, count: n * o)
        for r in 0..<n {
            for j in 0..<o {
                var s: Float = 0
                for k in 0..<i { s += v[r * i + k] * w[j * i + k] }
                out[r * o + j] = s + b[j]
            }
        }
        return try Tensor(shape: [n, o], scalars: out)
    }
}
