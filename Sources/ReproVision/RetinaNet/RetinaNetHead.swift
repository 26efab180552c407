import ReproNN
import ReproRandom
import ReproTensor

/// NHWC `[N, H, W, A·K] → [N, H·W·A, K]` (row `(y·W + x)·A + a`): a reshape, no copy — an NHWC head
/// output (channel `a·K + k`) already is torchvision's flattened layout in memory.
func flattenHeadOutput(_ t: Tensor, columns k: Int, in scope: ModuleScope) throws(ModuleError) -> Tensor {
    try scope.run { () throws(TensorError) in
        try t.reshaped([t.shape[0], t.shape[1] * t.shape[2] * t.shape[3] / k, k])
    }
}

/// torchvision's attribute names of the head modules (each spelled once, here).
enum HeadNames {
    static let conv = "conv", clsLogits = "cls_logits", bboxReg = "bbox_reg"
    static let classificationHead = "classification_head", regressionHead = "regression_head"
}

/// One branch of the RetinaNet head: a tower `conv` of four `Conv2dNormActivation` blocks and a
/// final 3×3 convolution (`cls_logits` or `bbox_reg`), shared by every pyramid level.
public struct RetinaNetHeadBranch: Module {
    /// The tower (`conv.0` … `conv.3`; each `[Conv2d, GroupNorm, ReLU]` in v2, `[Conv2d, ReLU]` in v1).
    public var conv: Sequential
    /// The output convolution.
    public var output: Conv2d
    /// Its attribute name (`cls_logits` or `bbox_reg`).
    public let outputName: String
    /// Columns per anchor of the flattened output (classes, or 4 box deltas).
    public let columns: Int
    private var preparedOutput: PreparedConv2d?

    /// Constructs the tower (default draws), then `output` — in the order the torchvision branch
    /// draws: the classification branch initialises its tower before constructing `cls_logits`,
    /// the regression branch constructs and initialises `bbox_reg` before re-initialising its tower.
    init(channels f: Int, groups: Int?, outputChannels: Int, outputName: String, columns: Int, outputBias: Float,
         towerFirst: Bool, generator g: inout TorchGenerator) throws(ModuleError) {
        var tower: [any Layer] = []
        for _ in 0..<4 {
            tower.append(try Sequential.convNormActivation(
                inChannels: f, outChannels: f, kernelSize: 3, norm: groups.map { .groupNorm(groups: $0) } ?? .none, relu: true, generator: &g))
        }
        conv = Sequential(tower)
        if towerFirst { try conv.initialiseConvolutions(.normal001, generator: &g) }
        output = try Conv2d(inChannels: f, outChannels: outputChannels, kernelSize: 3, padding: 1, generator: &g)
        try output.initialiseConvolutions(.normal001, bias: outputBias, generator: &g)
        if !towerFirst { try conv.initialiseConvolutions(.normal001, generator: &g) }
        self.outputName = outputName
        self.columns = columns
    }

    /// Visits `conv`, then the output convolution.
    public mutating func walk<V: ModuleVisitor>(_ walker: inout ModuleWalker<V>) throws(ModuleError) {
        try walker.child(HeadNames.conv, &conv)
        try walker.child(outputName, &output)
    }

    /// Prepares the tower and the output convolution.
    public mutating func prepare(in scope: ModuleScope) throws(ModuleError) {
        try conv.prepare(in: scope.child(HeadNames.conv))
        preparedOutput = try output.prepared(in: scope.child(outputName))
    }

    /// One level's flattened output `[N, H·W·A, columns]`. Unobserved, each tower block's group
    /// norm + ReLU is applied by the next convolution while it pads its input (same bits).
    public func forward(_ level: Tensor, in scope: ModuleScope) throws(ModuleError) -> Tensor {
        guard let preparedOutput else { throw .notPrepared(path: scope.path) }
        let s = scope.child(outputName)
        let tower = try conv.forwardDeferringNormalization(level, in: scope.child(HeadNames.conv))
        let y = try preparedOutput.run(tower.raw, inputAffine: tower.pending, in: s)
        s.report(y, operation: preparedOutput.operationDescription)
        return try flattenHeadOutput(y, columns: columns, in: s)
    }

    /// ``forward(_:in:)`` on every level, layer by layer: each of the branch's convolutions runs
    /// once over all levels (one weight transform per layer instead of one per level, one team of
    /// threads; ``Sequential/forwardDeferringNormalization(levels:pending:shown:in:levelScopes:)``).
    /// Each level's output has the bits of ``forward(_:in:)`` on that level. With `levelScopes`
    /// (one per level) each level's module outputs are reported to its scope, as ``forward(_:in:)``
    /// reports them on that level; without, nothing is reported.
    func forward(levels: [Tensor], in scope: ModuleScope, levelScopes: [ModuleScope]? = nil) throws(ModuleError) -> [Tensor] {
        guard let preparedOutput else { throw .notPrepared(path: scope.path) }
        let s = scope.child(outputName)
        let towers = try conv.forwardDeferringNormalization(
            levels: levels, in: scope.child(HeadNames.conv), levelScopes: levelScopes?.map { $0.child(HeadNames.conv) })
        let ys = try preparedOutput.run(levels: towers.map(\.raw), inputAffines: towers.map(\.pending), in: s)
        var outputs: [Tensor] = []
        for (i, y) in ys.enumerated() {
            levelScopes?[i].child(outputName).report(
                y, operation: preparedOutput.operationDescription + Sequential.levelsNote(levels.count))
            outputs.append(try flattenHeadOutput(y, columns: columns, in: s))
        }
        return outputs
    }
}

/// torchvision's `RetinaNetHead`: `classification_head` and `regression_head`.
public struct RetinaNetHead: Module {
    /// Class logits per anchor.
    public var classificationHead: RetinaNetHeadBranch
    /// Box deltas per anchor.
    public var regressionHead: RetinaNetHeadBranch

    /// Constructs both branches (classification first) as torchvision does.
    ///
    /// - Parameters:
    ///   - groups: GroupNorm groups in the towers (v2), or `nil` for plain towers (v1).
    ///   - priorBias: `cls_logits` bias, `−log((1 − π) / π)` for the prior π = 0.01.
    init(channels: Int, anchors: Int, numClasses: Int, groups: Int?, priorBias: Float, generator g: inout TorchGenerator) throws(ModuleError) {
        classificationHead = try RetinaNetHeadBranch(
            channels: channels, groups: groups, outputChannels: anchors * numClasses, outputName: HeadNames.clsLogits,
            columns: numClasses, outputBias: priorBias, towerFirst: true, generator: &g)
        regressionHead = try RetinaNetHeadBranch(
            channels: channels, groups: groups, outputChannels: anchors * 4, outputName: HeadNames.bboxReg,
            columns: 4, outputBias: 0, towerFirst: false, generator: &g)
    }

    /// Visits `classification_head`, `regression_head`.
    public mutating func walk<V: ModuleVisitor>(_ walker: inout ModuleWalker<V>) throws(ModuleError) {
        try walker.child(HeadNames.classificationHead, &classificationHead)
        try walker.child(HeadNames.regressionHead, &regressionHead)
    }

    /// Prepares both branches.
    public mutating func prepare(in scope: ModuleScope) throws(ModuleError) {
        try classificationHead.prepare(in: scope.child(HeadNames.classificationHead))
        try regressionHead.prepare(in: scope.child(HeadNames.regressionHead))
    }

    /// Both branches on every level, levels concatenated in order:
    /// `cls_logits [N, ΣHWA, K]` and `bbox_regression [N, ΣHWA, 4]`. Each branch runs its
    /// convolutions once over all levels (``RetinaNetHeadBranch/forward(levels:in:levelScopes:)``),
    /// with each tower block's group norm + ReLU applied by the next convolution. Observers still
    /// see every level's outputs in torchvision's order — level by level, the classification
    /// branch's then the regression branch's: the reports are collected per level and replayed
    /// after both branches ran (``LevelReports``). The bits are those of a level-by-level pass.
    public func forward(_ levels: [Tensor], in scope: ModuleScope) throws(ModuleError) -> (cls: Tensor, reg: Tensor) {
        let cs = scope.child(HeadNames.classificationHead), rs = scope.child(HeadNames.regressionHead)
        let cls: [Tensor], reg: [Tensor]
        if scope.isObserved {
            let reports = LevelReports(levels: 2 * levels.count, of: scope)
            cls = try classificationHead.forward(levels: levels, in: cs, levelScopes: levels.indices.map { reports.scope(cs, level: 2 * $0) })
            reg = try regressionHead.forward(levels: levels, in: rs, levelScopes: levels.indices.map { reports.scope(rs, level: 2 * $0 + 1) })
            for i in 0..<(2 * levels.count) { reports.replay(level: i) }
        } else {
            // Each shared-weight convolution once over all five levels (same bits per level).
            cls = try classificationHead.forward(levels: levels, in: cs)
            reg = try regressionHead.forward(levels: levels, in: rs)
        }
        return try scope.run { () throws(TensorError) in
            (try Tensor.concatenate(cls, along: 1), try Tensor.concatenate(reg, along: 1))
        }
    }
}
