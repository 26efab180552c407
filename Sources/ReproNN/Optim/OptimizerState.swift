import ReproTensor

/// The state an optimizer keeps for one parameter, named as PyTorch names it.
///
/// SGD with momentum keeps `momentum_buffer`; Adam and AdamW keep `step` (a float32 count, as
/// torch's 0-d tensor, so it stops growing at 2²⁴), `exp_avg`, `exp_avg_sq` and, with amsgrad,
/// `max_exp_avg_sq`. A parameter that never had a gradient has no state at all.
public struct ParameterState: Sendable {
    /// Adam's step count, a float32 as in torch (`nil` for SGD).
    public var step: Float?
    /// SGD's momentum buffer (created on the first step with momentum).
    public var momentumBuffer: Tensor?
    /// Adam's first moment.
    public var expAvg: Tensor?
    /// Adam's second moment.
    public var expAvgSq: Tensor?
    /// Adam's running maximum of the second moment (amsgrad).
    public var maxExpAvgSq: Tensor?

    /// An empty state.
    public init(step: Float? = nil, momentumBuffer: Tensor? = nil, expAvg: Tensor? = nil,
                expAvgSq: Tensor? = nil, maxExpAvgSq: Tensor? = nil) {
        self.step = step
        self.momentumBuffer = momentumBuffer
        self.expAvg = expAvg
        self.expAvgSq = expAvgSq
        self.maxExpAvgSq = maxExpAvgSq
    }

    /// The stored fields as (torch name, tensor), in a fixed order; `step` as a 0-d float32 tensor.
    var fields: [(String, Tensor)] {
        var out: [(String, Tensor)] = []
        if let s = step, let t = try? Tensor(repeating: s, shape: []) { out.append(("step", t)) }
        if let t = momentumBuffer { out.append(("momentum_buffer", t)) }
        if let t = expAvg { out.append(("exp_avg", t)) }
        if let t = expAvgSq { out.append(("exp_avg_sq", t)) }
        if let t = maxExpAvgSq { out.append(("max_exp_avg_sq", t)) }
        return out
    }
}

/// Everything an optimizer has learnt: per-parameter state and its own step count.
///
/// Save it with ``Optimizer/savedState()`` (a flat list of named tensors, ready for a
/// safetensors writer: `state.<parameter>.exp_avg`, …, plus `optimizer.steps`) and restore it
/// with ``Optimizer/restoreState(_:)``; the hyper-parameters (``Optimizer/groups``) are `Codable`.
public struct OptimizerState: Sendable {
    /// Per-parameter state, keyed by parameter name.
    public var parameters: [String: ParameterState]
    /// How many steps this optimizer completed (names the step in errors).
    public var steps: Int

    /// An empty state.
    public init(parameters: [String: ParameterState] = [:], steps: Int = 0) {
        self.parameters = parameters
        self.steps = steps
    }
}
