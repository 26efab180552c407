import ReproNN
import ReproTensor

/// The prepared layers of a RetinaNet: convolutions with folded norms, built once per load.
struct RetinaNetNetwork: Sendable {
    struct Bottleneck: Sendable {
        var conv1: Conv2d, conv2: Conv2d, conv3: Conv2d
        var downsample: Conv2d?
    }

    struct TowerLayer: Sendable {
        var conv: Conv2d
        var groupNorm: (weight: Tensor, bias: Tensor)?
    }

    /// Feature maps produced by one forward pass of one image, all **NHWC** (`[1, H, W, C]`):
    /// the network never changes layout between the canvas and the head outputs.
    struct Features: Sendable {
        var stem: Tensor
        var c: [Tensor]        // C3, C4, C5
        var p: [Tensor]        // P3 … P7
        var clsLogits: Tensor  // [1, ΣHWA, K]
        var bboxRegression: Tensor  // [1, ΣHWA, 4]
    }

    let configuration: RetinaNetConfiguration
    var stem: Conv2d
    var stages: [[Bottleneck]]
    var inner: [Conv2d], layer: [Conv2d]
    var p6: Conv2d, p7: Conv2d
    var clsTower: [TowerLayer], regTower: [TowerLayer]
    var clsLogits: Conv2d, bboxReg: Conv2d

    init(configuration c: RetinaNetConfiguration, store: ParameterStore) throws(TensorError) {
        configuration = c
        func t(_ k: String) -> Tensor { store[k]! }
        func affine(_ k: String) throws(TensorError) -> ChannelAffine {
            try ChannelAffine.frozenBatchNorm(
                weight: t(k + ".weight"), bias: t(k + ".bias"), runningMean: t(k + ".running_mean"),
                runningVariance: t(k + ".running_var"), eps: c.normEpsilon)
        }
        func convBN(_ conv: String, _ bn: String, stride: Int, padding: Int, relu: Bool) throws(TensorError) -> Conv2d {
            try Conv2d(weight: t(conv + ".weight"), stride: (stride, stride), padding: (padding, padding),
                       normalization: affine(bn), relu: relu)
        }
        func convBias(_ k: String, stride: Int = 1, padding: Int, relu: Bool = false) throws(TensorError) -> Conv2d {
            try Conv2d(weight: t(k + ".weight"), bias: t(k + ".bias"), stride: (stride, stride), padding: (padding, padding), relu: relu)
        }
        stem = try convBN("backbone.body.conv1", "backbone.body.bn1", stride: 2, padding: 3, relu: true)
        var stages: [[Bottleneck]] = []
        for s in 0..<4 {
            var blocks: [Bottleneck] = []
            for b in 0..<c.blocks[s] {
                let pre = c.blockPrefix(stage: s, block: b)
                let stride = (b == 0 && s > 0) ? 2 : 1
                blocks.append(Bottleneck(
                    conv1: try convBN(pre + ".conv1", pre + ".bn1", stride: 1, padding: 0, relu: true),
                    conv2: try convBN(pre + ".conv2", pre + ".bn2", stride: stride, padding: 1, relu: true),
                    conv3: try convBN(pre + ".conv3", pre + ".bn3", stride: 1, padding: 0, relu: false),
                    downsample: c.hasDownsample(stage: s, block: b)
                        ? try convBN(pre + ".downsample.0", pre + ".downsample.1", stride: stride, padding: 0, relu: false)
                        : nil))
            }
            stages.append(blocks)
        }
        self.stages = stages
        var inner: [Conv2d] = [], layer: [Conv2d] = []
        for i in 0..<3 {
            inner.append(try convBias("backbone.fpn.inner_blocks.\(i).0", padding: 0))
            layer.append(try convBias("backbone.fpn.layer_blocks.\(i).0", padding: 1))
        }
        self.inner = inner
        self.layer = layer
        p6 = try convBias("backbone.fpn.extra_blocks.p6", stride: 2, padding: 1)
        p7 = try convBias("backbone.fpn.extra_blocks.p7", stride: 2, padding: 1)
        func tower(_ branch: String) throws(TensorError) -> [TowerLayer] {
            var out: [TowerLayer] = []
            for i in 0..<4 {
                let pre = c.towerPrefix(branch, i)
                if c.style == .v2 {
                    out.append(TowerLayer(conv: try Conv2d(weight: t(pre + ".0.weight"), padding: (1, 1)),
                                          groupNorm: (t(pre + ".1.weight"), t(pre + ".1.bias"))))
                } else {
                    out.append(TowerLayer(conv: try convBias(pre + ".0", padding: 1, relu: true), groupNorm: nil))
                }
            }
            return out
        }
        clsTower = try tower("classification_head")
        regTower = try tower("regression_head")
        clsLogits = try convBias("head.classification_head.cls_logits", padding: 1)
        bboxReg = try convBias("head.regression_head.bbox_reg", padding: 1)
    }

    /// Runs body, FPN and heads on one padded, normalised NHWC canvas `[1, Hp, Wp, 3]`.
    func forward(_ x: Tensor) throws(TensorError) -> Features {
        let (stem, cs) = try body(x)
        let ps = try fpn(cs)
        let (cls, reg) = try heads(ps)
        return Features(stem: stem, c: cs, p: ps, clsLogits: cls, bboxRegression: reg)
    }

    private var threads: Int { Runtime.settings.threads }

    /// ResNet body on an NHWC canvas: the stem's max-pool output and C3, C4, C5 (NHWC).
    func body(_ x: Tensor) throws(TensorError) -> (stem: Tensor, c: [Tensor]) {
        let t = threads
        let stemOut = try stem.forward(nhwc: x, threads: t).maxPool2dNHWC(kernel: 3, stride: 2, padding: 1)
        var h = stemOut
        var cs: [Tensor] = []
        for (s, blocks) in stages.enumerated() {
            for block in blocks {
                let identity = try block.downsample.map { (d) throws(TensorError) in try d.forward(nhwc: h, threads: t) } ?? h
                var y = try block.conv3.forward(nhwc: block.conv2.forward(nhwc: block.conv1.forward(nhwc: h, threads: t), threads: t), threads: t)
                try y.add(identity, relu: true)
                h = y
            }
            if s >= 1 { cs.append(h) }
        }
        return (stemOut, cs)
    }

    /// FPN with the extra P6/P7 levels: P3 … P7 (NHWC).
    func fpn(_ cs: [Tensor]) throws(TensorError) -> [Tensor] {
        let t = threads
        var last = try inner[2].forward(nhwc: cs[2], threads: t)
        var ps = [try layer[2].forward(nhwc: last, threads: t)]
        for i in stride(from: 1, through: 0, by: -1) {
            var lateral = try inner[i].forward(nhwc: cs[i], threads: t)
            try lateral.add(last.upsampledNearestNHWC(toHeight: lateral.shape[1], width: lateral.shape[2]))
            last = lateral
            ps.insert(try layer[i].forward(nhwc: last, threads: t), at: 0)
        }
        let p6Input = configuration.style == .v2 ? cs[2] : ps[2]
        let p6Out = try p6.forward(nhwc: p6Input, threads: t)
        let p7Out = try p7.forward(nhwc: p6Out.relu(), threads: t)
        ps.append(p6Out)
        ps.append(p7Out)
        return ps
    }

    /// The shared heads on every level: `cls_logits [1, ΣHWA, K]` and `bbox_regression [1, ΣHWA, 4]`.
    /// An NHWC head output `[1, H, W, A·K]` (channel `a·K + k`) already is `[1, H·W·A, K]` in memory
    /// (row `(y·W + x)·A + a`), so flattening is a reshape; levels are concatenated P3 … P7.
    func heads(_ ps: [Tensor]) throws(TensorError) -> (cls: Tensor, reg: Tensor) {
        let t = threads
        var cls: [Tensor] = [], reg: [Tensor] = []
        let k = configuration.numClasses, a = configuration.anchorsPerLocation
        for p in ps {
            cls.append(try Self.flatten(clsLogits.forward(nhwc: runTower(clsTower, p), threads: t), anchors: a, columns: k))
            reg.append(try Self.flatten(bboxReg.forward(nhwc: runTower(regTower, p), threads: t), anchors: a, columns: 4))
        }
        return (try Tensor.concatenate(cls, along: 1), try Tensor.concatenate(reg, along: 1))
    }

    private func runTower(_ tower: [TowerLayer], _ x: Tensor) throws(TensorError) -> Tensor {
        var h = x
        for l in tower {
            h = try l.conv.forward(nhwc: h, threads: threads)
            if let gn = l.groupNorm {
                try h.formGroupNormNHWC(groups: configuration.headGroups, weight: gn.weight, bias: gn.bias, eps: 1e-5, relu: true)
            }
        }
        return h
    }

    /// NHWC `[N, H, W, A·K] → [N, H·W·A, K]` (row `(y·W + x)·A + a`): a reshape, no copy.
    static func flatten(_ t: Tensor, anchors a: Int, columns k: Int) throws(TensorError) -> Tensor {
        let n = t.shape[0], h = t.shape[1], w = t.shape[2]
        return try t.reshaped([n, h * w * a, k])
    }
}
