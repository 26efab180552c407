import Foundation
import Testing
import ReproNN
import ReproTensor
import ReproVision
import _ReproTestSupport

/// torchvision's ResNet-18 (10 classes, seed 0) trained in Repro against PyTorch 2.13
/// (`Tests/Fixtures/train/resnet18_parity.safetensors`, written by
/// `scripts/make_train_parity_fixtures.py`): one backward with batch norm in training mode, then
/// three SGD-with-momentum steps and three AdamW steps, each step a train-mode forward (running
/// statistics updated), a backward and the optimizer's step.
///
/// Both sides start from the same bits (ResNetExportTests proves the seeded initialisation is
/// torchvision's). They then differ by float32 rounding only: torch and Repro sum convolutions,
/// batch statistics and the loss in different orders and torch's `exp`/`log` are not Repro's.
/// Each tolerance below is about ten times the difference measured (printed by the tests), and
/// far below what a wrong formula gives (a wrong gradient rule, momentum, bias correction or
/// running-statistic update shows at 1e-2 of the scale or more).
///
/// A tensor is compared through its summary (the script's docstring): stored samples elementwise
/// against the tensor's largest magnitude, plus the float64 Euclidean norm and Thue–Morse
/// projection of *every* element, against the norm. For the optimizer steps the summaries
/// describe the weight change `final − initial`.
@Suite struct ResNet18TrainingParityTests {
    /// Gradients: worst sample error ÷ the tensor's largest gradient magnitude.
    static let gradientTolerance = 1e-4
    /// Weight changes after three steps: worst sample error ÷ the largest change of the tensor.
    /// AdamW normalises each element's step, so an element whose gradient is near rounding level
    /// can take a visibly different step (measured below); the norm checks keep the whole tensor
    /// honest.
    static let sgdStepTolerance = 1e-3
    static let adamWStepTolerance = 2e-2
    /// Norm and projection of a gradient or weight change, relative to the norm.
    static let normTolerance = 1e-3
    /// Losses per step, relative.
    static let lossTolerance = 1e-4
    /// Running statistics after three steps, relative to the tensor's largest magnitude.
    static let runningStatisticTolerance = 1e-4

    static func fixture() throws -> StateDict {
        try StateDict(bytes: [UInt8](Fixtures.data("train/resnet18_parity.safetensors")))
    }

    static func model() throws -> ResNet {
        var configuration = ResNetConfiguration.resnet18
        configuration.numClasses = 10
        return try ResNet(configuration: configuration, seed: 0)
    }

    static func floats(_ dict: StateDict, _ key: String) throws -> [Float] {
        try Tensor(checkpoint: dict.tensor(key), name: key).scalars()
    }

    /// A 1-element float64 fixture tensor (little-endian bytes).
    static func double(_ dict: StateDict, _ key: String) throws -> Double {
        let t = try dict.tensor(key)
        guard t.dtype == .float64, t.bytes.count == 8 else { throw FixtureError.malformed("\(key): expected one float64") }
        let bits = t.bytes.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        return Double(bitPattern: bits)
    }

    /// torch's summary of one tensor and ours, compared.
    struct Comparison {
        /// Worst sample error ÷ the reference's largest magnitude (of the change, for steps).
        var samples: Double
        /// |Δ norm| ÷ norm and |Δ projection| ÷ norm.
        var norm: Double
    }

    /// Compares `values` (minus `initial` for the change) with the fixture's summary under `key`.
    static func compare(_ dict: StateDict, _ key: String, values: [Float], initial: [Float]?) throws -> Comparison {
        let reference = try floats(dict, key + ".samples")
        let step = max(1, (values.count + reference.count - 1) / reference.count)
        let sampled = stride(from: 0, to: values.count, by: step).map { values[$0] }
        guard sampled.count == reference.count else {
            throw FixtureError.malformed("\(key): \(sampled.count) samples, fixture \(reference.count)")
        }
        let scale = Double(try floats(dict, key + ".maxabs")[0])
        var worst = 0.0
        for (a, b) in zip(sampled, reference) { worst = max(worst, abs(Double(a) - Double(b))) }
        var sumSquares = 0.0, projection = 0.0
        for i in values.indices {
            let d = Double(values[i]) - (initial.map { Double($0[i]) } ?? 0)
            sumSquares += d * d
            projection += i.nonzeroBitCount % 2 == 0 ? d : -d
        }
        let l2 = try double(dict, key + ".l2"), tm = try double(dict, key + ".tm")
        let norm = max(abs(sumSquares.squareRoot() - l2), abs(projection - tm)) / max(l2, .leastNormalMagnitude)
        return Comparison(samples: scale == 0 ? worst : worst / scale, norm: norm)
    }

    static func batch(_ dict: StateDict) throws -> (images: Tensor, targets: [Int]) {
        let images = try Tensor(checkpoint: dict.tensor("input"), name: "input").nhwcFromNCHW()
        let targets: [Int64] = try Tensor(checkpoint: dict.tensor("target"), name: "target").scalars()
        return (images, targets.map { Int($0) })
    }

    static func lossAndGradients(_ model: ResNet, _ batch: (images: Tensor, targets: [Int])) throws -> GradientResult {
        try valueAndGradient(of: model, batchSize: batch.targets.count) { model, scope in
            try model.forward(scope.constant(samplesOf: batch.images), in: scope).crossEntropy(targets: batch.targets)
        }
    }

    @Test(.enabled(if: DetectionReference.fullSizeModelRuns, "ResNet-18 backward: release builds, or REPRO_HEAVY_TESTS=1"))
    func gradientsMatchTorch() throws {
        let dict = try Self.fixture()
        let model = try Self.model()
        let result = try Self.lossAndGradients(model, Self.batch(dict))
        let loss = try Self.floats(dict, "grad.loss")[0]
        #expect(abs(result.loss - loss) <= Float(Self.lossTolerance) * abs(loss), "loss \(result.loss) vs \(loss)")
        let names = model.parameterSpecs.filter { !$0.isBuffer }.map(\.name)
        #expect(result.gradients.names == names)
        #expect(names.count == 62)
        var worst = Comparison(samples: 0, norm: 0)
        for name in names {
            let c = try Self.compare(dict, "grad.\(name)", values: result.gradients[name]!.scalars(), initial: nil)
            worst.samples = max(worst.samples, c.samples)
            worst.norm = max(worst.norm, c.norm)
            #expect(c.samples <= Self.gradientTolerance, "\(name): samples \(c.samples)")
            #expect(c.norm <= Self.normTolerance, "\(name): norm/projection \(c.norm)")
        }
        print("ResNet18TrainingParityTests gradients: loss \(result.loss) vs \(loss), worst sample error \(worst.samples) of max, worst norm error \(worst.norm)")
    }

    /// Three steps of `optimizer` from the seeded model; compares losses, weight changes and
    /// running statistics with the fixture's `prefix` set.
    func checkSteps<O: Optimizer>(_ prefix: String, _ make: (ResNet) throws -> O, stepTolerance: Double) throws {
        let dict = try Self.fixture()
        let batch = try Self.batch(dict)
        var model = try Self.model()
        let initial = model.stateDict
        var optimizer = try make(model)
        var losses: [Float] = []
        for _ in 0..<3 {
            let result = try Self.lossAndGradients(model, batch)
            losses.append(result.loss)
            model = try model.replacing(buffers: result.bufferUpdates)
            var named: [String: Tensor] = [:]
            for (name, g) in result.gradients.entries { named[name] = g }
            try optimizer.step(&model, gradients: named)
        }
        // The inference form the optimizer prepared after its last step is the one a model
        // loaded from scratch with the same tensors prepares: no prepared weight is stale.
        var fresh = try ResNet(configuration: model.configuration, seed: 1)
        let report = try fresh.load(stateDict: ResNetExportTests.orderedStateDict(model), strict: true)
        #expect(report.missing.isEmpty && report.unexpected.isEmpty)
        let inference = try model.forward(batch.images, in: .root)
        #expect(try inference.bitsHash == fresh.forward(batch.images, in: .root).bitsHash, "\(prefix): prepared form after the steps")
        #expect(try inference.bitsHash != Self.model().forward(batch.images, in: .root).bitsHash)

        let torchLosses = try Self.floats(dict, "\(prefix).losses")
        // Steps 1 and 2 agree (the second step's loss within 1e-6). The third step is not a
        // continuous function of float rounding on this trajectory
        // (scripts/train_parity_sensitivity.py): in torch's own step 2 the second ReLU of layer4.0
        // sees +1.08e-5 at one element, a gate that activations differing by ~1e-5 (another
        // summation order) can close; torch with that activation forced to 0 gives step-3 SGD loss
        // 0.082249 (Repro: 0.082247, torch as is: 0.082474), and noise of 3e-5 of the largest
        // gradient moves torch's own step-3 loss by up to 4.5e-3 (SGD) and 7e-3 (AdamW). Float-noise
        // tolerances cannot hold past that point, so the final state stays a known issue (issue 14)
        // until the fixture carries torch's own spread under such perturbations.
        for (i, (a, b)) in zip(losses, torchLosses).enumerated() where i < 2 {
            #expect(abs(a - b) <= Float(Self.lossTolerance) * abs(b), "\(prefix) step \(i + 1): loss \(a) vs \(b)")
        }
        try withKnownIssue("third step past a ReLU gate torch leaves open by 1.08e-5 (issue 14, scripts/train_parity_sensitivity.py)") {
            try compareFinalState(prefix, dict, model, initial: initial, losses: losses, torchLosses: torchLosses, stepTolerance: stepTolerance)
        }
    }

    func compareFinalState(_ prefix: String, _ dict: StateDict, _ model: ResNet, initial: [String: Tensor], losses: [Float],
                           torchLosses: [Float], stepTolerance: Double) throws {
        #expect(abs(losses[2] - torchLosses[2]) <= Float(Self.lossTolerance) * abs(torchLosses[2]), "\(prefix) step 3: loss")
        let final = model.stateDict
        var worst = Comparison(samples: 0, norm: 0), worstStatistic = 0.0
        for spec in model.parameterSpecs {
            let values = final[spec.name]!
            if spec.name.hasSuffix("num_batches_tracked") {
                let tracked: [Int64] = try values.scalars()
                #expect(tracked == [3], "\(prefix) \(spec.name)")
                let torchTracked: [Int64] = try Tensor(checkpoint: dict.tensor("\(prefix).after.\(spec.name)"), name: spec.name).scalars()
                #expect(torchTracked == [3])
            } else if spec.isBuffer {
                let e = Double(maxRelativeDifference(try values.scalars(), try Self.floats(dict, "\(prefix).after.\(spec.name)")))
                worstStatistic = max(worstStatistic, e)
                #expect(e <= Self.runningStatisticTolerance, "\(prefix) \(spec.name): \(e)")
            } else {
                let c = try Self.compare(dict, "\(prefix).\(spec.name)", values: values.scalars(), initial: initial[spec.name]!.scalars())
                worst.samples = max(worst.samples, c.samples)
                worst.norm = max(worst.norm, c.norm)
                #expect(c.samples <= stepTolerance, "\(prefix) \(spec.name): samples \(c.samples)")
                #expect(c.norm <= Self.normTolerance, "\(prefix) \(spec.name): norm/projection \(c.norm)")
            }
        }
        print("ResNet18TrainingParityTests \(prefix): losses \(losses) vs \(torchLosses), worst change sample error \(worst.samples) of max, worst norm error \(worst.norm), worst running statistic \(worstStatistic)")
    }

    @Test(.enabled(if: DetectionReference.fullSizeModelRuns, "ResNet-18 training: release builds, or REPRO_HEAVY_TESTS=1"))
    func threeSGDStepsMatchTorch() throws {
        try checkSteps("sgd", { try SGD(model: $0, options: .init(learningRate: 0.01, momentum: 0.9, weightDecay: 1e-4)) },
                       stepTolerance: Self.sgdStepTolerance)
    }

    @Test(.enabled(if: DetectionReference.fullSizeModelRuns, "ResNet-18 training: release builds, or REPRO_HEAVY_TESTS=1"))
    func threeAdamWStepsMatchTorch() throws {
        try checkSteps("adamw", { try Adam(model: $0, options: .adamW(learningRate: 1e-3, weightDecay: 0.01)) },
                       stepTolerance: Self.adamWStepTolerance)
    }
}
