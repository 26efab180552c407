/// Per-sample losses composed from tape operations. These are the engine's minimal losses for
/// its own tests and examples; the full set (class weights, `ignore_index`, label smoothing,
/// focal, smooth L1, GIoU) lives with the loss functions.
extension Variable {
    /// Cross-entropy of `[n, C]` logits against class indices, one value per sample:
    /// `−log_softmax(x)[i, yᵢ]`.
    public func crossEntropy(targets: [Int]) throws(AutogradError) -> Variable {
        try logSoftmax().picking(targets).scaled(by: -1)
    }

    /// Mean squared error per sample: `mean((x − t)²)` over every non-sample axis.
    public func meanSquaredError(_ target: Variable) throws(AutogradError) -> Variable {
        try (self - target).squared().mean()
    }
}
