import ReproRandom
import ReproTensor

/// Adam and AdamW as PyTorch's `torch.optim.Adam` / `AdamW` compute them on CPU, bit for bit.
///
/// AdamW is Adam with decoupled weight decay (``Options/adamW(learningRate:betas:eps:weightDecay:amsgrad:maximize:)``),
/// exactly as torch 2.x implements it. Per parameter, with `f(x)` a Python float rounded to float32:
///
/// 1. `step ← step + 1` in float32 (torch keeps it in a 0-d float32 tensor, so it stops at 2²⁴).
/// 2. `maximize` negates the gradient `g`.
/// 3. Weight decay: decoupled `p ← p·f(1 − lr·wd)`; coupled `g ← g + f(wd)·p` (multiply-add).
/// 4. `m ← m.lerp(g, f(1−β₁))`: for a weight below 0.5 `m + w·(g−m)`, otherwise
///    `g + (w−1)·(g−m)` (torch's two `lerp` branches; each a multiply-add).
/// 5. `v ← v·f(β₂)`, then `v ← v + (f(1−β₂)·g)·g` (multiply-add).
/// 6. In doubles, as Python computes them: `bc1 = 1 − β₁**step`, `bc2 = 1 − β₂**step`,
///    `stepSize = lr / bc1`, `bc2Sqrt = bc2**0.5`, where `**` is the C library's `pow` (the one
///    compatibility call to libm here: Python's float power is that call, so matching torch
///    needs it; the bits then depend on the libm, glibc in the reference runs).
/// 7. amsgrad: `vmax ← max(vmax, v)` and `vmax` replaces `v` below.
/// 8. `denom ← sqrt(v) / f(bc2Sqrt) + f(eps)` (correctly rounded square root, true division),
///    `p ← p + (f(−stepSize)·m) / denom` (never fused: torch's `addcdiv_`).
///
/// "Multiply-add" follows ``TorchArithmetic``. torch's `sqrt` goes through MKL, whose bits depend
/// on the code path MKL picks for the CPU (1 ulp off for some inputs on several of them); Repro's
/// square root is IEEE's, what MKL's AVX2 path returns on Intel CPUs
/// (`MKL_ENABLE_INSTRUCTIONS=AVX2`), so the match is exact against a torch whose sqrt is
/// correctly rounded and within a few ulps otherwise (docs/training.md).
///
/// ```swift
/// var adamw = try Adam(parameters: [("w", [2])], options: .adamW(learningRate: 1e-3))
/// var w = [try Tensor(shape: [2], scalars: [Float(1), 2])]
/// try adamw.step(&w, gradients: [try Tensor(shape: [2], scalars: [Float(0.5), -0.5])])
/// ```
public struct Adam: Optimizer {
    /// Adam's hyper-parameters.
    public struct Options: OptimizerOptions {
        /// `lr`.
        public var learningRate: Double
        /// `betas[0]`: the first moment's decay.
        public var beta1: Double
        /// `betas[1]`: the second moment's decay.
        public var beta2: Double
        /// `eps`.
        public var eps: Double
        /// `weight_decay`.
        public var weightDecay: Double
        /// `amsgrad`.
        public var amsgrad: Bool
        /// `maximize`.
        public var maximize: Bool
        /// `decoupled_weight_decay` (`true` for AdamW).
        public var decoupledWeightDecay: Bool

        /// Creates options with torch's `Adam` defaults.
        public init(learningRate: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8,
                    weightDecay: Double = 0, amsgrad: Bool = false, maximize: Bool = false,
                    decoupledWeightDecay: Bool = false) {
            self.learningRate = learningRate
            self.beta1 = betas.0
            self.beta2 = betas.1
            self.eps = eps
            self.weightDecay = weightDecay
            self.amsgrad = amsgrad
            self.maximize = maximize
            self.decoupledWeightDecay = decoupledWeightDecay
        }

        /// torch's `AdamW`: decoupled weight decay, default `weight_decay` 1e-2.
        public static func adamW(learningRate: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8,
                                 weightDecay: Double = 1e-2, amsgrad: Bool = false, maximize: Bool = false) -> Options {
            Options(learningRate: learningRate, betas: betas, eps: eps, weightDecay: weightDecay, amsgrad: amsgrad,
                    maximize: maximize, decoupledWeightDecay: true)
        }

        /// `betas[0]` (what `OneCycleLR` cycles).
        public var cycledMomentum: Double {
            get { beta1 }
            set { beta1 = newValue }
        }

        /// torch's `ValueError` checks: `0 ≤ lr`, `0 ≤ eps`, `0 ≤ β₁ < 1`, `0 ≤ β₂ < 1`,
        /// `0 ≤ weight_decay` (NaN fails each).
        public func validate() throws(OptimizerError) {
            guard learningRate >= 0 else { throw .invalidHyperparameter("Invalid learning rate: \(learningRate)") }
            guard eps >= 0 else { throw .invalidHyperparameter("Invalid epsilon value: \(eps)") }
            guard beta1 >= 0 && beta1 < 1 else { throw .invalidHyperparameter("Invalid beta parameter at index 0: \(beta1)") }
            guard beta2 >= 0 && beta2 < 1 else { throw .invalidHyperparameter("Invalid beta parameter at index 1: \(beta2)") }
            guard weightDecay >= 0 else { throw .invalidHyperparameter("Invalid weight_decay value: \(weightDecay)") }
        }
    }

    /// The parameter groups.
    public var groups: [ParameterGroup<Options>]
    /// Moments, step counts and the optimizer's step count.
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

    /// `step`, `exp_avg`, `exp_avg_sq`, and `max_exp_avg_sq` with amsgrad.
    public static func stateFields(for options: Options) -> [String] {
        ["step", "exp_avg", "exp_avg_sq"] + (options.amsgrad ? ["max_exp_avg_sq"] : [])
    }

    /// One parameter's update (torch's `_single_tensor_adam` body, `capturable=False`).
    public static func update(_ parameter: inout Tensor, gradient: Tensor, state: inout ParameterState,
                              options o: Options, arithmetic: TorchArithmetic) {
        switch arithmetic {
        case .fused: update(FusedMultiplyAdd.self, &parameter, gradient, &state, o)
        case .unfused: update(UnfusedMultiplyAdd.self, &parameter, gradient, &state, o)
        }
    }

    /// The bias-correction scalars for a step count, in Python doubles:
    /// `(f(−lr / (1 − β₁**step)), f((1 − β₂**step)**0.5))`.
    static func scalars(_ o: Options, step: Float) -> (negStepSize: Float, bc2Sqrt: Float) {
        let s = Double(step)
        let bc1 = 1 - PlatformMath.pow(o.beta1, s)
        let bc2 = 1 - PlatformMath.pow(o.beta2, s)
        let stepSize = o.learningRate / bc1
        return (Float(-stepSize), Float(PlatformMath.pow(bc2, 0.5)))
    }

    private static func update<A: MultiplyAdd>(_: A.Type, _ parameter: inout Tensor, _ gradient: Tensor,
                                               _ state: inout ParameterState, _ o: Options) {
        let step = (state.step ?? 0) + 1
        state.step = step
        var m = state.expAvg ?? OptimKernels.zeros(like: parameter)
        var v = state.expAvgSq ?? OptimKernels.zeros(like: parameter)
        var vmax: Tensor? = o.amsgrad ? (state.maxExpAvgSq ?? OptimKernels.zeros(like: parameter)) : nil
        let maximize = o.maximize
        let coupled = o.weightDecay != 0 && !o.decoupledWeightDecay
        let decoupled = o.weightDecay != 0 && o.decoupledWeightDecay
        let wd = Float(o.weightDecay), decay = Float(1 - o.learningRate * o.weightDecay)
        let w = Float(1 - o.beta1), smallWeight = abs(w) < 0.5, wMinus1 = w - 1
        let b2 = Float(o.beta2), oneMinusB2 = Float(1 - o.beta2)
        let (negStepSize, bc2Sqrt) = scalars(o, step: step)
        let eps = Float(o.eps)
        func run(_ mx: UnsafeMutableBufferPointer<Float>?) {
            OptimKernels.withBuffers(&parameter, gradient) { p, g in
                OptimKernels.mutable(&m) { m in
                    OptimKernels.mutable(&v) { v in
                        OptimKernels.forEachRange(p.count) { range in
                            for i in range {
                                var d = maximize ? -g[i] : g[i]
                                if decoupled { p[i] = p[i] * decay }
                                if coupled { d = A.madd(p[i], wd, d) }
                                let diff = d - m[i]
                                m[i] = smallWeight ? A.madd(w, diff, m[i]) : A.madd(wMinus1, diff, d)
                                v[i] = A.madd(oneMinusB2 * d, d, v[i] * b2)
                                var second = v[i]
                                if let mx {
                                    let a = mx[i]
                                    mx[i] = (a.isNaN || second.isNaN) ? .nan : (second > a ? second : a)
                                    second = mx[i]
                                }
                                let denom = second.squareRoot() / bc2Sqrt + eps
                                p[i] = p[i] + (negStepSize * m[i]) / denom
                            }
                        }
                    }
                }
            }
        }
        if vmax != nil {
            OptimKernels.mutable(&vmax!) { run($0) }
            state.maxExpAvgSq = vmax
        } else {
            run(nil)
        }
        state.expAvg = m
        state.expAvgSq = v
    }
}
