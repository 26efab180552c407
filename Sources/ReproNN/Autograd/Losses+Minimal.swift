import ReproTensor

/// Per-sample shorthands for the common losses on the tape.
extension Variable {
    /// Cross-entropy of `[n, C]` logits against class indices, one value per sample:
    /// `−log_softmax(x)[i, yᵢ]` — ``loss(_:target:denominator:)`` with an unweighted
    /// ``CrossEntropyLoss`` reduced by `sum`, so the values and gradients are the loss's own. For
    /// class weights, `ignore_index` or label smoothing, use ``loss(_:target:denominator:)``.
    public func crossEntropy(targets: [Int]) throws(AutogradError) -> Variable {
        let y = try AutogradError.wrap("cross_entropy targets") { () throws(TensorError) in
            try Tensor(shape: [targets.count], scalars: targets.map { Int64($0) })
        }
        return try loss(CrossEntropyLoss(reduction: .sum), target: y)
    }

    /// Mean squared error per sample: `mean((x − t)²)` over every non-sample axis (differentiable
    /// in both `self` and `target`).
    public func meanSquaredError(_ target: Variable) throws(AutogradError) -> Variable {
        try (self - target).squared().mean()
    }
}
