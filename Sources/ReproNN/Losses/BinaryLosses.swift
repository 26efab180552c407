import ReproTensor

/// `log σ(x) = min(x, 0) − log1p(e^(−|x|))`, stable for any finite `x` (torch's `log_sigmoid`).
@inline(__always)
func logSigmoid(_ x: Float) -> Float {
    min(x, 0) - ElementaryFunctions.log1p(ElementaryFunctions.exp(-abs(x)))
}

/// `torch.nn.BCEWithLogitsLoss` / `F.binary_cross_entropy_with_logits` with torch's formula:
/// `lw = 1 + (pos_weight − 1)·y`, `loss = ((1 − y)·x − lw·log σ(x))·weight`; gradient
/// `(lw·σ(x) − pos_weight·y)·weight` (`pos_weight` ≡ 1 and `weight` ≡ 1 when absent).
///
/// `weight` and `posWeight` broadcast over leading dimensions: each shape must be a suffix of the
/// input's (typically `[C]`, or the input's full shape — then pass the micro-batch's rows).
///
/// ```swift
/// let x = try Tensor(shape: [2], scalars: [Float(2), -1])
/// let y = try Tensor(shape: [2], scalars: [Float(1), 0])
/// let loss = try BCEWithLogitsLoss()(x, y)
/// ```
public struct BCEWithLogitsLoss: Loss, ElementwiseLoss {
    /// torch's `reduction` (default `mean`).
    public var reduction: LossReduction
    /// Per-element rescaling weight (torch's `weight`), or `nil`.
    public var weight: Tensor?
    /// Weight of positive examples (torch's `pos_weight`), or `nil`.
    public var posWeight: Tensor?
    /// `"binary_cross_entropy_with_logits"`.
    public var name: String { "binary_cross_entropy_with_logits" }
    /// Creates the loss.
    public init(weight: Tensor? = nil, reduction: LossReduction = .mean, posWeight: Tensor? = nil) {
        self.weight = weight
        self.reduction = reduction
        self.posWeight = posWeight
    }

    func rule(for shape: [Int]) throws(LossError) -> (Int, Float, Float) -> (loss: Float, derivative: Float) {
        let w = try weight.map { t throws(LossError) in try LossInputs.suffixBroadcast(t, to: shape, loss: name, argument: "weight") }
        let pw = try posWeight.map { t throws(LossError) in
            try LossInputs.suffixBroadcast(t, to: shape, loss: name, argument: "pos_weight")
        }
        return { e, x, t in
            var ls = logSigmoid(x)
            var lw: Float = 1, pos: Float = 1
            if let pw {
                pos = pw[e % pw.count]
                lw = (pos - 1) * t + 1
                ls = ls * lw
            }
            var loss = (1 - t) * x - ls
            var g = lw * ElementaryFunctions.sigmoid(x) - pos * t
            if let w {
                loss = loss * w[e % w.count]
                g = g * w[e % w.count]
            }
            return (loss, g)
        }
    }
}

/// torchvision's `sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2, reduction)`:
/// `p = σ(x)`, `ce = BCE-with-logits(x, y)`, `pₜ = p·y + (1 − p)·(1 − y)`,
/// `loss = ce·(1 − pₜ)^γ`, times `αₜ = α·y + (1 − α)·(1 − y)` when `α ≥ 0`.
///
/// `(1 − pₜ)^γ` is a product of factors for integral `γ` in `0…8` (torch squares for 2) and
/// `exp(γ·log(1 − pₜ))` otherwise; `γ` must be ≥ 0. In the gradient the term with
/// `(1 − pₜ)^(γ−1)` is taken as 0 where `1 − pₜ = 0`.
///
/// ```swift
/// let x = try Tensor(shape: [2], scalars: [Float(2), -1])
/// let y = try Tensor(shape: [2], scalars: [Float(1), 0])
/// let loss = try SigmoidFocalLoss(reduction: .sum)(x, y)
/// ```
public struct SigmoidFocalLoss: Loss, ElementwiseLoss {
    /// Balance of positives and negatives (torchvision's default 0.25; negative: no weighting).
    public var alpha: Double
    /// Focusing exponent (default 2).
    public var gamma: Double
    /// torchvision's `reduction` (default `none`, as torchvision).
    public var reduction: LossReduction
    /// `"sigmoid_focal_loss"`.
    public var name: String { "sigmoid_focal_loss" }
    /// Creates the loss.
    public init(alpha: Double = 0.25, gamma: Double = 2, reduction: LossReduction = .none) {
        self.alpha = alpha
        self.gamma = gamma
        self.reduction = reduction
    }

    /// `m^k` for `k ≥ 0`: repeated products for small integers, else through exp and log.
    static func power(_ m: Float, _ k: Double) -> Float {
        if k == 0 { return 1 }
        if k == k.rounded(), k <= 8 {
            var r = m
            for _ in 1..<Int(k) { r = r * m }
            return r
        }
        if m == 0 { return k > 0 ? 0 : .infinity }
        return ElementaryFunctions.exp(Float(k) * ElementaryFunctions.log(m))
    }

    func rule(for shape: [Int]) throws(LossError) -> (Int, Float, Float) -> (loss: Float, derivative: Float) {
        guard gamma >= 0, gamma.isFinite, alpha.isFinite else {
            throw .invalidArgument(loss: name, reason: "gamma must be finite and ≥ 0 and alpha finite (gamma \(gamma), alpha \(alpha))")
        }
        let a = Float(alpha), gm = gamma, weighted = alpha >= 0
        return { _, x, t in
            let p = ElementaryFunctions.sigmoid(x)
            let ce = (1 - t) * x - logSigmoid(x)
            let pt = p * t + (1 - p) * (1 - t)
            let m = 1 - pt
            let mod = Self.power(m, gm)
            var loss = ce * mod
            // d/dx: (p − y)·m^γ + ce·γ·m^(γ−1)·dm/dx with dm/dx = −p(1 − p)(2y − 1).
            var g = (p - t) * mod
            if gm != 0, m != 0 {
                let dm = -(p * (1 - p)) * (2 * t - 1)
                g = g + ce * Float(gm) * Self.power(m, gm - 1) * dm
            }
            if weighted {
                let at = a * t + (1 - a) * (1 - t)
                loss = at * loss
                g = at * g
            }
            return (loss, g)
        }
    }
}
