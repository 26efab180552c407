/// `train()` / `eval()`: how mode-dependent layers (BatchNorm, Dropout) behave in a
/// differentiable forward.
public enum TrainingMode: Sendable, Hashable {
    /// BatchNorm normalises with the micro-batch's statistics and updates its running
    /// statistics; Dropout drops.
    case training
    /// BatchNorm uses its running statistics; Dropout is the identity.
    case evaluation
}

/// Which parameters receive gradients (`requires_grad`), by state-dict key or key prefix.
///
/// A frozen parameter is a constant in the differentiable forward and has no entry (`nil`) in
/// ``Gradients``. The longest matching rule wins, so a subtree can be frozen and one of its
/// children thawed again.
///
/// ```
/// var selection = GradientSelection()
/// selection.freeze(prefix: "backbone.body")
/// selection.thaw(prefix: "backbone.body.layer4")
/// selection.requiresGradient("backbone.body.conv1.weight")   // false
/// ```
public struct GradientSelection: Sendable, Hashable {
    private var rules: [String: Bool] = [:]

    /// Every parameter trainable.
    public init() {}

    /// Sets `requiresGradient = false` for `prefix` and everything below it (`""`: all).
    public mutating func freeze(prefix: String) { rules[prefix] = false }

    /// Sets `requiresGradient = true` for `prefix` and everything below it.
    public mutating func thaw(prefix: String) { rules[prefix] = true }

    /// Whether `key` gets a gradient: the rule of the longest prefix that matches at a `.`
    /// boundary (or the whole key), trainable when none matches.
    public func requiresGradient(_ key: String) -> Bool {
        var best: (length: Int, value: Bool)?
        for (prefix, value) in rules.sorted(by: { $0.key < $1.key }) where Self.matches(prefix, key) {
            if best == nil || prefix.count > best!.length { best = (prefix.count, value) }
        }
        return best?.value ?? true
    }

    static func matches(_ prefix: String, _ key: String) -> Bool {
        prefix.isEmpty || key == prefix || key.hasPrefix(prefix + ".")
    }

    /// torchvision's `trainable_backbone_layers` on a ResNet under `prefix` (e.g.
    /// `"backbone.body"`): of `["layer4", "layer3", "layer2", "layer1", "conv1"]` the first
    /// `trainableLayers` (0…5) stay trainable, every other backbone parameter is frozen (`bn1`
    /// trains only with all 5, as torchvision's `_resnet_fpn_extractor` does).
    public static func torchvisionBackbone(prefix: String, trainableLayers: Int) -> GradientSelection {
        var s = GradientSelection()
        s.freeze(prefix: prefix)
        let join = { (name: String) in prefix.isEmpty ? name : prefix + "." + name }
        for name in ["layer4", "layer3", "layer2", "layer1", "conv1"].prefix(max(0, min(5, trainableLayers))) {
            s.thaw(prefix: join(name))
        }
        if trainableLayers >= 5 { s.thaw(prefix: join("bn1")) }
        return s
    }
}

/// Parameter groups for optimizers: each parameter key belongs to exactly one named group,
/// chosen by the longest matching prefix (the default group otherwise).
///
/// ```
/// var groups = ParameterGroups(defaultGroup: "default")
/// groups.assign(prefix: "head", to: "head")
/// groups.group(of: "head.cls_logits.weight")   // "head"
/// ```
public struct ParameterGroups: Sendable, Hashable {
    /// The group of keys no prefix matches.
    public var defaultGroup: String
    private var prefixes: [String: String] = [:]

    /// All parameters in `defaultGroup`.
    public init(defaultGroup: String = "default") { self.defaultGroup = defaultGroup }

    /// Puts `prefix` and everything below it in `group`.
    public mutating func assign(prefix: String, to group: String) { prefixes[prefix] = group }

    /// The group of parameter `key`.
    public func group(of key: String) -> String {
        var best: (length: Int, group: String)?
        for (prefix, group) in prefixes.sorted(by: { $0.key < $1.key }) where GradientSelection.matches(prefix, key) {
            if best == nil || prefix.count > best!.length { best = (prefix.count, group) }
        }
        return best?.group ?? defaultGroup
    }

    /// `keys` split by group, each group's keys in the given order; groups in order of first appearance.
    public func partition(_ keys: [String]) -> [(group: String, keys: [String])] {
        var order: [String] = []
        var members: [String: [String]] = [:]
        for k in keys {
            let g = group(of: k)
            if members[g] == nil { order.append(g) }
            members[g, default: []].append(k)
        }
        return order.map { ($0, members[$0]!) }
    }
}

/// Seed and step of the counter-based dropout masks: a mask element is a pure function of
/// (seed, step, module path, global sample index, element index), so any split of the batch
/// draws the same masks.
public struct DropoutRandomness: Sendable, Hashable {
    /// The training run's seed.
    public var seed: UInt64
    /// The optimisation step (a new mask per step).
    public var step: UInt64

    /// Masks for `step` of the run seeded with `seed`.
    public init(seed: UInt64 = 0, step: UInt64 = 0) {
        self.seed = seed
        self.step = step
    }
}

/// How ``valueAndGradient(of:batchSize:microBatches:options:_:)`` and ``GradientAccumulator`` reduce and check.
public struct GradientOptions: Sendable, Hashable {
    /// How per-sample losses combine into the loss.
    public enum Reduction: Sendable, Hashable {
        /// The canonical sum divided by the global batch size (PyTorch's `reduction='mean'`).
        case mean
        /// The canonical sum.
        case sum
    }

    /// Mean (default) or sum over the global batch.
    public var reduction: Reduction
    /// `train()` or `eval()` behaviour.
    public var mode: TrainingMode
    /// Which parameters get gradients.
    public var selection: GradientSelection
    /// Dropout's seed and step.
    public var randomness: DropoutRandomness
    /// Accept BatchNorm training statistics per micro-batch (PyTorch's behaviour under gradient
    /// accumulation) instead of refusing the combination.
    public var allowsBatchStatisticsWithMicroBatches: Bool

    /// The defaults: mean, training mode, everything trainable, seed 0 step 0, refuse batch
    /// statistics with micro-batches.
    public init(reduction: Reduction = .mean, mode: TrainingMode = .training, selection: GradientSelection = .init(),
                randomness: DropoutRandomness = .init(), allowsBatchStatisticsWithMicroBatches: Bool = false) {
        self.reduction = reduction
        self.mode = mode
        self.selection = selection
        self.randomness = randomness
        self.allowsBatchStatisticsWithMicroBatches = allowsBatchStatisticsWithMicroBatches
    }
}
