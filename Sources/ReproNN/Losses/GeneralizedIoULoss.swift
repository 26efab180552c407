import ReproTensor

/// torchvision's `generalized_box_iou_loss(boxes1, boxes2, reduction, eps=1e-7)` for boxes
/// `(x1, y1, x2, y2)`: with intersection `I` (0 unless both overlaps are positive), union
/// `U = A₁ + A₂ − I` and enclosing area `C`, `loss = 1 − (I/(U + eps) − (C − U)/(C + eps))`.
///
/// Input (the predicted boxes) and target are `[N, …, 4]`; each sample has one loss per box and
/// `mean` divides by the box count. Identical boxes give about `eps`, not 0, as torchvision.
/// ``inputGradient(_:_:outputGradient:)`` is the gradient with respect to the input boxes and
/// ``targetGradient(_:_:outputGradient:)`` with respect to the target boxes (torch's autograd
/// gives both); where a `min`/`max` compares equal coordinates, each side gets half, as torch's
/// `minimum`/`maximum` backward.
///
/// ```swift
/// let a = try Tensor(shape: [1, 4], scalars: [Float(0), 0, 2, 2])
/// let b = try Tensor(shape: [1, 4], scalars: [Float(1), 1, 3, 3])
/// let loss = try GeneralizedIoULoss()(a, b)   // 1 − (1/7 − 2/9)
/// ```
public struct GeneralizedIoULoss: Loss {
    /// torchvision's `reduction` (default `none`, as torchvision).
    public var reduction: LossReduction
    /// Added to both denominators (default 1e-7).
    public var eps: Double
    /// `"generalized_box_iou_loss"`.
    public var name: String { "generalized_box_iou_loss" }
    /// Creates the loss.
    public init(reduction: LossReduction = .none, eps: Double = 1e-7) {
        self.reduction = reduction
        self.eps = eps
    }

    /// The input without its coordinate dimension.
    public func elementShape(of input: Tensor) -> [Int] { Array(input.shape.dropLast()) }

    func read(_ input: Tensor, _ target: Tensor, startIndex: Int) throws(LossError) -> (a: [Float], b: [Float], boxesPerSample: Int) {
        guard input.rank >= 2, input.shape.last == 4 else {
            throw .invalidShape(loss: name, argument: "input", shape: input.shape, reason: "expected boxes [N, …, 4]")
        }
        try LossInputs.sameShape(input, target, loss: name, argument: "target")
        guard eps.isFinite, eps >= 0 else { throw .invalidArgument(loss: name, reason: "eps must be finite and ≥ 0, got \(eps)") }
        let a = try LossInputs.floats(input, loss: name, argument: "input")
        let b = try LossInputs.floats(target, loss: name, argument: "target")
        let perSample = LossInputs.layout(input.shape).perSample
        try LossInputs.checkFinite(a, perSample: perSample, startIndex: startIndex, loss: name, argument: "input")
        try LossInputs.checkFinite(b, perSample: perSample, startIndex: startIndex, loss: name, argument: "target")
        return (a, b, perSample / 4)
    }

    /// The derivative routing of `max(u, v)` (`larger: true`) or `min(u, v)` to `u`: 1, ½ on a tie, 0.
    @inline(__always)
    static func share(_ u: Float, _ v: Float, larger: Bool) -> Float {
        u == v ? 0.5 : (larger ? u > v : u < v) ? 1 : 0
    }

    /// Loss of box `k` and, with `gradient`, `scale·∂loss/∂(x1, y1, x2, y2)` of the input box.
    static func box(_ p: UnsafePointer<Float>, _ q: UnsafePointer<Float>, eps: Float, scale: Float,
                    gradient: UnsafeMutablePointer<Float>?) -> Float {
        let (x1, y1, x2, y2) = (p[0], p[1], p[2], p[3])
        let (u1, v1, u2, v2) = (q[0], q[1], q[2], q[3])
        let xk1 = max(x1, u1), yk1 = max(y1, v1), xk2 = min(x2, u2), yk2 = min(y2, v2)
        let overlap = yk2 > yk1 && xk2 > xk1
        let inter: Float = overlap ? (xk2 - xk1) * (yk2 - yk1) : 0
        let union = (x2 - x1) * (y2 - y1) + (u2 - u1) * (v2 - v1) - inter
        let iou = inter / (union + eps)
        let xc1 = min(x1, u1), yc1 = min(y1, v1), xc2 = max(x2, u2), yc2 = max(y2, v2)
        let areaC = (xc2 - xc1) * (yc2 - yc1)
        let loss = 1 - (iou - (areaC - union) / (areaC + eps))
        guard let gradient else { return loss }
        // Reverse mode through the forward above, with d loss = −d(iou − frac).
        let gIoU = -scale, gFrac = scale
        let ga = gFrac / (areaC + eps)                            // frac = a / b, a = C − U, b = C + eps
        let gC = ga - gFrac * (areaC - union) / ((areaC + eps) * (areaC + eps))
        let gU = -ga - gIoU * inter / ((union + eps) * (union + eps))
        let gI = gIoU / (union + eps) - gU                       // U = A₁ + A₂ − I
        let gA1 = gU
        var g = (x1: -gA1 * (y2 - y1), y1: -gA1 * (x2 - x1), x2: gA1 * (y2 - y1), y2: gA1 * (x2 - x1))
        if overlap {
            let gw = gI * (yk2 - yk1), gh = gI * (xk2 - xk1)
            g.x1 += -gw * share(x1, u1, larger: true)
            g.y1 += -gh * share(y1, v1, larger: true)
            g.x2 += gw * share(x2, u2, larger: false)
            g.y2 += gh * share(y2, v2, larger: false)
        }
        let cw = gC * (yc2 - yc1), ch = gC * (xc2 - xc1)
        g.x1 += -cw * share(x1, u1, larger: false)
        g.y1 += -ch * share(y1, v1, larger: false)
        g.x2 += cw * share(x2, u2, larger: true)
        g.y2 += ch * share(y2, v2, larger: true)
        gradient[0] = g.x1
        gradient[1] = g.y1
        gradient[2] = g.x2
        gradient[3] = g.y2
        return loss
    }

    /// Calls `body(box, loss)` for every box of `a` against the same box of `b`, with the given per-box scales.
    func forEachBox(_ a: [Float], _ b: [Float], scale: (Int) -> Float, gradient: UnsafeMutablePointer<Float>?,
                    _ body: (Int, Float) -> Void) {
        let e = Float(eps)
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                for k in 0..<(a.count / 4) {
                    body(k, Self.box(pa.baseAddress! + 4 * k, pb.baseAddress! + 4 * k, eps: e, scale: scale(k),
                                     gradient: gradient.map { $0 + 4 * k }))
                }
            }
        }
    }

    /// One loss per box.
    public func elementLosses(_ input: Tensor, _ target: Tensor) throws(LossError) -> Tensor {
        let (a, b, _) = try read(input, target, startIndex: 0)
        var out = [Float](repeating: 0, count: a.count / 4)
        forEachBox(a, b, scale: { _ in 1 }, gradient: nil) { k, l in out[k] = l }
        return try LossInputs.tensor(elementShape(of: input), out, loss: name)
    }

    /// A sample's numerator is the sum of its box losses in index order; its denominator its box count.
    public func sampleTerms(_ input: Tensor, _ target: Tensor, startIndex: Int) throws(LossError) -> SampleLossTerms {
        let (a, b, perSample) = try read(input, target, startIndex: startIndex)
        var losses = [Float](repeating: 0, count: a.count / 4)
        forEachBox(a, b, scale: { _ in 1 }, gradient: nil) { k, l in losses[k] = l }
        var terms = SampleLossTerms()
        for n in 0..<input.shape[0] {
            var s: Float = 0
            for k in n * perSample ..< (n + 1) * perSample { s += losses[k] }
            terms.numerators.append(s)
            terms.denominators.append(Float(perSample))
        }
        return terms
    }

    /// The box count of the targets, summed over samples in the canonical order.
    public func denominator(target: Tensor) throws(LossError) -> Float {
        guard target.rank >= 2, target.shape.last == 4 else {
            throw .invalidShape(loss: name, argument: "target", shape: target.shape, reason: "expected boxes [N, …, 4]")
        }
        let (samples, perSample) = LossInputs.layout(Array(target.shape.dropLast()))
        var terms = LossTerms()
        for _ in 0..<samples { terms.append(numerator: 0, denominator: Float(perSample)) }
        return terms.denominator
    }

    /// The gradient with respect to the input boxes.
    public func inputGradient(_ input: Tensor, _ target: Tensor, outputGradient: LossOutputGradient) throws(LossError) -> Tensor {
        try gradient(input, target, outputGradient: outputGradient, withRespectToTarget: false)
    }

    /// The gradient with respect to the target boxes, shaped as `target`, for the given output
    /// gradient (as ``inputGradient(_:_:outputGradient:)``, the same upstream conventions).
    ///
    /// The loss of a box pair is the same bits with the two boxes exchanged (the intersection,
    /// union and enclosing box are symmetric, and `A₁ + A₂` commutes), so this is the input-box
    /// rule applied with the roles exchanged.
    ///
    /// ```swift
    /// let predicted = try Tensor(shape: [1, 4], scalars: [Float(0), 0, 2, 2])
    /// let target = try Tensor(shape: [1, 4], scalars: [Float(1), 1, 3, 3])
    /// let g = try GeneralizedIoULoss(reduction: .sum).targetGradient(predicted, target, outputGradient: .sum())
    /// ```
    public func targetGradient(_ input: Tensor, _ target: Tensor, outputGradient: LossOutputGradient) throws(LossError) -> Tensor {
        try gradient(input, target, outputGradient: outputGradient, withRespectToTarget: true)
    }

    func gradient(_ input: Tensor, _ target: Tensor, outputGradient: LossOutputGradient, withRespectToTarget: Bool) throws(LossError) -> Tensor {
        let (a, b, _) = try read(input, target, startIndex: 0)
        let (scale, elements) = try LossInputs.upstream(outputGradient, elementShape: elementShape(of: input), loss: name)
        var out = [Float](repeating: 0, count: a.count)
        out.withUnsafeMutableBufferPointer { g in
            forEachBox(withRespectToTarget ? b : a, withRespectToTarget ? a : b, scale: { elements?[$0] ?? scale },
                       gradient: g.baseAddress) { _, _ in }
        }
        return try LossInputs.tensor(input.shape, out, loss: name)
    }
}
