import ReproNN
import ReproTensor

extension RetinaNetConfiguration {
    /// Key prefix of a bottleneck block in the body, e.g. `backbone.body.layer2.0`.
    func blockPrefix(stage: Int, block: Int) -> String { "backbone.body.layer\(stage + 1).\(block)" }

    /// Key prefix of tower conv `i` in a head branch.
    func towerPrefix(_ branch: String, _ i: Int) -> String { "head.\(branch).conv.\(i)" }

    /// Input channels of a stage's first block.
    func stageInputChannels(_ stage: Int) -> Int { stage == 0 ? stemChannels : stageChannels[stage - 1] }

    /// torchvision adds a projection shortcut when the first block changes stride or width.
    func hasDownsample(stage: Int, block: Int) -> Bool {
        block == 0 && (stage > 0 || stageInputChannels(stage) != stageChannels[stage])
    }

    /// Every parameter and buffer in torchvision's `state_dict()` order
    /// (empty when `planes` or `blocks` do not have four entries).
    public var parameterSpecs: [ParameterSpec] {
        var specs: [ParameterSpec] = []
        guard planes.count == 4, blocks.count == 4 else { return specs }
        func conv(_ key: String, _ o: Int, _ i: Int, _ k: Int, bias: Bool) {
            specs.append(ParameterSpec(name: key + ".weight", shape: [o, i, k, k]))
            if bias { specs.append(ParameterSpec(name: key + ".bias", shape: [o])) }
        }
        func norm(_ key: String, _ c: Int) {
            let frozen = style == .v1
            specs.append(ParameterSpec(name: key + ".weight", shape: [c], isBuffer: frozen))
            specs.append(ParameterSpec(name: key + ".bias", shape: [c], isBuffer: frozen))
            specs.append(ParameterSpec(name: key + ".running_mean", shape: [c], isBuffer: true))
            specs.append(ParameterSpec(name: key + ".running_var", shape: [c], isBuffer: true))
            if !frozen { specs.append(ParameterSpec(name: key + ".num_batches_tracked", shape: [], dtype: .int64, isBuffer: true)) }
        }
        conv("backbone.body.conv1", stemChannels, 3, 7, bias: false)
        norm("backbone.body.bn1", stemChannels)
        var inC = stemChannels
        for stage in 0..<4 {
            let p = planes[stage], out = p * expansion
            for b in 0..<blocks[stage] {
                let pre = blockPrefix(stage: stage, block: b)
                conv(pre + ".conv1", p, inC, 1, bias: false); norm(pre + ".bn1", p)
                conv(pre + ".conv2", p, p, 3, bias: false); norm(pre + ".bn2", p)
                conv(pre + ".conv3", out, p, 1, bias: false); norm(pre + ".bn3", out)
                if hasDownsample(stage: stage, block: b) {
                    conv(pre + ".downsample.0", out, inC, 1, bias: false); norm(pre + ".downsample.1", out)
                }
                inC = out
            }
        }
        let f = fpnChannels, c = stageChannels
        for i in 0..<3 { conv("backbone.fpn.inner_blocks.\(i).0", f, c[i + 1], 1, bias: true) }
        for i in 0..<3 { conv("backbone.fpn.layer_blocks.\(i).0", f, f, 3, bias: true) }
        conv("backbone.fpn.extra_blocks.p6", f, p6InputChannels, 3, bias: true)
        conv("backbone.fpn.extra_blocks.p7", f, f, 3, bias: true)
        let a = anchorsPerLocation
        for (branch, last, outC) in [("classification_head", "cls_logits", a * numClasses), ("regression_head", "bbox_reg", a * 4)] {
            for i in 0..<4 {
                let pre = towerPrefix(branch, i)
                if style == .v2 {
                    conv(pre + ".0", f, f, 3, bias: false)
                    specs.append(ParameterSpec(name: pre + ".1.weight", shape: [f]))
                    specs.append(ParameterSpec(name: pre + ".1.bias", shape: [f]))
                } else {
                    conv(pre + ".0", f, f, 3, bias: true)
                }
            }
            conv("head.\(branch).\(last)", outC, f, 3, bias: true)
        }
        return specs
    }

    /// Number of learnable parameters (buffers excluded), as torchvision counts them.
    public var parameterCount: Int {
        parameterSpecs.filter { !$0.isBuffer }.reduce(0) { $0 + $1.shape.reduce(1, *) }
    }
}
