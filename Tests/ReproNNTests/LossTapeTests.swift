import Testing
import ReproNN
import ReproTensor

/// The loss tape op: a class-weighted cross-entropy with `ignore_index` has split-invariant
/// gradients, and its input gradient is the loss's own.
@Suite struct LossTapeTests {
    /// Class-weighted cross-entropy; sample 5's label is `ignore_index`.
    static let loss = CrossEntropyLoss(weight: try! Tensor(shape: [5], scalars: [Float(1), 2, 0.5, 1.5, 0.75]))
    static let labels = try! Tensor(shape: [8], scalars: [Int64(1), 4, 2, 0, 3, -100, 4, 2])

    @Test func weightedCrossEntropyWithIgnoreIndexIsSplitInvariant() throws {
        let model = try SmallCNN(batchNorm: false)
        let images = try SmallCNN.batch(8).images
        let loss = Self.loss, labels = Self.labels
        let denominator = try loss.denominator(target: labels)
        func run(_ split: [Int]) throws -> GradientResult {
            try valueAndGradient(of: model, batchSize: 8, microBatches: split,
                                 options: GradientOptions(reduction: .sum, randomness: DropoutRandomness(seed: 7, step: 1))) { model, scope in
                let x = try scope.constant(samplesOf: images)
                return try model.forward(x, in: scope).loss(loss, target: labels.sliced(dim: 0, range: scope.samples),
                                                            denominator: denominator)
            }
        }
        let whole = try run([8]), split = try run([3, 3, 2]), ones = try run([1, 1, 1, 1, 1, 1, 1, 1])
        #expect(split.gradients.digest == whole.gradients.digest)
        #expect(ones.gradients.digest == whole.gradients.digest)
        #expect(split.loss.bitPattern == whole.loss.bitPattern)
        // The global denominator matters: a micro-batch's own would give other gradients.
        let local = try valueAndGradient(of: model, batchSize: 8, microBatches: [3, 3, 2],
                                         options: GradientOptions(reduction: .sum, randomness: DropoutRandomness(seed: 7, step: 1))) { model, scope in
            let x = try scope.constant(samplesOf: images)
            let y = try labels.sliced(dim: 0, range: scope.samples)
            return try model.forward(x, in: scope).loss(loss, target: y, denominator: loss.denominator(target: y))
        }
        #expect(local.gradients.digest != whole.gradients.digest)
    }

    @Test func inputGradientIsTheLossOwn() throws {
        let logits = try Tensor(shape: [6, 5], scalars: (0..<30).map { Float(($0 * 7) % 11) / 4 - 1 })
        let labels = try Tensor(shape: [6], scalars: [Int64(0), 4, -100, 2, 1, 3])
        let loss = Self.loss
        let denominator = try loss.denominator(target: labels)
        let expected: [Float] = try loss.inputGradient(logits, labels, outputGradient: .mean(denominator: denominator)).scalars()
        let value = try loss(logits, labels).scalars(as: Float.self)[0]
        for parts in [[6], [2, 4], [1, 2, 3]] {
            var start = 0, gradient: [Float] = [], perSample: [Float] = []
            for n in parts {
                let tape = GradientTape(samples: start..<(start + n))
                let x = try tape.watched(logits.sliced(dim: 0, range: start..<(start + n)))
                let out = try x.loss(loss, target: labels.sliced(dim: 0, range: start..<(start + n)), denominator: denominator)
                try tape.backward(from: out)
                gradient += try #require(tape.gradient(of: x)).scalars()
                perSample += out.data
                start += n
            }
            #expect(gradient.map(\.bitPattern) == expected.map(\.bitPattern), "split \(parts)")
            #expect(perSample[2] == 0)
            let sum = perSample.reduce(0, +)
            #expect(abs(sum - value) <= 1e-6 * abs(value), "split \(parts): Σ per-sample \(sum) vs mean \(value)")
        }
    }

    @Test func refusesAMeanWithoutDenominatorAndReductionNone() throws {
        let tape = GradientTape(samples: 0..<2)
        let x = try tape.watched(Tensor(shape: [2, 5], scalars: [Float](repeating: 0.5, count: 10)))
        let y = try Tensor(shape: [2], scalars: [Int64(0), 1])
        #expect(throws: AutogradError.self) { try x.loss(CrossEntropyLoss(), target: y) }
        #expect(throws: AutogradError.self) { try x.loss(CrossEntropyLoss(), target: y, denominator: 0) }
        #expect(throws: AutogradError.self) { try x.loss(CrossEntropyLoss(reduction: .none), target: y, denominator: 2) }
    }
}
