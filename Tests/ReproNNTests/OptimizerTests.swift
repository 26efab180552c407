import Foundation
import Testing
import ReproTensor
import ReproRandom
import _ReproTestSupport
@testable import ReproNN

@Suite struct OptimizerTests {
    /// Runs a fixture configuration for `steps` steps from the initial parameters.
    static func run(_ name: String, _ arithmetic: TorchArithmetic, steps: Int = 5)
        throws -> (AnyOptimizer, [Tensor], OptimFixture) {
        let fx = try OptimFixture.load()
        let cfg = try fx.config(name)
        var opt = try AnyOptimizer(cfg, names: fx.names, shapes: fx.shapes, arithmetic: arithmetic)
        let order = opt.parameters.map(\.name)
        var params = try order.map { try fx.tensor("initial.\($0)") }
        let index = Dictionary(uniqueKeysWithValues: fx.names.enumerated().map { ($1, $0) })
        for grads in try fx.gradients(cfg, steps: 0..<steps) {
            try opt.step(&params, gradients: order.map { grads[index[$0]!] })
        }
        return (opt, params, fx)
    }

    static let cases: [(String, TorchArithmetic)] = {
        let names = (try? OptimFixture.load().configNames) ?? []
        return names.flatMap { n in TorchArithmetic.allCases.map { (n, $0) } }
    }()

    /// Fed torch's gradients for 5 steps over lengths 1…1000, parameters and every state tensor
    /// equal torch's bit for bit, for both kernel sets (fixtures from ATEN_CPU_CAPABILITY=default
    /// and =avx512, MKL_ENABLE_INSTRUCTIONS=AVX2).
    @Test(arguments: cases)
    func matchesTorchBitForBit(_ name: String, _ arithmetic: TorchArithmetic) throws {
        let (opt, params, fx) = try Self.run(name, arithmetic)
        let prefix = "\(arithmetic.rawValue).\(name)"
        var compared = 0
        for (p, value) in zip(opt.parameters, params) {
            #expect(try bits(value) == bits(fx.tensor("\(prefix).param.\(p.name)")), "\(prefix) \(p.name)")
            let want = fx.tensors.keys.filter { $0.hasPrefix("\(prefix).state.\(p.name).") }
            let ours = opt.state.parameters[p.name]?.fields ?? []
            #expect(Set(ours.map { "\(prefix).state.\(p.name).\($0.0)" }) == Set(want), "\(prefix) \(p.name) state keys")
            for (field, t) in ours {
                let key = "\(prefix).state.\(p.name).\(field)"
                guard want.contains(key) else { continue }
                #expect(try bits(t) == bits(fx.tensor(key)), "\(key)")
                compared += 1
            }
        }
        #expect(compared > 0 || name == "sgd_plain")
    }

    /// The kernel set matters: the two emulations differ on these inputs (so each test above
    /// could fail if the wrong one were used), and so do torch's two fixtures.
    @Test func kernelSetsGiveDifferentBits() throws {
        for name in ["sgd_momentum", "adamw_amsgrad"] {
            let fused = try Self.run(name, .fused).1, unfused = try Self.run(name, .unfused).1
            #expect(try fused.map(bits) != unfused.map(bits), "\(name)")
        }
        let fx = try OptimFixture.load()
        let differing = try fx.meta["elements_differing_between_kernel_sets"]["adam"].int64
        #expect(differing > 0)
    }

    /// A frozen parameter (gradient always nil) gets no state and keeps its value; one skipped for
    /// a single step gets one step fewer (Adam's per-parameter float32 step), as torch does.
    @Test func frozenParametersAreSkippedLikeTorch() throws {
        let (opt, params, fx) = try Self.run("adamw_groups_frozen", .fused)
        let frozen = fx.names[2]
        #expect(opt.state.parameters[frozen] == nil)
        let i = opt.parameters.firstIndex { $0.name == frozen }!
        #expect(try bits(params[i]) == bits(fx.tensor("initial.\(frozen)")))
        #expect(opt.state.parameters[fx.names[5]]?.step == 4)
        #expect(opt.state.parameters[fx.names[0]]?.step == 5)
        #expect(opt.state.steps == 5)
    }

    /// Save after 2 steps, restore into a fresh optimizer rebuilt from the JSON-encoded groups,
    /// continue 3 steps: identical bits to 5 uninterrupted steps.
    @Test(arguments: ["sgd_nesterov", "adamw_amsgrad", "adam_maximize_small_beta1", "sgd_groups_frozen"])
    func saveRestoreContinueEqualsUninterrupted(_ name: String) throws {
        let (full, fullParams, fx) = try Self.run(name, .fused)
        var (first, params, _) = try Self.run(name, .fused, steps: 2)
        let saved = first.savedState()
        var resumed: AnyOptimizer
        switch first {
        case .sgd(let o):
            let groups = try JSONDecoder().decode([ParameterGroup<SGD.Options>].self, from: JSONEncoder().encode(o.groups))
            resumed = .sgd(try SGD(groups: groups, arithmetic: o.arithmetic))
        case .adam(let o):
            let groups = try JSONDecoder().decode([ParameterGroup<Adam.Options>].self, from: JSONEncoder().encode(o.groups))
            resumed = .adam(try Adam(groups: groups, arithmetic: o.arithmetic))
        }
        try resumed.restoreState(saved)
        first = resumed
        let cfg = try fx.config(name)
        let index = Dictionary(uniqueKeysWithValues: fx.names.enumerated().map { ($1, $0) })
        let order = first.parameters.map(\.name)
        for grads in try fx.gradients(cfg, steps: 2..<5) {
            try first.step(&params, gradients: order.map { grads[index[$0]!] })
        }
        #expect(try params.map(bits) == fullParams.map(bits))
        let a = first.savedState(), b = full.savedState()
        #expect(a.map(\.name) == b.map(\.name))
        for (x, y) in zip(a, b) { #expect(x.tensor.bitsHash == y.tensor.bitsHash, "\(x.name)") }
    }

    /// The model convenience walks the tree: same bits as the array API, buffers untouched.
    @Test func updatesAModelThroughItsWalk() throws {
        var g = TorchGenerator(seed: 7)
        var model = try Linear(inFeatures: 5, outFeatures: 3, generator: &g)
        try model.prepare(in: .root)
        var opt = try Adam(model: model, options: .adamW(learningRate: 0.01))
        #expect(opt.parameters.map(\.name) == ["weight", "bias"])
        var arrays = try Adam(model: model, options: .adamW(learningRate: 0.01))
        let gw = try Tensor(shape: [3, 5], scalars: (0..<15).map { Float($0) * 0.1 - 0.7 })
        let gb = try Tensor(shape: [3], scalars: [Float(0.3), -0.2, 0.1])
        var values = [model.weight, model.bias!]
        try opt.step(&model, gradients: ["weight": gw, "bias": gb])
        try arrays.step(&values, gradients: [gw, gb])
        #expect(try bits(model.weight) == bits(values[0]))
        #expect(try bits(model.bias!) == bits(values[1]))
        #expect(try bits(model.weight) != bits(try Linear(inFeatures: 5, outFeatures: 3, generator: &g).weight))
        #expect(throws: OptimizerError.unknownParameter("weights")) { try opt.step(&model, gradients: ["weights": gw]) }
        _ = try model(try Tensor(zeros: [2, 5]))  // prepared again after the update
    }

    /// The example of docs/training.md ("API"), verbatim, runs.
    @Test func trainingDocExampleRuns() throws {
        var g = TorchGenerator(seed: 0)
        var model = try Linear(inFeatures: 4, outFeatures: 2, generator: &g)
        try model.prepare(in: .root)
        var optimizer = try Adam(model: model, options: .adamW(learningRate: 1e-3, weightDecay: 0.05))
        var schedule = try LearningRateSchedule(.linear(startFactor: 0.1, endFactor: 1, totalIterations: 5),
                                                learningRates: optimizer.learningRates)
        try schedule.apply(to: &optimizer)
        let gradients: [String: Tensor] = ["weight": try Tensor(zeros: [2, 4]), "bias": try Tensor(zeros: [2])]
        var clipped: [Tensor?] = [gradients["weight"], gradients["bias"]]
        try clipGradientNorm(&clipped, max: 1.0)
        try optimizer.step(&model, gradients: ["weight": clipped[0]!, "bias": clipped[1]!])
        try schedule.step()
        try schedule.apply(to: &optimizer)
        #expect(optimizer.learningRates == schedule.learningRates && optimizer.state.steps == 1)
    }

    // MARK: bad input

    static func smallSGD() throws -> (SGD, [Tensor]) {
        let opt = try SGD(parameters: [("a", [2]), ("b", [3])], options: .init(learningRate: 0.1, momentum: 0.9))
        return (opt, [try Tensor(shape: [2], scalars: [Float(1), 2]), try Tensor(shape: [3], scalars: [Float(1), 2, 3])])
    }

    @Test func shapeMismatchedGradientIsRefused() throws {
        var (opt, p) = try Self.smallSGD()
        let before = try p.map(bits)
        #expect(throws: OptimizerError.shapeMismatch(parameter: "b", expected: [3], actual: [4])) {
            try opt.step(&p, gradients: [nil, try Tensor(zeros: [4])])
        }
        #expect(throws: OptimizerError.countMismatch(expected: 2, actual: 1, what: "gradients")) {
            try opt.step(&p, gradients: [nil])
        }
        #expect(throws: OptimizerError.notFloat32(parameter: "a")) {
            try opt.step(&p, gradients: [try Tensor(zeros: [2], dtype: .float64), nil])
        }
        #expect(try p.map(bits) == before)
    }

    /// A NaN or infinite gradient names the parameter, the element and the step; nothing changes.
    @Test func nonFiniteGradientNamesParameterAndStep() throws {
        var (opt, p) = try Self.smallSGD()
        try opt.step(&p, gradients: [try Tensor(shape: [2], scalars: [Float(1), 1]), try Tensor(zeros: [3])])
        let before = try p.map(bits), stateBefore = opt.savedState().map(\.tensor.bitsHash)
        #expect(throws: OptimizerError.nonFiniteGradient(parameter: "b", step: 2, index: 1)) {
            try opt.step(&p, gradients: [try Tensor(shape: [2], scalars: [Float(1), 1]),
                                         try Tensor(shape: [3], scalars: [Float(0), .nan, 1])])
        }
        #expect(throws: OptimizerError.nonFiniteGradient(parameter: "a", step: 2, index: 0)) {
            try opt.step(&p, gradients: [try Tensor(shape: [2], scalars: [-Float.infinity, 1]), nil])
        }
        #expect(try p.map(bits) == before)
        #expect(opt.savedState().map(\.tensor.bitsHash) == stateBefore)
        #expect(opt.state.steps == 1)
    }

    /// A state saved for another model: the first mismatching key is named.
    @Test func stateForAnotherModelIsRefused() throws {
        var (opt, p) = try Self.smallSGD()
        try opt.step(&p, gradients: [try Tensor(zeros: [2]), try Tensor(zeros: [3])])
        var other = try SGD(parameters: [("a", [2]), ("b", [4])], options: .init(learningRate: 0.1, momentum: 0.9))
        #expect(throws: OptimizerError.stateMismatch(key: "state.b.momentum_buffer", reason: "shape [3], the parameter's is [4]")) {
            try other.restoreState(opt.savedState())
        }
        var renamed = try SGD(parameters: [("a", [2]), ("c", [3])], options: .init(learningRate: 0.1, momentum: 0.9))
        #expect(throws: OptimizerError.stateMismatch(key: "state.b.momentum_buffer", reason: "not a state field of any parameter of this optimizer")) {
            try renamed.restoreState(opt.savedState())
        }
        var adam = try Adam(parameters: [("a", [2]), ("b", [3])], options: .init())
        #expect(throws: OptimizerError.self) { try adam.restoreState(opt.savedState()) }
        var partial = try Adam(parameters: [("a", [2])], options: .init())
        var pa = [p[0]]
        try partial.step(&pa, gradients: [try Tensor(zeros: [2])])
        let dropped = partial.savedState().filter { $0.name != "state.a.exp_avg_sq" }
        #expect(throws: OptimizerError.stateMismatch(key: "state.a.exp_avg_sq", reason: "missing while other fields of a are present")) {
            try partial.restoreState(dropped)
        }
    }

    /// torch's constructor checks.
    @Test func hyperparametersOutOfRangeAreRefused() throws {
        let p = [("w", [1])]
        #expect(throws: OptimizerError.invalidHyperparameter("Invalid learning rate: -0.1")) {
            _ = try SGD(parameters: p, options: .init(learningRate: -0.1))
        }
        #expect(throws: OptimizerError.invalidHyperparameter("Nesterov momentum requires a momentum and zero dampening")) {
            _ = try SGD(parameters: p, options: .init(learningRate: 0.1, nesterov: true))
        }
        #expect(throws: OptimizerError.invalidHyperparameter("Invalid beta parameter at index 0: 1.0")) {
            _ = try Adam(parameters: p, options: .init(betas: (1.0, 0.999)))
        }
        #expect(throws: OptimizerError.invalidHyperparameter("Invalid beta parameter at index 1: -0.5")) {
            _ = try Adam(parameters: p, options: .init(betas: (0.9, -0.5)))
        }
        #expect(throws: OptimizerError.invalidHyperparameter("Invalid epsilon value: -1e-08")) {
            _ = try Adam(parameters: p, options: .init(eps: -1e-8))
        }
        #expect(throws: OptimizerError.invalidHyperparameter("Invalid learning rate: nan")) {
            _ = try Adam(parameters: p, options: .init(learningRate: .nan))
        }
        #expect(throws: OptimizerError.emptyParameterList) { _ = try SGD(parameters: [], options: .init(learningRate: 0.1)) }
        #expect(throws: OptimizerError.duplicateParameter("w")) {
            _ = try SGD(groups: [.init(parameters: [.init(name: "w", shape: [1])], options: .init(learningRate: 0.1)),
                                 .init(parameters: [.init(name: "w", shape: [1])], options: .init(learningRate: 0.2))])
        }
        var opt = try SGD(parameters: p, options: .init(learningRate: 0.1))
        #expect(throws: OptimizerError.invalidHyperparameter("Invalid learning rate: -1.0")) {
            try opt.setHyperparameters(learningRates: [-1])
        }
        #expect(opt.learningRates == [0.1])
    }

    /// Adam's step count is a float32, as torch's 0-d tensor: it stops at 2²⁴.
    @Test func adamStepSaturatesAtTwoToThe24() throws {
        var opt = try Adam(parameters: [("w", [1])], options: .init())
        opt.state.parameters["w"] = ParameterState(step: 16_777_216, expAvg: try Tensor(zeros: [1]), expAvgSq: try Tensor(zeros: [1]))
        var p = [try Tensor(zeros: [1])]
        try opt.step(&p, gradients: [try Tensor(repeating: Float(1), shape: [1])])
        #expect(opt.state.parameters["w"]?.step == 16_777_216)
    }
}

@Suite struct OptimizerMKLSqrtTests {
    /// torch's own Adam on the machine that made the fixtures uses MKL's vector sqrt, which is
    /// 1 ulp off the correctly rounded root for ~17 % of inputs there (the reference runs replace
    /// it by a correctly rounded one, which Repro matches bit for bit). Against torch's unmodified
    /// run Repro is within 8 ulps after 5 steps (4 measured): each step's denominator can be off by
    /// one rounding, and the parameter accumulates those offsets. The fixture records the difference,
    /// so this test also fails if the emulation drifts further.
    @Test(arguments: OptimizerTests.cases.filter { $0.0.hasPrefix("adam") })
    func adamWithinUlpsOfTorchsMKLSqrt(_ name: String, _ arithmetic: TorchArithmetic) throws {
        let (opt, params, fx) = try OptimizerTests.run(name, arithmetic)
        var worst: Int64 = 0
        for (p, value) in zip(opt.parameters, params) {
            let theirs = try bits(fx.tensor("\(arithmetic.rawValue).mkl_sqrt.\(name).param.\(p.name)"))
            for (a, b) in zip(try bits(value), theirs) {
                worst = max(worst, abs(Int64(Int32(bitPattern: a)) - Int64(Int32(bitPattern: b))))
            }
        }
        #expect(worst <= 8, "\(name) \(arithmetic): \(worst) ulps from torch's MKL-sqrt run")
    }
}
