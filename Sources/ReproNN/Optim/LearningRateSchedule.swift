import ReproRandom

/// A learning-rate schedule bit-identical to PyTorch's `torch.optim.lr_scheduler` classes: the
/// same Python double arithmetic, in the same order, including the recursive ("chainable") forms
/// that scale the current learning rate instead of computing it from the epoch.
///
/// A schedule holds the learning rate of every parameter group (torch keeps it in the
/// optimizer's `param_groups`; the recursive forms read it back each step). Construction performs
/// torch's initial step; ``step()`` is torch's `scheduler.step()`, ``learningRates`` its
/// `get_last_lr()`. Hand the values to an optimizer with ``apply(to:)`` (it also writes
/// `OneCycleLR`'s cycled momentum). The whole value is `Codable`: saving it saves `last_epoch`,
/// `_step_count`, the base and current learning rates.
///
/// `math.cos` and `**` are the C library's `cos` and `pow` in Python, so the schedules call them
/// (through `PlatformMath`): the one documented use of libm outside the random streams, needed to
/// match torch; the doubles then depend on the libm (glibc in the reference runs).
///
/// ```swift
/// var optimizer = try SGD(parameters: [("w", [4])], options: .init(learningRate: 0.1, momentum: 0.9))
/// var schedule = try LearningRateSchedule(.cosineAnnealing(tMax: 100, etaMin: 0), learningRates: optimizer.learningRates)
/// for _ in 0..<3 {
///     // … optimizer.step(…)
///     try schedule.step()
///     try schedule.apply(to: &optimizer)
/// }
/// ```
public struct LearningRateSchedule: Codable, Sendable, Equatable {
    /// The schedules torch provides that Repro reproduces (torch's argument names in comments).
    public indirect enum Kind: Codable, Sendable, Equatable {
        /// `StepLR(step_size, gamma)`: `lr·γ` every `size` epochs.
        case step(size: Int, gamma: Double)
        /// `MultiStepLR(milestones, gamma)`: `lr·γ**count` at each milestone (repeats count).
        case multiStep(milestones: [Int], gamma: Double)
        /// `ExponentialLR(gamma)`: `lr·γ` every epoch.
        case exponential(gamma: Double)
        /// `CosineAnnealingLR(T_max, eta_min)` in torch's recursive form.
        case cosineAnnealing(tMax: Int, etaMin: Double)
        /// `LinearLR(start_factor, end_factor, total_iters)` (warm-up or linear decay).
        case linear(startFactor: Double, endFactor: Double, totalIterations: Int)
        /// `OneCycleLR`.
        case oneCycle(OneCycle)
        /// `SequentialLR(schedulers, milestones)`: the first schedule until the first milestone,
        /// then the next (restarted at its epoch 0 from the base learning rates), and so on.
        case sequential([Kind], milestones: [Int])
    }

    /// `OneCycleLR`'s parameters (`total_steps` form).
    public struct OneCycle: Codable, Sendable, Equatable {
        /// `max_lr`: one value for every group, or one per group.
        public var maxLearningRates: [Double]
        /// `total_steps`.
        public var totalSteps: Int
        /// `pct_start`.
        public var pctStart: Double
        /// `anneal_strategy`: `true` for `"cos"`, `false` for `"linear"`.
        public var cosineAnnealing: Bool
        /// `cycle_momentum`: also cycle SGD's momentum or Adam's β₁.
        public var cycleMomentum: Bool
        /// `base_momentum`.
        public var baseMomentum: Double
        /// `max_momentum`.
        public var maxMomentum: Double
        /// `div_factor`: the initial learning rate is `max_lr / div_factor`.
        public var divFactor: Double
        /// `final_div_factor`: the final one is `initial / final_div_factor`.
        public var finalDivFactor: Double
        /// `three_phase`.
        public var threePhase: Bool

        /// Creates the parameters with torch's defaults.
        public init(maxLearningRates: [Double], totalSteps: Int, pctStart: Double = 0.3, cosineAnnealing: Bool = true,
                    cycleMomentum: Bool = true, baseMomentum: Double = 0.85, maxMomentum: Double = 0.95,
                    divFactor: Double = 25, finalDivFactor: Double = 1e4, threePhase: Bool = false) {
            self.maxLearningRates = maxLearningRates
            self.totalSteps = totalSteps
            self.pctStart = pctStart
            self.cosineAnnealing = cosineAnnealing
            self.cycleMomentum = cycleMomentum
            self.baseMomentum = baseMomentum
            self.maxMomentum = maxMomentum
            self.divFactor = divFactor
            self.finalDivFactor = finalDivFactor
            self.threePhase = threePhase
        }
    }

    /// What the schedule computes.
    public let kind: Kind
    /// torch's `base_lrs` (the groups' `initial_lr`).
    public private(set) var baseLearningRates: [Double]
    /// The current learning rate of each group: torch's `get_last_lr()` (and `group["lr"]`).
    public private(set) var learningRates: [Double]
    /// `OneCycleLR`'s current momentum (or β₁) per group when it cycles momentum, else `nil`.
    public private(set) var momenta: [Double]?
    /// torch's `last_epoch`.
    public private(set) var lastEpoch: Int
    /// torch's `_step_count`.
    public private(set) var stepCount: Int
    /// The sub-schedules of ``Kind/sequential(_:milestones:)`` (empty otherwise).
    public private(set) var children: [LearningRateSchedule]

    /// Creates the schedule and performs torch's initial step.
    ///
    /// - Parameter learningRates: the optimizer's group learning rates (torch's `initial_lr`);
    ///   ignored by `OneCycleLR` except for the group count (it starts at `max_lr / div_factor`).
    /// - Throws: ``OptimizerError/invalidHyperparameter(_:)`` for what torch rejects (or cannot
    ///   compute, like a zero period), ``OptimizerError/emptyParameterList`` without groups.
    public init(_ kind: Kind, learningRates: [Double]) throws(OptimizerError) {
        guard !learningRates.isEmpty else { throw .emptyParameterList }
        try Self.validate(kind, groups: learningRates.count, nested: false)
        self.kind = kind
        baseLearningRates = learningRates
        self.learningRates = learningRates
        momenta = nil
        lastEpoch = -1
        stepCount = 0
        children = []
        switch kind {
        case .oneCycle(let c):
            let maxLRs = c.maxLearningRates.count == 1 ? Array(repeating: c.maxLearningRates[0], count: learningRates.count) : c.maxLearningRates
            baseLearningRates = maxLRs.map { $0 / c.divFactor }
            self.learningRates = baseLearningRates
            if c.cycleMomentum { momenta = Array(repeating: c.maxMomentum, count: learningRates.count) }
            try advance(epoch: nil, initial: true)
        case .sequential(let kinds, let milestones):
            // torch builds every sub-schedule (each runs its initial step), resets the groups to
            // initial_lr, rolls every last_epoch back by one and re-runs the active one's initial step.
            var subs: [LearningRateSchedule] = []
            for k in kinds {
                var s = try LearningRateSchedule(k, learningRates: learningRates)
                s.lastEpoch -= 1
                subs.append(s)
            }
            lastEpoch = 0
            let idx = Self.bisectRight(milestones, 0)
            subs[idx].learningRates = learningRates
            subs[idx].stepCount = 0
            try subs[idx].advance(epoch: nil, initial: true)
            self.learningRates = subs[idx].learningRates
            children = subs
        default:
            try advance(epoch: nil, initial: true)
        }
    }

    /// torch's `scheduler.step()`: advances one epoch and recomputes every group's learning rate.
    ///
    /// - Throws: ``OptimizerError/scheduleExhausted(step:totalSteps:)`` past `OneCycleLR`'s end.
    public mutating func step() throws(OptimizerError) {
        guard case .sequential(_, let milestones) = kind else {
            try advance(epoch: nil, initial: false)
            return
        }
        var copy = self
        copy.lastEpoch += 1
        let idx = Self.bisectRight(milestones, copy.lastEpoch)
        copy.children[idx].learningRates = learningRates
        if idx > 0 && milestones[idx - 1] == copy.lastEpoch {
            try copy.children[idx].update(epoch: 0)
        } else {
            try copy.children[idx].advance(epoch: nil, initial: false)
        }
        copy.learningRates = copy.children[idx].learningRates
        self = copy
    }

    /// Writes the current learning rates (and cycled momenta) into an optimizer's groups.
    public func apply<O: Optimizer>(to optimizer: inout O) throws(OptimizerError) {
        try optimizer.setHyperparameters(learningRates: learningRates, momenta: momenta)
    }

    // MARK: torch's step machinery

    /// `step()`: `_step_count += 1`, then `_update_lr(epoch)`.
    private mutating func advance(epoch: Int?, initial: Bool) throws(OptimizerError) {
        stepCount += 1
        if let e = epoch { try update(epoch: e) } else {
            lastEpoch += 1
            let (lrs, moms) = try recursive(initial: initial)
            learningRates = lrs
            if let moms { momenta = moms }
        }
    }

    /// `_update_lr(epoch)`: sets `last_epoch` and uses the closed form where torch has one.
    private mutating func update(epoch: Int) throws(OptimizerError) {
        lastEpoch = epoch
        if let closed = closedForm() {
            learningRates = closed
        } else {
            let (lrs, moms) = try recursive(initial: false)
            learningRates = lrs
            if let moms { momenta = moms }
        }
    }

    /// torch's `get_lr()` (reads the current learning rates, as torch reads `group["lr"]`).
    private func recursive(initial: Bool) throws(OptimizerError) -> ([Double], [Double]?) {
        let e = lastEpoch
        let cur = learningRates
        switch kind {
        case let .step(size, gamma):
            return ((e == 0 || e % size != 0) ? cur : cur.map { $0 * gamma }, nil)
        case let .multiStep(milestones, gamma):
            let count = milestones.filter { $0 == e }.count
            return (count == 0 ? cur : cur.map { $0 * PlatformMath.pow(gamma, Double(count)) }, nil)
        case .exponential(let gamma):
            return (initial ? cur : cur.map { $0 * gamma }, nil)
        case let .cosineAnnealing(tMax, etaMin):
            if initial { return (cur, nil) }
            let t = Double(tMax)
            if stepCount == 1 && e > 0 {
                return (baseLearningRates.map { b in etaMin + (b - etaMin) * (1 + PlatformMath.cos(Double(e) * Double.pi / t)) / 2 }, nil)
            }
            if (e - 1 - tMax) % (2 * tMax) == 0 {
                return (zip(cur, baseLearningRates).map { lr, b in lr + (b - etaMin) * (1 - PlatformMath.cos(Double.pi / t)) / 2 }, nil)
            }
            let ratio = (1 + PlatformMath.cos(Double.pi * Double(e) / t)) / (1 + PlatformMath.cos(Double.pi * Double(e - 1) / t))
            return (cur.map { lr in ratio * (lr - etaMin) + etaMin }, nil)
        case let .linear(sf, ef, total):
            if e == 0 { return (cur.map { $0 * sf }, nil) }
            if initial || e > total { return (cur, nil) }
            let factor = 1.0 + (ef - sf) / (Double(total) * sf + Double(e - 1) * (ef - sf))
            return (cur.map { $0 * factor }, nil)
        case .oneCycle(let c):
            return try oneCycle(c, epoch: e)
        case .sequential:
            return (cur, nil)  // never reached: sequential steps its children
        }
    }

    /// `_get_closed_form_lr()` where torch defines one (used at a `SequentialLR` milestone).
    private func closedForm() -> [Double]? {
        let e = lastEpoch
        switch kind {
        case let .step(size, gamma):
            return baseLearningRates.map { $0 * PlatformMath.pow(gamma, Double(Self.floorDiv(e, size))) }
        case let .multiStep(milestones, gamma):
            let n = Self.bisectRight(milestones.sorted(), e)
            return baseLearningRates.map { $0 * PlatformMath.pow(gamma, Double(n)) }
        case .exponential(let gamma):
            return baseLearningRates.map { $0 * PlatformMath.pow(gamma, Double(e)) }
        case let .cosineAnnealing(tMax, etaMin):
            return baseLearningRates.map { b in etaMin + (b - etaMin) * (1 + PlatformMath.cos(Double.pi * Double(e) / Double(tMax))) / 2 }
        case let .linear(sf, ef, total):
            return baseLearningRates.map { b in b * (sf + (ef - sf) * Double(min(total, e)) / Double(total)) }
        case .oneCycle, .sequential:
            return nil
        }
    }

    /// `OneCycleLR.get_lr()`: the phase table, evaluated from the step number.
    private func oneCycle(_ c: OneCycle, epoch e: Int) throws(OptimizerError) -> ([Double], [Double]?) {
        guard e <= c.totalSteps else { throw .scheduleExhausted(step: e, totalSteps: c.totalSteps) }
        let total = Double(c.totalSteps)
        // (end step, start lr, end lr, start momentum, end momentum) with 0 = initial, 1 = max, 2 = min;
        // momenta: 0 = max, 1 = base.
        let phases: [(Double, Int, Int, Int, Int)] = c.threePhase
            ? [(c.pctStart * total - 1, 0, 1, 0, 1), (2 * c.pctStart * total - 2, 1, 0, 1, 0), (total - 1, 0, 2, 0, 0)]
            : [(c.pctStart * total - 1, 0, 1, 0, 1), (total - 1, 1, 2, 1, 0)]
        let anneal: (Double, Double, Double) -> Double = c.cosineAnnealing
            ? { start, end, pct in end + (start - end) / 2.0 * (PlatformMath.cos(Double.pi * pct) + 1) }
            : { start, end, pct in (end - start) * pct + start }
        var lrs: [Double] = [], moms: [Double] = []
        let momentumLevels = [c.maxMomentum, c.baseMomentum]
        for (g, initialLR) in baseLearningRates.enumerated() {
            let maxLR = c.maxLearningRates.count == 1 ? c.maxLearningRates[0] : c.maxLearningRates[g]
            let levels = [initialLR, maxLR, initialLR / c.finalDivFactor]
            var start = 0.0
            for (i, ph) in phases.enumerated() {
                if Double(e) <= ph.0 || i == phases.count - 1 {
                    let pct = (Double(e) - start) / (ph.0 - start)
                    lrs.append(anneal(levels[ph.1], levels[ph.2], pct))
                    moms.append(anneal(momentumLevels[ph.3], momentumLevels[ph.4], pct))
                    break
                }
                start = ph.0
            }
        }
        return (lrs, c.cycleMomentum ? moms : nil)
    }

    // MARK: validation and helpers

    /// torch's checks (and what its arithmetic cannot do, such as a zero period).
    private static func validate(_ kind: Kind, groups: Int, nested: Bool) throws(OptimizerError) {
        switch kind {
        case let .step(size, _):
            guard size > 0 else { throw .invalidHyperparameter("StepLR step_size must be positive, got \(size)") }
        case .multiStep, .exponential:
            break
        case let .cosineAnnealing(tMax, _):
            guard tMax > 0 else { throw .invalidHyperparameter("CosineAnnealingLR T_max must be positive, got \(tMax)") }
        case let .linear(sf, ef, total):
            guard sf > 0 && sf <= 1 else {
                throw .invalidHyperparameter("Starting multiplicative factor expected to be greater than 0 and less or equal to 1.")
            }
            guard ef >= 0 && ef <= 1 else {
                throw .invalidHyperparameter("Ending multiplicative factor expected to be between 0 and 1.")
            }
            guard total > 0 else { throw .invalidHyperparameter("LinearLR total_iters must be positive, got \(total)") }
        case .oneCycle(let c):
            if nested { throw .invalidHyperparameter("OneCycleLR inside SequentialLR is not supported (it rewrites initial_lr)") }
            guard c.totalSteps > 0 else { throw .invalidHyperparameter("Expected positive integer total_steps, but got \(c.totalSteps)") }
            guard c.pctStart >= 0 && c.pctStart <= 1 else {
                throw .invalidHyperparameter("Expected float between 0 and 1 pct_start, but got \(c.pctStart)")
            }
            guard c.maxLearningRates.count == 1 || c.maxLearningRates.count == groups else {
                throw .invalidHyperparameter("expected \(groups) values for max_lr, got \(c.maxLearningRates.count)")
            }
            guard c.divFactor != 0 && c.finalDivFactor != 0 else { throw .invalidHyperparameter("OneCycleLR div factors must be non-zero") }
        case let .sequential(kinds, milestones):
            if nested { throw .invalidHyperparameter("SequentialLR inside SequentialLR is not supported (torch cannot restart it)") }
            guard !kinds.isEmpty else { throw .invalidHyperparameter("SequentialLR expects at least one scheduler, but got no scheduler.") }
            guard milestones.count == kinds.count - 1 else {
                throw .invalidHyperparameter("Sequential Schedulers expects number of schedulers provided to be one more than the number of milestone points, but got number of schedulers \(kinds.count) and the number of milestones to be equal to \(milestones.count)")
            }
            for k in kinds { try validate(k, groups: groups, nested: true) }
        }
    }

    /// Python's `bisect_right`: how many elements are `<= x` (for a sorted list).
    static func bisectRight(_ sorted: [Int], _ x: Int) -> Int {
        var lo = 0, hi = sorted.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if x < sorted[mid] { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }

    /// Python's `//` on integers (floor division).
    static func floorDiv(_ a: Int, _ b: Int) -> Int {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }
}
