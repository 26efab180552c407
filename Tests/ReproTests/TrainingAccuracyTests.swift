import Foundation
import Testing
import Repro
import _ReproTestSupport

/// The learning path end to end: cnn-small trained on the built-in data set with the recipe of
/// `repro train` (batch 64, AdamW, one-cycle up to lr 0.006), cut to one epoch (156 steps), must
/// classify the validation images far above chance (10 classes: 10 %). A broken gradient, loss,
/// optimizer, schedule or data path leaves the model near chance and fails this test.
///
/// About 30 s of CPU in a release build (CI runs `swift test -c release`); in a debug build only
/// with `REPRO_HEAVY_TESTS=1`.
@Suite struct TrainingAccuracyTests {
    @Test(.enabled(if: DetectionReference.fullSizeModelRuns, "release builds, or REPRO_HEAVY_TESTS=1"))
    func oneEpochOfTheBuiltInRecipeLearnsTheShapes() throws {
        let configuration = TrainingConfiguration(
            architecture: .cnnSmall, numClasses: 10, seed: 0, totalSteps: 156, batchSize: 64,
            optimizer: .adamW(.adamW(learningRate: 0.006, weightDecay: 0.01)), schedule: .oneCycle)
        var run = try TrainingRun(configuration: configuration, data: try TrainingData.builtIn(imageSize: 32))
        let before = try run.evaluate(on: try TrainingData.builtIn(split: .validation, count: 500, imageSize: 32))
        while !run.isFinished { _ = try run.step() }
        let after = try run.evaluate(on: try TrainingData.builtIn(split: .validation, count: 500, imageSize: 32))
        #expect(before.accuracy < 0.2, "the untrained model is near chance: \(before.accuracy)")
        #expect(after.accuracy >= 0.40, "one epoch of the built-in recipe: validation accuracy \(after.accuracy)")
        #expect(after.loss < before.loss * 0.6, "validation loss \(before.loss) → \(after.loss)")
    }
}
