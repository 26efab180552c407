import Testing
import ReproNN
import ReproTensor

/// `BatchNorm2d.forward(_:in:adding:relu:)` (one tape node: normalise, add the shortcut,
/// rectify) against `forward(_:in:)`, `+` and `relu()` recorded one by one: the output, the
/// input's and the shortcut's gradients, the parameters' gradients and the running statistics
/// are the same bits, in training and evaluation mode, on 1–3 threads proven to run.
@Suite struct FusedBatchNormTests {
    struct Outcome: Equatable {
        var output: [UInt32], inputGradient: [UInt32], residualGradient: [UInt32], parameters: [[UInt32]], buffers: [String]
    }

    static func floats(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int32(truncatingIfNeeded: state >> 32)) / Float(Int32.max) * 3
        }
    }

    static func run(fused: Bool, residual withResidual: Bool, relu: Bool, mode: TrainingMode) throws -> Outcome {
        let n = 4, h = 5, w = 6, c = 80
        var bn = try BatchNorm2d(numFeatures: c)
        bn.weight = try Tensor(shape: [c], scalars: floats(c, seed: 1))
        bn.bias = try Tensor(shape: [c], scalars: floats(c, seed: 2))
        bn.runningMean = try Tensor(shape: [c], scalars: floats(c, seed: 3))
        bn.runningVar = try Tensor(shape: [c], scalars: floats(c, seed: 4).map { abs($0) + 0.5 })
        let tape = GradientTape(samples: 0..<n, mode: mode)
        let scope = TrainingScope(tape: tape)
        let x = try tape.watched(Tensor(shape: [n, h, w, c], scalars: floats(n * h * w * c, seed: 5)))
        let r = try tape.watched(Tensor(shape: [n, h, w, c], scalars: floats(n * h * w * c, seed: 6)))
        var y: Variable
        if fused {
            y = try bn.forward(x, in: scope.child("bn"), adding: withResidual ? r : nil, relu: relu)
        } else {
            y = try bn.forward(x, in: scope.child("bn"))
            if withResidual { y = try y + r }
            if relu { y = y.relu() }
        }
        let output = y.data.map(\.bitPattern)
        let loss = try y.flattened().crossEntropy(targets: (0..<n).map { $0 * 37 % (h * w * c) })
        try tape.backward(from: loss, seed: 0.25)
        func bits(_ t: Tensor?) throws -> [UInt32] { try t?.contiguous().scalars(as: Float.self).map(\.bitPattern) ?? [] }
        return Outcome(output: output, inputGradient: try bits(tape.gradient(of: x)),
                       residualGradient: try bits(tape.gradient(of: r)),
                       parameters: [try bits(tape.gradient(ofParameter: "bn.weight")), try bits(tape.gradient(ofParameter: "bn.bias"))],
                       buffers: tape.bufferUpdates.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.bitsHash)" })
    }

    @Test func fusedNodeEqualsTheComposition() throws {
        for mode in [TrainingMode.training, .evaluation] {
            for (withResidual, relu) in [(false, true), (true, false), (true, true), (false, false)] {
                let want = try Self.run(fused: false, residual: withResidual, relu: relu, mode: mode)
                #expect(!want.inputGradient.isEmpty && want.residualGradient.isEmpty != withResidual)
                if relu { #expect(want.output.contains(0), "some outputs rectified") }
                for t in [1, 2, 3] {
                    let pool = ThreadPool()
                    let got = try Runtime.withSettings(RuntimeSettings(threads: t)) {
                        try Runtime.withThreadPool(pool) { try Self.run(fused: true, residual: withResidual, relu: relu, mode: mode) }
                    }
                    // The training statistics run (sample, 64-channel block) chunks: 8 here.
                    if mode == .training { #expect(pool.statistics.largestTeam == (t == 1 ? 0 : t), "threads \(t)") }
                    #expect(got == want, "\(mode), residual \(withResidual), relu \(relu), threads \(t)")
                }
            }
        }
    }

    @Test func residualOfAnotherShapeIsRefused() throws {
        let tape = GradientTape(samples: 0..<2)
        let scope = TrainingScope(tape: tape)
        let bn = try BatchNorm2d(numFeatures: 3)
        let x = try tape.constant(Tensor(zeros: [2, 4, 4, 3]))
        let r = try tape.constant(Tensor(zeros: [2, 4, 4, 2]))
        #expect(throws: AutogradError.self) { _ = try bn.forward(x, in: scope.child("bn"), adding: r, relu: true) }
    }
}
