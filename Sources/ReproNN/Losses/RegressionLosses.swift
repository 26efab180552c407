import ReproTensor

/// `torch.nn.L1Loss` / `F.l1_loss`: `|x − y|` per element; gradient `sign(x − y)` (0 where equal).
///
/// ```swift
/// let x = try Tensor(shape: [2], scalars: [Float(1), -2])
/// let y = try Tensor(shape: [2], scalars: [Float(0), 0])
/// let loss = try L1Loss()(x, y)        // 1.5
/// ```
public struct L1Loss: Loss, ElementwiseLoss {
    /// torch's `reduction` (default `mean`).
    public var reduction: LossReduction
    /// `"l1_loss"`.
    public var name: String { "l1_loss" }
    /// Creates the loss.
    public init(reduction: LossReduction = .mean) { self.reduction = reduction }

    func rule(for shape: [Int]) throws(LossError) -> (Int, Float, Float) -> (loss: Float, derivative: Float) {
        { _, x, t in
            let d = x - t
            return (abs(d), d > 0 ? 1 : d < 0 ? -1 : 0)
        }
    }
}

/// `torch.nn.MSELoss` / `F.mse_loss`: `(x − y)²` per element; gradient `2·(x − y)`.
///
/// ```swift
/// let x = try Tensor(shape: [2], scalars: [Float(1), -2])
/// let loss = try MSELoss(reduction: .sum)(x, Tensor(zeros: [2]))   // 5.0
/// ```
public struct MSELoss: Loss, ElementwiseLoss {
    /// torch's `reduction` (default `mean`).
    public var reduction: LossReduction
    /// `"mse_loss"`.
    public var name: String { "mse_loss" }
    /// Creates the loss.
    public init(reduction: LossReduction = .mean) { self.reduction = reduction }

    func rule(for shape: [Int]) throws(LossError) -> (Int, Float, Float) -> (loss: Float, derivative: Float) {
        { _, x, t in
            let d = x - t
            return (d * d, 2 * d)
        }
    }
}

/// `torch.nn.SmoothL1Loss` / `F.smooth_l1_loss`: with `d = x − y`, `0.5·d²/β` where `|d| < β`,
/// else `|d| − 0.5·β`; `β = 0` is the L1 loss (torch switches to `l1_loss` there, so `|d| = β`
/// takes the linear branch). Gradient `d/β` on the quadratic branch, `sign(d)` on the linear one.
///
/// ```swift
/// let x = try Tensor(shape: [2], scalars: [Float(0.5), 3])
/// let loss = try SmoothL1Loss(beta: 1)(x, Tensor(zeros: [2]))   // (0.125 + 2.5) / 2
/// ```
public struct SmoothL1Loss: Loss, ElementwiseLoss {
    /// torch's `reduction` (default `mean`).
    public var reduction: LossReduction
    /// Where the quadratic branch ends (torch's default 1; must not be negative).
    public var beta: Double
    /// `"smooth_l1_loss"`.
    public var name: String { "smooth_l1_loss" }
    /// Creates the loss.
    public init(reduction: LossReduction = .mean, beta: Double = 1) {
        self.reduction = reduction
        self.beta = beta
    }

    func rule(for shape: [Int]) throws(LossError) -> (Int, Float, Float) -> (loss: Float, derivative: Float) {
        guard beta >= 0, beta.isFinite else {
            throw .invalidArgument(loss: name, reason: "beta must be a finite value ≥ 0, got \(beta)")
        }
        let b = Float(beta)
        return { _, x, t in
            let d = x - t
            let a = abs(d)
            if a < b { return (0.5 * a * a / b, d / b) }
            return (a - 0.5 * b, d > 0 ? 1 : d < 0 ? -1 : 0)
        }
    }
}
