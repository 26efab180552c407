import Testing
import ReproNN
import ReproRandom
@_spi(Kernels) import ReproTensor
import _ReproTestSupport

/// A small CNN for the invariance tests (and, later, the training-loop tests): two convolutions
/// with a norm (GroupNorm or BatchNorm) and ReLU, average pooling, dropout, a linear classifier.
struct SmallCNN: DifferentiableLayer {
    var features: Sequential
    var dropout = Dropout(p: 0.25)
    var fc: Linear

    init(batchNorm: Bool, seed: Int64 = 3) throws {
        var g = TorchGenerator(seed: seed)
        func norm(_ c: Int) throws -> any Layer { batchNorm ? try BatchNorm2d(numFeatures: c) : try GroupNorm(numGroups: 4, numChannels: c) }
        features = Sequential([
            try Conv2d(inChannels: 3, outChannels: 16, kernelSize: 3, padding: 1, generator: &g), try norm(16), ReLU(),
            try Conv2d(inChannels: 16, outChannels: 16, kernelSize: 3, stride: 2, padding: 1, bias: false, generator: &g),
            try norm(16), ReLU(),
        ])
        fc = try Linear(inFeatures: 16, outFeatures: 5, generator: &g)
        try prepare(in: .root)
    }

    mutating func walk<V: ModuleVisitor>(_ walker: inout ModuleWalker<V>) throws(ModuleError) {
        try walker.child("features", &features)
        try walker.child("fc", &fc)
    }

    mutating func prepare(in scope: ModuleScope) throws(ModuleError) {
        try features.prepare(in: scope.child("features"))
        try fc.prepare(in: scope.child("fc"))
    }

    func forward(_ input: Tensor, in scope: ModuleScope) throws(ModuleError) -> Tensor {
        throw .invalidConfiguration("SmallCNN is a training-test model")
    }

    func forward(_ input: Variable, in scope: TrainingScope) throws(AutogradError) -> Variable {
        let h = try features.forward(input, in: scope.child("features"))
        let pooled = try h.adaptiveAvgPool2d(outputHeight: 1, outputWidth: 1).flattened()
        return try fc.forward(dropout.forward(pooled, in: scope.child("dropout")), in: scope.child("fc"))
    }

    /// A deterministic global batch: `n` NHWC 16×16 images (each sample its own values) and labels.
    static func batch(_ n: Int = 8, seed: UInt64 = 11) throws -> (images: Tensor, labels: [Int]) {
        var state = seed
        let values: [Float] = (0..<(n * 16 * 16 * 3)).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int32(truncatingIfNeeded: state >> 32)) / Float(Int32.max)
        }
        return (try Tensor(shape: [n, 16, 16, 3], scalars: values), (0..<n).map { ($0 * 3 + 1) % 5 })
    }

    /// The loss and gradients of the global batch, split as `microBatches`.
    func gradients(_ batch: (images: Tensor, labels: [Int]), microBatches: [Int], options: GradientOptions = .init())
        throws -> GradientResult {
        try valueAndGradient(of: self, batchSize: batch.labels.count, microBatches: microBatches, options: options) { model, scope in
            let x = try scope.constant(samplesOf: batch.images)
            return try model.forward(x, in: scope).crossEntropy(targets: Array(batch.labels[scope.samples]))
        }
    }
}

/// Gradients have the same bits for every thread count and micro-batch split.
@Suite struct AutogradInvarianceTests {
    static let splits: [[Int]] = [[8], [4, 4], [3, 3, 2], [2, 2, 2, 2], [1, 1, 1, 1, 1, 1, 1, 1], [5, 3], [1, 7]]

    /// Runs `body` with `threads` threads on a pool of its own and returns the pool's largest team.
    static func onThreads<R>(_ threads: Int, _ body: () throws -> R) throws -> (R, Int) {
        let pool = ThreadPool()
        let r = try Runtime.withSettings(RuntimeSettings(threads: threads)) { try Runtime.withThreadPool(pool) { try body() } }
        return (r, pool.statistics.largestTeam)
    }

    /// ``Gradients/digest`` and the loss's bit pattern of the reference run (whole batch, default
    /// threads: every thread count gives the same bits), printed by this test in a DEBUG build
    /// (`swift test --filter AutogradInvarianceTests`, Swift 6.3, x86-64); the release build (CI)
    /// must reproduce them. Re-pinned when dropout moved to `CounterDropout`'s masks and
    /// `crossEntropy(targets:)` to the `CrossEntropyLoss` tape op, and again when the tape's
    /// GroupNorm moved to `GroupNormKernel` (float64 statistics; was 53b3ffec…, loss 1_070_953_449).
    static let pinnedDigest = "227dfe9b1dbaefc876e9b2c5db86ee67865b0321098ffb26a08299237cb86798"
    static let pinnedLossBits: UInt32 = 1_070_953_450

    @Test func groupNormCNNWithDropoutIsInvariantToThreadsAndSplits() throws {
        let model = try SmallCNN(batchNorm: false)
        let batch = try SmallCNN.batch()
        let options = GradientOptions(randomness: DropoutRandomness(seed: 42, step: 3))
        let reference = try model.gradients(batch, microBatches: [8], options: options)
        #expect(reference.gradients.names == model.parameterSpecs.filter { !$0.isBuffer }.map(\.name))
        for run in 0..<2 {
            for threads in [1, 2, 3, 4, 7] {
                for split in Self.splits {
                    let (r, team) = try Self.onThreads(threads) { try model.gradients(batch, microBatches: split, options: options) }
                    #expect(team == (threads == 1 ? 0 : threads), "threads \(threads): largest team \(team)")
                    #expect(r.loss.bitPattern == reference.loss.bitPattern, "run \(run) threads \(threads) split \(split): loss")
                    #expect(r.gradients.digest == reference.gradients.digest, "run \(run) threads \(threads) split \(split)")
                }
            }
        }
        print("AutogradInvarianceTests digest \(reference.gradients.digest) loss bits \(reference.loss.bitPattern)")
        #expect(reference.gradients.digest == Self.pinnedDigest)
        #expect(reference.loss.bitPattern == Self.pinnedLossBits)
    }

    @Test func dropoutMasksDependOnStepNotSplit() throws {
        let model = try SmallCNN(batchNorm: false)
        let batch = try SmallCNN.batch()
        let a = try model.gradients(batch, microBatches: [8], options: GradientOptions(randomness: DropoutRandomness(seed: 42, step: 3)))
        let b = try model.gradients(batch, microBatches: [8], options: GradientOptions(randomness: DropoutRandomness(seed: 42, step: 4)))
        let eval = try model.gradients(batch, microBatches: [3, 5], options: GradientOptions(mode: .evaluation))
        let evalWhole = try model.gradients(batch, microBatches: [8], options: GradientOptions(mode: .evaluation))
        #expect(a.gradients.digest != b.gradients.digest)
        #expect(eval.gradients.digest == evalWhole.gradients.digest)
    }

    @Test func batchNormTrainingIsInvariantToThreadsAndRefusesSplits() throws {
        let model = try SmallCNN(batchNorm: true)
        let batch = try SmallCNN.batch()
        let reference = try model.gradients(batch, microBatches: [8])
        for threads in [1, 2, 4] {
            let (r, team) = try Self.onThreads(threads) { try model.gradients(batch, microBatches: [8]) }
            #expect(team == (threads == 1 ? 0 : threads))
            #expect(r.gradients.digest == reference.gradients.digest, "threads \(threads)")
            #expect(r.bufferUpdates.keys.sorted() == reference.bufferUpdates.keys.sorted())
            for (k, v) in r.bufferUpdates { #expect(v.bitsHash == reference.bufferUpdates[k]!.bitsHash, "\(k)") }
        }
        #expect(reference.bufferUpdates["features.1.num_batches_tracked"].map { try! $0.scalars(as: Int64.self) } == [1])
        #expect(throws: AutogradError.batchStatisticsWithMicroBatches(globalBatchSize: 8, microBatches: 2)) {
            _ = try model.gradients(batch, microBatches: [4, 4])
        }
        // Allowed on request: per-micro-batch statistics, as PyTorch's gradient accumulation.
        let split = try model.gradients(batch, microBatches: [4, 4],
                                        options: GradientOptions(allowsBatchStatisticsWithMicroBatches: true))
        #expect(split.gradients.digest != reference.gradients.digest)
    }

    /// A network whose second convolution takes the Winograd weight-gradient path (24 → 24 channels,
    /// 3×3, a 16×16 plane) and the Winograd input gradient: its gradients have the same bits for
    /// threads 1/2/4 and every micro-batch split (the per-sample `dWₙ` and the canonical tree).
    @Test func winogradBackwardIsInvariantToThreadsAndSplits() throws {
        var g = TorchGenerator(seed: 5)
        let model = Sequential([
            try Conv2d(inChannels: 3, outChannels: 24, kernelSize: 3, padding: 1, generator: &g), try GroupNorm(numGroups: 4, numChannels: 24), ReLU(),
            try Conv2d(inChannels: 24, outChannels: 24, kernelSize: 3, padding: 1, bias: false, generator: &g),
            try GroupNorm(numGroups: 4, numChannels: 24), ReLU(),
        ])
        let geometry = try ConvGeometry(batch: 8, inChannels: 24, height: 16, width: 16, outChannels: 24, kernelHeight: 3, kernelWidth: 3,
                                        stride: (1, 1), padding: (1, 1), dilation: (1, 1), groups: 1)
        #expect(Conv2dBackward.weightGradientPath(geometry) == .winograd)
        #expect(Conv2dBackward.inputGradientPath(geometry) == .winograd)
        let batch = try SmallCNN.batch()
        func gradients(_ split: [Int]) throws -> GradientResult {
            try valueAndGradient(of: model, batchSize: 8, microBatches: split) { model, scope in
                let x = try scope.constant(samplesOf: batch.images)
                let h = try model.forward(x, in: scope).adaptiveAvgPool2d(outputHeight: 1, outputWidth: 1).flattened()
                return try h.crossEntropy(targets: Array(batch.labels[scope.samples]))
            }
        }
        let reference = try gradients([8])
        for threads in [1, 2, 4] {
            for split in Self.splits {
                let (r, team) = try Self.onThreads(threads) { try gradients(split) }
                #expect(team == (threads == 1 ? 0 : threads), "threads \(threads): largest team \(team)")
                #expect(r.loss.bitPattern == reference.loss.bitPattern, "threads \(threads) split \(split): loss")
                #expect(r.gradients.digest == reference.gradients.digest, "threads \(threads) split \(split)")
            }
        }
    }
}
