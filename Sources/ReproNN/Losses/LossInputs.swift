import ReproTensor

/// Validation and reading of loss arguments (internal).
enum LossInputs {
    /// Samples (dimension 0; a 0-d tensor is one sample) and elements per sample of a shape.
    static func layout(_ shape: [Int]) -> (samples: Int, perSample: Int) {
        guard let first = shape.first else { return (1, 1) }
        return (first, shape.dropFirst().reduce(1, *))
    }

    /// The float32 values of `t`, in row-major order.
    static func floats(_ t: Tensor, loss: String, argument: String) throws(LossError) -> [Float] {
        guard t.dtype == .float32 else {
            throw .invalidShape(loss: loss, argument: argument, shape: t.shape, reason: "expected float32, found \(t.dtype)")
        }
        return try LossError.wrap(loss) { () throws(TensorError) in try t.scalars(as: Float.self) }
    }

    /// The int64 values of `t`, in row-major order.
    static func classIndices(_ t: Tensor, loss: String, argument: String) throws(LossError) -> [Int64] {
        guard t.dtype == .int64 else {
            throw .invalidShape(loss: loss, argument: argument, shape: t.shape, reason: "expected int64 class indices, found \(t.dtype)")
        }
        return try LossError.wrap(loss) { () throws(TensorError) in try t.scalars(as: Int64.self) }
    }

    /// Throws ``LossError/nonFinite(loss:argument:sample:)`` for the first NaN or ±∞, naming the
    /// global index of its sample (`perSample` elements per sample, the first at `startIndex`).
    static func checkFinite(_ v: [Float], perSample: Int, startIndex: Int, loss: String, argument: String) throws(LossError) {
        for (i, x) in v.enumerated() where !x.isFinite {
            throw .nonFinite(loss: loss, argument: argument, sample: startIndex + i / max(perSample, 1))
        }
    }

    /// Requires `b` to have exactly shape `a`.
    static func sameShape(_ a: Tensor, _ b: Tensor, loss: String, argument: String) throws(LossError) {
        guard a.shape == b.shape else { throw .shapeMismatch(loss: loss, argument: argument, expected: a.shape, found: b.shape) }
    }

    /// A tensor broadcast over the leading dimensions of `shape`: its shape must be a suffix of
    /// `shape` (element `e` of the input then uses value `e % count`). Returns the finite values.
    static func suffixBroadcast(_ t: Tensor, to shape: [Int], loss: String, argument: String) throws(LossError) -> [Float] {
        guard t.rank <= shape.count, Array(shape.suffix(t.rank)) == t.shape else {
            throw .shapeMismatch(loss: loss, argument: argument, expected: shape, found: t.shape)
        }
        let v = try floats(t, loss: loss, argument: argument)
        if let bad = v.firstIndex(where: { !$0.isFinite }) {
            // A per-sample weight names its sample; a weight shared by every sample names sample 0.
            let (_, perSample) = layout(shape)
            throw .nonFinite(loss: loss, argument: argument, sample: t.rank == shape.count ? bad / max(perSample, 1) : 0)
        }
        return v
    }

    /// The per-element factor of the output gradient: `outputGradient / denominator` for `mean`,
    /// `outputGradient` for `sum` (both one value), the given tensor's values for `none`.
    static func upstream(_ g: LossOutputGradient, elementShape: [Int], loss: String) throws(LossError) -> (scalar: Float, elements: [Float]?) {
        switch g {
        case let .mean(denominator, outputGradient):
            guard denominator != 0 else { throw .emptyMean(loss: loss) }
            guard denominator.isFinite else {
                throw .invalidArgument(loss: loss, reason: "the mean's denominator \(denominator) is not finite")
            }
            return (outputGradient / denominator, nil)
        case let .sum(outputGradient): return (outputGradient, nil)
        case let .none(t):
            guard t.shape == elementShape else {
                throw .shapeMismatch(loss: loss, argument: "output gradient", expected: elementShape, found: t.shape)
            }
            return (1, try floats(t, loss: loss, argument: "output gradient"))
        }
    }

    /// Builds a float32 tensor.
    static func tensor(_ shape: [Int], _ v: [Float], loss: String) throws(LossError) -> Tensor {
        try LossError.wrap(loss) { () throws(TensorError) in try Tensor(shape: shape, scalars: v) }
    }
}

/// A loss whose element `e` depends only on `input[e]`, `target[e]` (and per-element weights):
/// L1, MSE, smooth L1, BCE-with-logits, sigmoid focal loss. The denominator of `mean` is the
/// element count (per sample: the elements of that sample).
protocol ElementwiseLoss: Loss {
    /// Checks the hyper-parameters and returns the rule for this input shape:
    /// `(element index, x, t) → (loss, ∂loss/∂x)`.
    func rule(for shape: [Int]) throws(LossError) -> (Int, Float, Float) -> (loss: Float, derivative: Float)
}

extension ElementwiseLoss {
    /// Reads and checks input and target; `startIndex` names samples in errors.
    func read(_ input: Tensor, _ target: Tensor, startIndex: Int) throws(LossError) -> (x: [Float], t: [Float], perSample: Int) {
        try LossInputs.sameShape(input, target, loss: name, argument: "target")
        let x = try LossInputs.floats(input, loss: name, argument: "input")
        let t = try LossInputs.floats(target, loss: name, argument: "target")
        let perSample = LossInputs.layout(input.shape).perSample
        try LossInputs.checkFinite(x, perSample: perSample, startIndex: startIndex, loss: name, argument: "input")
        try LossInputs.checkFinite(t, perSample: perSample, startIndex: startIndex, loss: name, argument: "target")
        return (x, t, perSample)
    }

    /// The per-element losses, shaped as the input.
    public func elementLosses(_ input: Tensor, _ target: Tensor) throws(LossError) -> Tensor {
        let (x, t, _) = try read(input, target, startIndex: 0)
        let f = try rule(for: input.shape)
        var out = [Float](repeating: 0, count: x.count)
        for e in x.indices { out[e] = f(e, x[e], t[e]).loss }
        return try LossInputs.tensor(input.shape, out, loss: name)
    }

    /// Each sample's numerator is the sum of its element losses in index order; its denominator
    /// is its element count.
    public func sampleTerms(_ input: Tensor, _ target: Tensor, startIndex: Int) throws(LossError) -> SampleLossTerms {
        let (x, t, perSample) = try read(input, target, startIndex: startIndex)
        let f = try rule(for: input.shape)
        var terms = SampleLossTerms()
        let samples = LossInputs.layout(input.shape).samples
        for n in 0..<samples {
            var s: Float = 0
            for e in n * perSample ..< (n + 1) * perSample { s += f(e, x[e], t[e]).loss }
            terms.numerators.append(s)
            terms.denominators.append(Float(perSample))
        }
        return terms
    }

    /// The element count of the targets, summed over samples in the canonical order.
    public func denominator(target: Tensor) throws(LossError) -> Float {
        var terms = LossTerms()
        let (samples, perSample) = LossInputs.layout(target.shape)
        for _ in 0..<samples { terms.append(numerator: 0, denominator: Float(perSample)) }
        return terms.denominator
    }

    /// `∂loss/∂x` of each element times its share of the output gradient.
    public func inputGradient(_ input: Tensor, _ target: Tensor, outputGradient: LossOutputGradient) throws(LossError) -> Tensor {
        let (x, t, _) = try read(input, target, startIndex: 0)
        let f = try rule(for: input.shape)
        let (scale, elements) = try LossInputs.upstream(outputGradient, elementShape: input.shape, loss: name)
        var out = [Float](repeating: 0, count: x.count)
        for e in x.indices { out[e] = (elements?[e] ?? scale) * f(e, x[e], t[e]).derivative }
        return try LossInputs.tensor(input.shape, out, loss: name)
    }
}
