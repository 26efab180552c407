import ReproTensor

/// Stochastic gradient descent as PyTorch's `torch.optim.SGD` computes it on CPU, bit for bit.
///
/// Per element, with `g` the gradient and `f(x)` a Python float rounded to float32:
/// `maximize` negates `g`; weight decay makes `g ← g + f(wd)·p`; momentum keeps a buffer that
/// starts as a copy of `g` and then becomes `buf·f(μ) + f(1−dampening)·g`; Nesterov uses
/// `g + f(μ)·buf`, plain momentum the buffer itself; finally `p ← p + f(−lr)·g`. Each `+ x·y`
/// is one fused multiply-add under ``TorchArithmetic/fused`` (torch's `add_(…, alpha:)`) and two
/// roundings under ``TorchArithmetic/unfused``; `buf·f(μ)` is always rounded on its own (`mul_`).
///
/// ```swift
/// var sgd = try SGD(parameters: [("w", [2])], options: .init(learningRate: 0.1, momentum: 0.9))
/// var w = [try Tensor(shape: [2], scalars: [Float(1), 2])]
/// try sgd.step(&w, gradients: [try Tensor(shape: [2], scalars: [Float(0.5), -0.5])])
/// ```
public struct SGD: Optimizer {
    /// SGD's hyper-parameters (torch's names in `snake_case` in the comments).
    public struct Options: OptimizerOptions {
        /// `lr`.
        public var learningRate: Double
        /// `momentum` (0: no buffer).
        public var momentum: Double
        /// `dampening`.
        public var dampening: Double
        /// `weight_decay` (L2, added to the gradient).
        public var weightDecay: Double
        /// `nesterov`.
        public var nesterov: Bool
        /// `maximize`: ascend instead of descend.
        public var maximize: Bool

        /// Creates options; torch's defaults except `lr`, which torch also requires.
        public init(learningRate: Double, momentum: Double = 0, dampening: Double = 0, weightDecay: Double = 0,
                    nesterov: Bool = false, maximize: Bool = false) {
            self.learningRate = learningRate
            self.momentum = momentum
            self.dampening = dampening
            self.weightDecay = weightDecay
            self.nesterov = nesterov
            self.maximize = maximize
        }

        /// `momentum` (what `OneCycleLR` cycles).
        public var cycledMomentum: Double {
            get { momentum }
            set { momentum = newValue }
        }

        /// torch's `ValueError` checks: `lr`, `momentum`, `weight_decay` ≥ 0 (NaN fails), and
        /// Nesterov needs a positive momentum and zero dampening.
        public func validate() throws(OptimizerError) {
            guard learningRate >= 0 else { throw .invalidHyperparameter("Invalid learning rate: \(learningRate)") }
            guard momentum >= 0 else { throw .invalidHyperparameter("Invalid momentum value: \(momentum)") }
            guard weightDecay >= 0 else { throw .invalidHyperparameter("Invalid weight_decay value: \(weightDecay)") }
            guard dampening.isFinite else { throw .invalidHyperparameter("Invalid dampening value: \(dampening)") }
            if nesterov && (momentum <= 0 || dampening != 0) {
                throw .invalidHyperparameter("Nesterov momentum requires a momentum and zero dampening")
            }
        }
    }

    /// The parameter groups.
    public var groups: [ParameterGroup<Options>]
    /// Momentum buffers and the step count.
    public var state = OptimizerState()
    /// The torch kernel set reproduced.
    public var arithmetic: TorchArithmetic

    /// An optimizer over parameter groups.
    ///
    /// - Throws: ``OptimizerError/emptyParameterList``, ``OptimizerError/duplicateParameter(_:)``,
    ///   ``OptimizerError/invalidHyperparameter(_:)``.
    public init(groups: [ParameterGroup<Options>], arithmetic: TorchArithmetic = .fused) throws(OptimizerError) {
        try Self.validate(groups)
        self.groups = groups
        self.arithmetic = arithmetic
    }

    /// `momentum_buffer` when the group uses momentum.
    public static func stateFields(for options: Options) -> [String] {
        options.momentum != 0 ? ["momentum_buffer"] : []
    }

    /// One parameter's update (torch's `_single_tensor_sgd` body).
    public static func update(_ parameter: inout Tensor, gradient: Tensor, state: inout ParameterState,
                              options o: Options, arithmetic: TorchArithmetic) {
        switch arithmetic {
        case .fused: update(FusedMultiplyAdd.self, &parameter, gradient, &state, o)
        case .unfused: update(UnfusedMultiplyAdd.self, &parameter, gradient, &state, o)
        }
    }

    private static func update<A: MultiplyAdd>(_: A.Type, _ parameter: inout Tensor, _ gradient: Tensor,
                                               _ state: inout ParameterState, _ o: Options) {
        let wd = Float(o.weightDecay), mu = Float(o.momentum), damp = Float(1 - o.dampening)
        let negLR = Float(-o.learningRate)
        let hasWD = o.weightDecay != 0, hasMomentum = o.momentum != 0
        let maximize = o.maximize, nesterov = o.nesterov
        let first = state.momentumBuffer == nil
        var buffer: Tensor? = hasMomentum ? (state.momentumBuffer ?? OptimKernels.zeros(like: parameter)) : nil
        func run(_ buf: UnsafeMutableBufferPointer<Float>?) {
            OptimKernels.withBuffers(&parameter, gradient) { p, g in
                OptimKernels.forEachRange(p.count) { range in
                    for i in range {
                        var d = maximize ? -g[i] : g[i]
                        if hasWD { d = A.madd(p[i], wd, d) }
                        if let buf {
                            let b = first ? d : A.madd(d, damp, buf[i] * mu)
                            buf[i] = b
                            d = nesterov ? A.madd(b, mu, d) : b
                        }
                        p[i] = A.madd(d, negLR, p[i])
                    }
                }
            }
        }
        if buffer != nil {
            OptimKernels.mutable(&buffer!) { run($0) }
            state.momentumBuffer = buffer
        } else {
            run(nil)
        }
    }
}
