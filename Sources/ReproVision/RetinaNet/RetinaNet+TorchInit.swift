import ReproNN
import ReproRandom
import ReproTensor

extension RetinaNet {
    /// A model initialised exactly as `torch.manual_seed(seed)` followed by torchvision's
    /// builder would initialise it (same draws, same order, same bits).
    ///
    /// For ``RetinaNetConfiguration/v2`` this is `retinanet_resnet50_fpn_v2(weights=None,
    /// weights_backbone=None)`; for ``RetinaNetConfiguration/v1`` the v1 layout built with a
    /// FrozenBatchNorm2d body (the COCO-checkpoint path). For ``RetinaNetConfiguration/mini``
    /// and ``RetinaNetConfiguration/miniV1`` it is the fixture recipe's narrow ResNet (a
    /// standard-width 1-block ResNet is built first and its stages replaced, as
    /// `make_retinanet_fixtures.py` does). Every parameter is random: outputs are reproducible
    /// but meaningless.
    ///
    /// ```swift
    /// let model = try RetinaNet(configuration: .v2, seed: 3407)
    /// ```
    public init(configuration: RetinaNetConfiguration, seed: Int64) throws(RetinaNetError) {
        try configuration.validate()
        do {
            var initializer = TorchStyleInitializer(configuration: configuration, seed: seed)
            let store = try initializer.makeStore()
            try self.init(configuration: configuration, parameters: store)
        } catch let e as RetinaNetError {
            throw e
        } catch let e as ModuleError {
            throw .module(e)
        } catch {
            throw .invalidConfiguration("initialisation failed: \(error)")
        }
    }
}

/// Replays torchvision's construction-time draws on a ``TorchGenerator``.
struct TorchStyleInitializer {
    let configuration: RetinaNetConfiguration
    var g: TorchGenerator
    var values: [String: [Float]] = [:]

    init(configuration: RetinaNetConfiguration, seed: Int64) {
        self.configuration = configuration
        g = TorchGenerator(seed: seed)
    }

    /// True for the narrow fixture bodies (anything that is not ResNet-50's widths).
    var isNarrow: Bool { configuration.planes != [64, 128, 256, 512] || configuration.blocks != [3, 4, 6, 3] }

    mutating func defaultConv(_ o: Int, _ i: Int, _ k: Int, bias: Bool) throws -> TorchInit.LayerParameters {
        try TorchInit.conv2d(inChannels: i, outChannels: o, kernelSize: k, bias: bias, using: &g)
    }

    /// `ResNet.__init__` / `_make_layer` construction draws, then the kaiming-normal pass.
    /// Returns the conv weights in module order.
    mutating func resNet(planes: [Int], blocks: [Int], fcOut: Int, constructStem: Bool) throws -> [(String, [Int], [Float])] {
        let c = configuration
        var convs: [(String, [Int])] = [("backbone.body.conv1", [c.stemChannels, 3, 7, 7])]
        if constructStem { _ = try defaultConv(c.stemChannels, 3, 7, bias: false) }
        var inC = c.stemChannels
        for s in 0..<4 {
            let p = planes[s], out = p * c.expansion
            for b in 0..<blocks[s] {
                let pre = c.blockPrefix(stage: s, block: b)
                let down = b == 0 && (s > 0 || inC != out)
                if down { _ = try defaultConv(out, inC, 1, bias: false) }   // built before the block
                _ = try defaultConv(p, inC, 1, bias: false)
                _ = try defaultConv(p, p, 3, bias: false)
                _ = try defaultConv(out, p, 1, bias: false)
                convs += [(pre + ".conv1", [p, inC, 1, 1]), (pre + ".conv2", [p, p, 3, 3]), (pre + ".conv3", [out, p, 1, 1])]
                if down { convs.append((pre + ".downsample.0", [out, inC, 1, 1])) }
                inC = out
            }
        }
        _ = try TorchInit.linear(inFeatures: inC, outFeatures: fcOut, using: &g)
        var out: [(String, [Int], [Float])] = []
        for (key, shape) in convs {
            var w = [Float](repeating: 0, count: shape.reduce(1, *))
            try TorchInit.kaimingNormal(&w, shape: shape, mode: .fanOut, nonlinearity: .relu, using: &g)
            out.append((key + ".weight", shape, w))
        }
        return out
    }

    mutating func makeStore() throws -> ParameterStore {
        let c = configuration
        var store = try ParameterStore(specs: c.parameterSpecs)
        func put(_ key: String, _ shape: [Int], _ v: [Float]) throws { try store.set(key, Tensor(shape: shape, scalars: v)) }
        // Body.
        let body: [(String, [Int], [Float])]
        if isNarrow {
            _ = try resNet(planes: [64, 128, 256, 512], blocks: [1, 1, 1, 1], fcOut: 1000, constructStem: true)
            body = try resNet(planes: c.planes, blocks: c.blocks, fcOut: 10, constructStem: false)
        } else {
            body = try resNet(planes: c.planes, blocks: c.blocks, fcOut: 1000, constructStem: true)
        }
        for (k, s, v) in body { try put(k, s, v) }
        // Norms: weight 1, bias 0, mean 0, var 1.
        for spec in c.parameterSpecs where spec.name.hasSuffix(".running_var") {
            let base = String(spec.name.dropLast(".running_var".count)), n = spec.shape[0]
            try put(base + ".weight", [n], .init(repeating: 1, count: n))
            try put(spec.name, [n], .init(repeating: 1, count: n))
        }
        // LastLevelP6P7 (constructed before the FPN): default draws, then kaiming_uniform(a=1), zero bias.
        let f = c.fpnChannels
        let extra = [("backbone.fpn.extra_blocks.p6", [f, c.p6InputChannels, 3, 3]), ("backbone.fpn.extra_blocks.p7", [f, f, 3, 3])]
        for (_, s) in extra { _ = try defaultConv(s[0], s[1], 3, bias: true) }
        for (k, s) in extra {
            var w = [Float](repeating: 0, count: s.reduce(1, *))
            try TorchInit.kaimingUniform(&w, shape: s, a: 1, using: &g)
            try put(k + ".weight", s, w)
        }
        // FPN: inner/layer pairs constructed alternately, initialised inner_blocks first.
        let ch = c.stageChannels
        for i in 0..<3 {
            _ = try defaultConv(f, ch[i + 1], 1, bias: true)
            _ = try defaultConv(f, f, 3, bias: true)
        }
        let fpn = (0..<3).map { ("backbone.fpn.inner_blocks.\($0).0", [f, ch[$0 + 1], 1, 1]) }
            + (0..<3).map { ("backbone.fpn.layer_blocks.\($0).0", [f, f, 3, 3]) }
        for (k, s) in fpn {
            var w = [Float](repeating: 0, count: s.reduce(1, *))
            try TorchInit.kaimingUniform(&w, shape: s, a: 1, using: &g)
            try put(k + ".weight", s, w)
        }
        // Heads.
        let v2 = c.style == .v2, a = c.anchorsPerLocation
        func normal(_ s: [Int], std: Double) throws -> [Float] {
            var w = [Float](repeating: 0, count: s.reduce(1, *))
            try TorchInit.normal(&w, std: std, using: &g)
            return w
        }
        let tower = [f, f, 3, 3]
        for _ in 0..<4 { _ = try defaultConv(f, f, 3, bias: !v2) }
        for i in 0..<4 { try put(c.towerPrefix("classification_head", i) + ".0.weight", tower, normal(tower, std: 0.01)) }
        let clsShape = [a * c.numClasses, f, 3, 3]
        _ = try defaultConv(clsShape[0], f, 3, bias: true)
        try put("head.classification_head.cls_logits.weight", clsShape, normal(clsShape, std: 0.01))
        try put("head.classification_head.cls_logits.bias", [clsShape[0]], .init(repeating: c.clsPriorBias, count: clsShape[0]))
        for _ in 0..<4 { _ = try defaultConv(f, f, 3, bias: !v2) }
        let regShape = [a * 4, f, 3, 3]
        _ = try defaultConv(regShape[0], f, 3, bias: true)
        try put("head.regression_head.bbox_reg.weight", regShape, normal(regShape, std: 0.01))
        for i in 0..<4 { try put(c.towerPrefix("regression_head", i) + ".0.weight", tower, normal(tower, std: 0.01)) }
        if v2 {
            for branch in ["classification_head", "regression_head"] {
                for i in 0..<4 { try put(c.towerPrefix(branch, i) + ".1.weight", [f], .init(repeating: 1, count: f)) }
            }
        }
        return store
    }
}
