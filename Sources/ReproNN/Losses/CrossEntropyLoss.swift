import ReproTensor

/// `torch.nn.CrossEntropyLoss` / `F.cross_entropy` with class-index or probability targets, with
/// torch's formulas for class weights, `ignore_index` and label smoothing.
///
/// Input `[N, C]` or `[N, C, d₁, …]` (logits). For each position, `lp = log_softmax(x)` over the
/// classes (max-shifted log-sum-exp, classes summed in index order), `q = softmax(x)`, and
/// `w ≡ 1` without weights.
///
/// **Class indices** — target `[N]` or `[N, d₁, …]`, int64:
/// `loss = (1 − ε)·w[y]·(−lp[y]) + (ε/C)·Σ_c w[c]·(−lp[c])`, and 0 where `y == ignore_index`.
/// `mean` divides the canonical sum of those by `Σ w[y]` over the non-ignored positions, exactly
/// torch's normaliser (with smoothing too); every target ignored is ``LossError/emptyMean(loss:)``
/// (torch returns NaN). The gradient of a position is
/// `(1 − ε)·w[y]·(q − onehot(y)) + (ε/C)·(Σw·q − w)`.
///
/// **Probabilities** ("soft" targets) — a float32 target of the input's own shape, as torch
/// decides: with `p' = (1 − ε)·p + ε/C` (just `p` without smoothing),
/// `loss = −Σ_c w[c]·p'[c]·lp[c]`, whose gradient is `q·Σ_c w[c]·p'[c] − w·p'`. `mean` divides by
/// the number of positions `N·d₁⋯`, **not** by a weight sum (torch's rule for probability
/// targets). The rows need not sum to 1 (torch does not check). `ignore_index` does not apply:
/// a non-negative one is refused, as torch refuses it.
///
/// ```swift
/// let logits = try Tensor(shape: [2, 3], scalars: [Float(1), 2, 3, 0, 0, 5])
/// let target = try Tensor(shape: [2], scalars: [Int64(2), 0])
/// let loss = try CrossEntropyLoss(labelSmoothing: 0.1)(logits, target)
/// let soft = try Tensor(shape: [2, 3], scalars: [Float(0.1), 0.2, 0.7, 0.5, 0, 0.5])
/// let softLoss = try CrossEntropyLoss(labelSmoothing: 0.1)(logits, soft)
/// ```
public struct CrossEntropyLoss: Loss {
    /// Per-class weights (`[C]`), or `nil`.
    public var weight: Tensor?
    /// Target value that contributes nothing (torch's default −100; may be a valid class).
    public var ignoreIndex: Int64
    /// torch's `reduction` (default `mean`).
    public var reduction: LossReduction
    /// Label smoothing `ε` in `[0, 1]`.
    public var labelSmoothing: Double
    /// `"cross_entropy"`.
    public var name: String { "cross_entropy" }

    /// Creates the loss with torch's argument names and defaults.
    public init(weight: Tensor? = nil, ignoreIndex: Int64 = -100, reduction: LossReduction = .mean, labelSmoothing: Double = 0) {
        self.weight = weight
        self.ignoreIndex = ignoreIndex
        self.reduction = reduction
        self.labelSmoothing = labelSmoothing
    }

    /// The target's shape: the input without its class dimension.
    public func elementShape(of input: Tensor) -> [Int] {
        input.rank >= 2 ? [input.shape[0]] + input.shape.dropFirst(2) : input.shape
    }

    /// Validated arguments of one call.
    struct Batch {
        var x: [Float]
        /// Class indices (empty for probability targets).
        var y: [Int64]
        /// Probability targets, laid out as `x` (`nil` for class indices).
        var p: [Float]?
        var w: [Float]?
        var samples: Int, classes: Int, positions: Int
    }

    /// Whether `target` holds probabilities: a float target, which must then have the input's
    /// shape (torch treats a target of the input's shape as probabilities).
    static func isProbabilities(_ target: Tensor) -> Bool { target.dtype == .float32 || target.dtype == .float64 }

    func read(_ input: Tensor, _ target: Tensor, startIndex: Int) throws(LossError) -> Batch {
        guard input.rank >= 2 else {
            throw .invalidShape(loss: name, argument: "input", shape: input.shape, reason: "expected [N, C] or [N, C, d…] logits")
        }
        let soft = Self.isProbabilities(target)
        let expectedTarget = soft ? input.shape : elementShape(of: input)
        guard target.shape == expectedTarget else {
            throw .shapeMismatch(loss: name, argument: "target", expected: expectedTarget, found: target.shape)
        }
        if soft, ignoreIndex >= 0 {
            throw .invalidArgument(loss: name, reason: "ignore_index \(ignoreIndex) is not supported with probability targets")
        }
        guard labelSmoothing >= 0, labelSmoothing <= 1 else {
            throw .invalidArgument(loss: name, reason: "label_smoothing must be in [0, 1], got \(labelSmoothing)")
        }
        let c = input.shape[1]
        guard c > 0 else { throw .invalidShape(loss: name, argument: "input", shape: input.shape, reason: "no classes") }
        var w: [Float]?
        if let weight {
            guard weight.shape == [c] else { throw .shapeMismatch(loss: name, argument: "weight", expected: [c], found: weight.shape) }
            let v = try LossInputs.floats(weight, loss: name, argument: "weight")
            if v.contains(where: { !$0.isFinite }) { throw .nonFinite(loss: name, argument: "weight", sample: startIndex) }
            w = v
        }
        let n = input.shape[0], positions = input.shape.dropFirst(2).reduce(1, *)
        let x = try LossInputs.floats(input, loss: name, argument: "input")
        try LossInputs.checkFinite(x, perSample: c * positions, startIndex: startIndex, loss: name, argument: "input")
        if soft {
            let p = try LossInputs.floats(target, loss: name, argument: "target")
            try LossInputs.checkFinite(p, perSample: c * positions, startIndex: startIndex, loss: name, argument: "target")
            return Batch(x: x, y: [], p: p, w: w, samples: n, classes: c, positions: positions)
        }
        let y = try LossInputs.classIndices(target, loss: name, argument: "target")
        for (i, v) in y.enumerated() where v != ignoreIndex && !(v >= 0 && v < Int64(c)) {
            throw .targetOutOfRange(loss: name, sample: startIndex + i / max(positions, 1), target: v, classCount: c)
        }
        return Batch(x: x, y: y, p: nil, w: w, samples: n, classes: c, positions: positions)
    }

    /// The logits of the position at `base` shifted by their maximum, into `e`, and
    /// `(Σ exp e, log Σ exp e)`, classes in index order.
    func shiftedExponentials(_ b: Batch, base: Int, into e: inout [Float]) -> (sum: Float, log: Float) {
        let stride = b.positions
        var m = -Float.infinity
        for k in 0..<b.classes { m = max(m, b.x[base + k * stride]) }
        var s: Float = 0
        for k in 0..<b.classes {
            e[k] = b.x[base + k * stride] - m
            s += ElementaryFunctions.exp(e[k])
        }
        return (s, ElementaryFunctions.log(s))
    }

    /// Loss of position `p` of sample `n` and, if `gradient` is given, `scale·∂loss/∂x` written
    /// to it (same layout as the input). Returns `(loss, denominator)`; ignored positions give (0, 0).
    func position(_ b: Batch, _ n: Int, _ p: Int, scale: Float, gradient: UnsafeMutablePointer<Float>?,
                  shifted e: inout [Float]) -> (loss: Float, denominator: Float) {
        let c = b.classes, stride = b.positions
        let base = n * c * stride + p
        if let probabilities = b.p {
            return softPosition(b, probabilities, base: base, scale: scale, gradient: gradient, shifted: &e)
        }
        let target = b.y[n * stride + p]
        if target == ignoreIndex {
            if let gradient { for k in 0..<c { gradient[base + k * stride] = 0 } }
            return (0, 0)
        }
        let yi = Int(target)
        let (s, logS) = shiftedExponentials(b, base: base, into: &e)
        let wy = b.w?[yi] ?? 1
        let eps = Float(labelSmoothing)
        var loss = wy * -(e[yi] - logS)
        if labelSmoothing != 0 {
            var smooth: Float = 0
            for k in 0..<c { smooth += (b.w?[k] ?? 1) * -(e[k] - logS) }
            loss = (1 - eps) * loss + (eps / Float(c)) * smooth
        }
        if let gradient {
            var wSum: Float = 0
            if labelSmoothing != 0 { for k in 0..<c { wSum += b.w?[k] ?? 1 } }
            for k in 0..<c {
                let q = ElementaryFunctions.exp(e[k]) / s
                var g = wy * (k == yi ? q - 1 : q)
                if labelSmoothing != 0 {
                    g = (1 - eps) * g + (eps / Float(c)) * (wSum * q - (b.w?[k] ?? 1))
                }
                gradient[base + k * stride] = scale * g
            }
        }
        return (loss, wy)
    }

    /// ``position(_:_:_:scale:gradient:shifted:)`` for probability targets: the position's
    /// denominator is 1 (torch's `mean` counts positions).
    func softPosition(_ b: Batch, _ probabilities: [Float], base: Int, scale: Float, gradient: UnsafeMutablePointer<Float>?,
                      shifted e: inout [Float]) -> (loss: Float, denominator: Float) {
        let c = b.classes, stride = b.positions
        let (s, logS) = shiftedExponentials(b, base: base, into: &e)
        // torch: target * (1 − ε) + ε / C, each factor a float32 scalar.
        let keep = Float(1 - labelSmoothing), spread = Float(labelSmoothing / Double(c))
        @inline(__always) func weighted(_ k: Int) -> Float {
            let t = probabilities[base + k * stride]
            return (labelSmoothing > 0 ? t * keep + spread : t) * (b.w?[k] ?? 1)
        }
        var loss: Float = 0, total: Float = 0
        for k in 0..<c {
            let a = weighted(k)
            loss -= a * (e[k] - logS)
            total += a
        }
        if let gradient {
            for k in 0..<c {
                let q = ElementaryFunctions.exp(e[k]) / s
                gradient[base + k * stride] = scale * (q * total - weighted(k))
            }
        }
        return (loss, 1)
    }

    /// The per-position losses, shaped as the target.
    public func elementLosses(_ input: Tensor, _ target: Tensor) throws(LossError) -> Tensor {
        let b = try read(input, target, startIndex: 0)
        var e = [Float](repeating: 0, count: b.classes)
        var out = [Float](repeating: 0, count: b.samples * b.positions)
        for n in 0..<b.samples {
            for p in 0..<b.positions { out[n * b.positions + p] = position(b, n, p, scale: 1, gradient: nil, shifted: &e).loss }
        }
        return try LossInputs.tensor(elementShape(of: input), out, loss: name)
    }

    /// A sample's numerator is the sum of its position losses in index order; its denominator
    /// `Σ w[y]` over its non-ignored positions.
    public func sampleTerms(_ input: Tensor, _ target: Tensor, startIndex: Int) throws(LossError) -> SampleLossTerms {
        let b = try read(input, target, startIndex: startIndex)
        var e = [Float](repeating: 0, count: b.classes)
        var terms = SampleLossTerms()
        for n in 0..<b.samples {
            var num: Float = 0, den: Float = 0
            for p in 0..<b.positions {
                let r = position(b, n, p, scale: 1, gradient: nil, shifted: &e)
                num += r.loss
                den += r.denominator
            }
            terms.numerators.append(num)
            terms.denominators.append(den)
        }
        return terms
    }

    /// `Σ w[y]` over the non-ignored targets (per sample in index order, then the canonical tree);
    /// for probability targets `[N, C, d₁, …]`, the position count `N·d₁⋯`.
    ///
    /// - Throws: ``LossError/targetOutOfRange(loss:sample:target:classCount:)`` needs the class
    ///   count, so this checks targets against the weight's length only when `weight` is set.
    public func denominator(target: Tensor) throws(LossError) -> Float {
        if Self.isProbabilities(target) {
            guard target.rank >= 2 else {
                throw .invalidShape(loss: name, argument: "target", shape: target.shape, reason: "expected [N, C] or [N, C, d…] probabilities")
            }
            let positions = Float(target.shape.dropFirst(2).reduce(1, *))
            var terms = LossTerms()
            for _ in 0..<target.shape[0] { terms.append(numerator: 0, denominator: positions) }
            return terms.denominator
        }
        let y = try LossInputs.classIndices(target, loss: name, argument: "target")
        let w = try weight.map { t throws(LossError) in try LossInputs.floats(t, loss: name, argument: "weight") }
        let (samples, positions) = LossInputs.layout(target.shape)
        var terms = LossTerms()
        for n in 0..<samples {
            var den: Float = 0
            for p in 0..<positions {
                let v = y[n * positions + p]
                if v == ignoreIndex { continue }
                if let w {
                    guard v >= 0, v < Int64(w.count) else {
                        throw .targetOutOfRange(loss: name, sample: n, target: v, classCount: w.count)
                    }
                    den += w[Int(v)]
                } else {
                    den += 1
                }
            }
            terms.append(numerator: 0, denominator: den)
        }
        return terms.denominator
    }

    /// The gradient with respect to the logits.
    public func inputGradient(_ input: Tensor, _ target: Tensor, outputGradient: LossOutputGradient) throws(LossError) -> Tensor {
        let b = try read(input, target, startIndex: 0)
        let (scale, elements) = try LossInputs.upstream(outputGradient, elementShape: elementShape(of: input), loss: name)
        var e = [Float](repeating: 0, count: b.classes)
        var out = [Float](repeating: 0, count: b.x.count)
        out.withUnsafeMutableBufferPointer { g in
            for n in 0..<b.samples {
                for p in 0..<b.positions {
                    let s = elements?[n * b.positions + p] ?? scale
                    _ = position(b, n, p, scale: s, gradient: g.baseAddress, shifted: &e)
                }
            }
        }
        return try LossInputs.tensor(input.shape, out, loss: name)
    }
}
