import ReproRandom
import ReproTensor
import Testing
@testable import ReproNN

/// Seeded data for a batch of 8 (torch's generator, so the values are reproducible anywhere).
struct SplitData {
    var g = TorchGenerator(seed: 2026)
    mutating func floats(_ shape: [Int], scale: Float = 1, offset: Float = 0) throws -> Tensor {
        try Tensor(shape: shape, scalars: try g.randn(count: shape.reduce(1, *)).map { $0 * scale + offset })
    }
    mutating func uniform(_ shape: [Int]) throws -> Tensor {
        try Tensor(shape: shape, scalars: try g.rand(count: shape.reduce(1, *)))
    }
    mutating func classes(_ shape: [Int], count: Int64, ignore: Int64, ignoreEvery: Int) throws -> Tensor {
        var v = try g.randint(high: count, count: shape.reduce(1, *))
        for i in stride(from: 1, to: v.count, by: ignoreEvery) { v[i] = ignore }
        return try Tensor(shape: shape, scalars: v)
    }
    mutating func boxes(_ n: Int) throws -> Tensor {
        let c = try g.rand(count: n * 4).map { $0 * 10 }
        var v = [Float]()
        for k in 0..<n { v += [c[4 * k], c[4 * k + 1], c[4 * k] + 1 + c[4 * k + 2], c[4 * k + 1] + 1 + c[4 * k + 3]] }
        return try Tensor(shape: [n, 4], scalars: v)
    }
}

@Suite struct LossSplitTests {
    /// (loss, input, target) for every loss over a batch of 8.
    static func cases() throws -> [(any Loss, Tensor, Tensor)] {
        var d = SplitData()
        let w = try Tensor(shape: [5], scalars: [Float(0.7), 1.3, 0.2, 2.1, 1])
        return [
            (CrossEntropyLoss(weight: w, labelSmoothing: 0.1), try d.floats([8, 5, 3], scale: 3),
             try d.classes([8, 3], count: 5, ignore: -100, ignoreEvery: 5)),
            (CrossEntropyLoss(ignoreIndex: 1), try d.floats([8, 7], scale: 2), try d.classes([8], count: 7, ignore: 1, ignoreEvery: 3)),
            (BCEWithLogitsLoss(weight: try d.uniform([6]), posWeight: try d.uniform([6])), try d.floats([8, 6], scale: 4), try d.uniform([8, 6])),
            (SigmoidFocalLoss(reduction: .mean), try d.floats([8, 2, 3], scale: 3), try d.uniform([8, 2, 3])),
            (L1Loss(), try d.floats([8, 9]), try d.floats([8, 9])),
            (MSELoss(), try d.floats([8, 3, 2]), try d.floats([8, 3, 2])),
            (SmoothL1Loss(beta: 0.5), try d.floats([8, 5]), try d.floats([8, 5])),
            (GeneralizedIoULoss(reduction: .mean), try d.boxes(8), try d.boxes(8)),
        ]
    }

    static let splits = [[8], [4, 4], [3, 3, 2], [1, 1, 1, 1, 1, 1, 1, 1], [5, 3]]

    /// Any split of the batch of 8 gives the same sum, denominator, mean and per-sample input
    /// gradients, bit for bit, as the whole batch.
    @Test func microBatchSplitsGiveIdenticalBits() throws {
        for (loss, x, y) in try Self.cases() {
            let whole = try loss.terms(x, y, startIndex: 0)
            let globalDenominator = try loss.denominator(target: y)
            #expect(globalDenominator.bitPattern == whole.denominator.bitPattern, "\(loss.name)")
            let wholeMean = try whole.value(.mean, loss: loss.name)
            let wholeGradient = try bits(loss.inputGradient(x, y, outputGradient: .mean(denominator: globalDenominator)))
            if loss.reduction != .none {
                let expected = loss.reduction == .sum ? whole.sum : wholeMean
                #expect(try bits(loss(x, y)) == [expected.bitPattern], "\(loss.name): callAsFunction")
            }
            for split in Self.splits {
                var merged = LossTerms()
                var gradient = [UInt32]()
                var start = 0
                for size in split {
                    let xs = try x.sliced(dim: 0, range: start..<(start + size)), ys = try y.sliced(dim: 0, range: start..<(start + size))
                    try merged.append(loss.terms(xs, ys, startIndex: start))
                    gradient += try bits(loss.inputGradient(xs, ys, outputGradient: .mean(denominator: globalDenominator)))
                    start += size
                }
                #expect(merged == whole, "\(loss.name) split \(split): terms differ")
                #expect(merged.sum.bitPattern == whole.sum.bitPattern, "\(loss.name) split \(split)")
                #expect(try merged.value(.mean, loss: loss.name).bitPattern == wholeMean.bitPattern, "\(loss.name) split \(split)")
                #expect(gradient == wholeGradient, "\(loss.name) split \(split): gradients differ")
            }
        }
    }

    /// The bits of every loss's mean and mean-gradient are pinned (computed in a debug build), so
    /// CI's release build proves debug and release agree.
    @Test func debugAndReleaseGiveThePinnedBits() throws {
        var got = [String]()
        for (loss, x, y) in try Self.cases() {
            let d = try loss.denominator(target: y)
            let mean = try loss.terms(x, y, startIndex: 0).value(.mean, loss: loss.name)
            let g = try loss.inputGradient(x, y, outputGradient: .mean(denominator: d))
            got.append("\(loss.name) \(String(mean.bitPattern, radix: 16)) \(g.bitsHash.prefix(16))")
        }
        #expect(got == Self.pinned, "\n\(got.joined(separator: "\n"))")
    }

    static let pinned = [
        "cross_entropy 405a90e7 c2f9c557cb27e945",
        "cross_entropy 40892d34 84960839bb46d81a",
        "binary_cross_entropy_with_logits 3f4d51e1 8ebbf4625f38b88f",
        "sigmoid_focal_loss 3ea3ef56 7ca5f8a1acc5bd82",
        "l1_loss 3fa7a5e0 b5688f4cac3c406f",
        "mse_loss 3fa15155 154c20312cc2e69c",
        "smooth_l1_loss 3f7ad148 584845cb56952299",
        "generalized_box_iou_loss 3fa5bcac 79223937036b09f3",
    ]

    /// The canonical tree is not a left-to-right sum: for values where the two orders round
    /// differently, the sum follows the tree (so a sequential merge would fail the test above).
    @Test func sumFollowsTheSampleTreeNotTheSequentialOrder() throws {
        let four = try L1Loss(reduction: .sum).terms(Tensor(shape: [4, 1], scalars: [Float(1e8), 4, 4, 4]),
                                                     Tensor(zeros: [4, 1]), startIndex: 0)
        // Tree: (1e8 + 4) + (4 + 4) = 1e8 + 8 exactly representable; left to right: 1e8 (+4 three times rounds away).
        #expect(four.sum == (Float(1e8) + 4) + (Float(4) + 4))
        #expect(four.sum != ((Float(1e8) + 4) + 4) + 4)
    }
}

@Suite struct LossBadInputTests {
    func expectError(_ expected: LossError, _ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            try body()
            Issue.record("expected \(expected)", sourceLocation: sourceLocation)
        } catch {
            #expect(error as? LossError == expected, "\(error)", sourceLocation: sourceLocation)
            #expect(!"\(error)".isEmpty)
        }
    }

    @Test func crossEntropyRejectsBadTargetsAndShapes() throws {
        let x = try Tensor(zeros: [4, 3])
        let bad = try Tensor(shape: [4], scalars: [Int64(0), 2, 3, 1])
        expectError(.targetOutOfRange(loss: "cross_entropy", sample: 12, target: 3, classCount: 3)) {
            _ = try CrossEntropyLoss().terms(x, bad, startIndex: 10)
        }
        expectError(.targetOutOfRange(loss: "cross_entropy", sample: 0, target: -1, classCount: 3)) {
            _ = try CrossEntropyLoss()(x, Tensor(shape: [4], scalars: [Int64(-1), 0, 0, 0]))
        }
        expectError(.shapeMismatch(loss: "cross_entropy", argument: "target", expected: [4], found: [5])) {
            _ = try CrossEntropyLoss()(x, Tensor(zeros: [5], dtype: .int64))
        }
        // A float target holds probabilities and must have the input's shape.
        expectError(.shapeMismatch(loss: "cross_entropy", argument: "target", expected: [4, 3], found: [4])) {
            _ = try CrossEntropyLoss()(x, Tensor(zeros: [4]))
        }
        expectError(.invalidShape(loss: "cross_entropy", argument: "target", shape: [4], reason: "expected int64 class indices, found uint8")) {
            _ = try CrossEntropyLoss()(x, Tensor(zeros: [4], dtype: .uint8))
        }
        expectError(.shapeMismatch(loss: "cross_entropy", argument: "weight", expected: [3], found: [2])) {
            _ = try CrossEntropyLoss(weight: Tensor(zeros: [2]))(x, Tensor(zeros: [4], dtype: .int64))
        }
        expectError(.invalidArgument(loss: "cross_entropy", reason: "label_smoothing must be in [0, 1], got 1.5")) {
            _ = try CrossEntropyLoss(labelSmoothing: 1.5)(x, Tensor(zeros: [4], dtype: .int64))
        }
    }

    /// Every target ignored: torch's `mean` is 0/0 = NaN; Repro throws instead (sum stays 0).
    @Test func allTargetsIgnoredIsATypedErrorForMean() throws {
        let x = try Tensor(zeros: [2, 3]), y = try Tensor(shape: [2], scalars: [Int64(-100), -100])
        expectError(.emptyMean(loss: "cross_entropy")) { _ = try CrossEntropyLoss()(x, y) }
        expectError(.emptyMean(loss: "cross_entropy")) { _ = try CrossEntropyLoss().inputGradient(x, y) }
        #expect(try CrossEntropyLoss(reduction: .sum)(x, y).scalars(as: Float.self) == [0])
        #expect(try CrossEntropyLoss(reduction: .sum).inputGradient(x, y).scalars(as: Float.self) == [Float](repeating: 0, count: 6))
    }

    @Test func nonFiniteInputsNameTheLossAndTheGlobalSample() throws {
        var v = [Float](repeating: 0, count: 12)
        v[7] = .nan
        let x = try Tensor(shape: [4, 3], scalars: v)
        expectError(.nonFinite(loss: "cross_entropy", argument: "input", sample: 6)) {
            _ = try CrossEntropyLoss().terms(x, Tensor(zeros: [4], dtype: .int64), startIndex: 4)
        }
        expectError(.nonFinite(loss: "mse_loss", argument: "input", sample: 2)) { _ = try MSELoss()(x, Tensor(zeros: [4, 3])) }
        v[7] = 0
        v[10] = -.infinity
        expectError(.nonFinite(loss: "binary_cross_entropy_with_logits", argument: "target", sample: 3)) {
            _ = try BCEWithLogitsLoss()(Tensor(zeros: [4, 3]), Tensor(shape: [4, 3], scalars: v))
        }
        expectError(.nonFinite(loss: "binary_cross_entropy_with_logits", argument: "weight", sample: 0)) {
            _ = try BCEWithLogitsLoss(weight: Tensor(shape: [3], scalars: [Float(1), .nan, 1]))(Tensor(zeros: [4, 3]), Tensor(zeros: [4, 3]))
        }
        expectError(.nonFinite(loss: "generalized_box_iou_loss", argument: "input", sample: 1)) {
            _ = try GeneralizedIoULoss()(Tensor(shape: [2, 4], scalars: [Float(0), 0, 1, 1, 0, .infinity, 1, 1]), Tensor(zeros: [2, 4]))
        }
    }

    @Test func otherArgumentsAreChecked() throws {
        let x = try Tensor(zeros: [2, 3])
        expectError(.shapeMismatch(loss: "l1_loss", argument: "target", expected: [2, 3], found: [3, 2])) { _ = try L1Loss()(x, Tensor(zeros: [3, 2])) }
        expectError(.invalidArgument(loss: "smooth_l1_loss", reason: "beta must be a finite value ≥ 0, got -1.0")) {
            _ = try SmoothL1Loss(beta: -1)(x, x)
        }
        expectError(.shapeMismatch(loss: "binary_cross_entropy_with_logits", argument: "pos_weight", expected: [2, 3], found: [2])) {
            _ = try BCEWithLogitsLoss(posWeight: Tensor(zeros: [2]))(x, x)
        }
        expectError(.invalidShape(loss: "generalized_box_iou_loss", argument: "input", shape: [2, 3], reason: "expected boxes [N, …, 4]")) {
            _ = try GeneralizedIoULoss()(x, x)
        }
        expectError(.emptyMean(loss: "l1_loss")) { _ = try L1Loss()(Tensor(zeros: [0, 3]), Tensor(zeros: [0, 3])) }
        expectError(.shapeMismatch(loss: "mse_loss", argument: "output gradient", expected: [2, 3], found: [2])) {
            _ = try MSELoss().inputGradient(x, x, outputGradient: .none(Tensor(zeros: [2])))
        }
        expectError(.merge(.gap(expected: 2, found: 3))) {
            var t = try L1Loss().terms(x, x, startIndex: 0)
            try t.append(L1Loss().terms(x, x, startIndex: 3))
        }
        expectError(.invalidArgument(loss: "sigmoid_focal_loss", reason: "gamma must be finite and ≥ 0 and alpha finite (gamma -1.0, alpha 0.25)")) {
            _ = try SigmoidFocalLoss(gamma: -1)(x, x)
        }
    }
}
