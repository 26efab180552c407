import ReproImage
import ReproNN
import ReproRandom
import ReproTensor

/// torchvision's RetinaNet (v2 or v1 layout) for deterministic CPU inference: a tree of
/// `backbone.body` (``ResNet``), `backbone.fpn` (``FeaturePyramidNetwork``) and `head`
/// (``RetinaNetHead``) whose walk is the state-dict key list.
///
/// Each image is processed on its own canvas (its resized size rounded up to a
/// multiple of 32), exactly like torchvision's batch of one, so an image's
/// detections never depend on the other images passed with it. torchvision pads a
/// batch to its largest image instead, which changes GroupNorm statistics and
/// P6/P7 anchor strides (docs/retinanet.md, "Batches").
///
/// ```swift
/// var model = try RetinaNet(configuration: .v2, seed: 3407)
/// _ = try model.load(stateDict: StateDict(contentsOf: "retinanet_v2.pth"))
/// let detections = try model.detect([Image(contentsOfFile: "photo.jpg")])
/// ```
public struct RetinaNet: Module {
    /// The architecture and inference settings.
    public let configuration: RetinaNetConfiguration
    static let backboneName = "backbone", headName = "head"
    /// `backbone.body` and `backbone.fpn`.
    public private(set) var backbone: BackboneWithFPN
    /// `head.classification_head` and `head.regression_head`.
    public private(set) var head: RetinaNetHead

    /// A model initialised exactly as `torch.manual_seed(seed)` followed by torchvision's
    /// builder would initialise it (same draws, same order, same bits).
    ///
    /// For ``RetinaNetConfiguration/v2`` this is `retinanet_resnet50_fpn_v2(weights=None,
    /// weights_backbone=None)`; for ``RetinaNetConfiguration/v1`` it is `retinanet_resnet50_fpn(weights=None,
    /// weights_backbone=None)` (see ``RetinaNetConfiguration/normEpsilon`` for the norm). For
    /// ``RetinaNetConfiguration/mini`` and ``RetinaNetConfiguration/miniV1`` it is the fixture
    /// recipe's narrow ResNet (a standard-width 1-block ResNet is built first and its stages
    /// replaced). Every parameter is random: outputs are reproducible but meaningless.
    ///
    /// ```swift
    /// let model = try RetinaNet(configuration: .v2, seed: 3407)
    /// ```
    public init(configuration: RetinaNetConfiguration, seed: Int64) throws(RetinaNetError) {
        var g = TorchGenerator(seed: seed)
        try self.init(configuration: configuration, generator: &g)
    }

    /// A model built from a caller's generator, which then continues exactly as torch's default
    /// generator does after the builder returns (e.g. for the `torch.rand` input of torchvision's tests).
    ///
    /// ```swift
    /// var g = TorchGenerator(seed: 0)
    /// var c = RetinaNetConfiguration.v2
    /// c.numClasses = 20
    /// let model = try RetinaNet(configuration: c, generator: &g)
    /// let x = try Tensor(shape: [3, 224, 224], scalars: try g.rand(count: 3 * 224 * 224))
    /// ```
    public init(configuration: RetinaNetConfiguration, generator: inout TorchGenerator) throws(RetinaNetError) {
        try configuration.validate()
        self.configuration = configuration
        let c = configuration
        var g = generator
        do {
            // Every convolution's default draws are overwritten by an init loop (ResNet's, the FPN's,
            // the head's): they only move the generator, so they are skipped, not computed.
            let parts = try ParameterPlaceholders.discardingConvolutionDraws { () throws(ModuleError) in
                try Self.buildParts(c, generator: &g)
            }
            backbone = parts.backbone
            head = parts.head
            if !ParameterPlaceholders.isActive {
                try ParameterPlaceholders.requireNoPlaceholders(in: &self)
                try prepare(in: .root)
            }
        } catch {
            throw .module(error)
        }
        generator = g
    }

    /// The body, FPN and head constructed and initialised in torchvision's order.
    private static func buildParts(
        _ c: RetinaNetConfiguration, generator g: inout TorchGenerator
    ) throws(ModuleError) -> (backbone: BackboneWithFPN, head: RetinaNetHead) {
        // The body: resnet50(...) (fc drawn, then dropped by the FPN extractor).
        var body: ResNet
        if c.isNarrow {
            var standard = c.bodyConfiguration
            standard.planes = [64, 128, 256, 512]
            standard.layers = [1, 1, 1, 1]
            body = try ResNet(configuration: standard, generator: &g, prepare: false)
            try body.buildStages(planes: c.planes, blocks: c.blocks, numClasses: 10, generator: &g)
        } else {
            body = try ResNet(configuration: c.bodyConfiguration, generator: &g, prepare: false)
        }
        body.removeClassifier()
        // LastLevelP6P7 is constructed (as an argument) before the FPN.
        let extra = try LastLevelP6P7(inChannels: c.p6InputChannels, outChannels: c.fpnChannels, generator: &g)
        let fpn = try FeaturePyramidNetwork(inChannels: Array(c.stageChannels[1...]), outChannels: c.fpnChannels,
                                            extraBlocks: extra, generator: &g)
        let head = try RetinaNetHead(channels: c.fpnChannels, anchors: c.anchorsPerLocation, numClasses: c.numClasses,
                                     groups: c.style == .v2 ? c.headGroups : nil, priorBias: c.clsPriorBias, generator: &g)
        return (BackboneWithFPN(body: body, fpn: fpn), head)
    }

    /// A model built directly from a checkpoint: no random initialisation is drawn (every
    /// parameter starts as a placeholder that allocates nothing), the checkpoint is loaded
    /// **strictly** and the model prepared once. Outputs are bit-identical to building from any
    /// seed and then loading the same checkpoint, at a fraction of the time and memory.
    ///
    /// Strictness is not optional here: a key the checkpoint lacks is an error
    /// (``ModuleError/incompatibleStateDict(_:)`` naming it), never a silent zero. For a
    /// non-strict load (PyTorch's `strict=False`, which keeps the random values of missing
    /// keys), build from a seed and call ``load(stateDict:strict:)``.
    ///
    /// ```swift
    /// let (model, report) = try RetinaNet.loading(StateDict(contentsOf: "retinanet_v2.pth"), configuration: .v2)
    /// report.ignored   // checkpoint entries dropped on purpose
    /// ```
    /// - Returns: the ready model and the load report (only ignored keys can be listed).
    /// - Throws: ``RetinaNetError/module(_:)`` for a checkpoint that does not match.
    public static func loading(_ stateDict: StateDict, configuration: RetinaNetConfiguration) throws(RetinaNetError) -> (model: RetinaNet, report: LoadReport) {
        var times = LoadingTimes()
        return try loading(stateDict, configuration: configuration, times: &times)
    }

    /// Wall-clock time of each step of ``loading(_:configuration:)`` (`repro detect --profile`'s
    /// `init_phases`).
    package struct LoadingTimes: Sendable {
        /// Building the module tree with placeholder parameters (nothing drawn, nothing allocated).
        package var construct: Duration = .zero
        /// Matching keys and converting each checkpoint tensor into its final storage (one copy).
        package var convert: Duration = .zero
        /// Folding the norms and packing the convolutions that keep a packed form.
        package var prepare: Duration = .zero

        package init() {}
    }

    /// ``loading(_:configuration:)``, timing each step into `times`.
    package static func loading(
        _ stateDict: StateDict, configuration: RetinaNetConfiguration, times: inout LoadingTimes
    ) throws(RetinaNetError) -> (model: RetinaNet, report: LoadReport) {
        try configuration.validate()
        let clock = ContinuousClock()
        do throws(ModuleError) {
            let start = clock.now
            var model = try ParameterPlaceholders.building { () throws(ModuleError) -> RetinaNet in
                do throws(RetinaNetError) { return try RetinaNet(configuration: configuration, seed: 0) } catch {
                    if case .module(let e) = error { throw e }
                    throw .invalidConfiguration("\(error)")
                }
            }
            times.construct = clock.now - start
            let report = try model.load(stateDict: stateDict, strict: true, times: &times)
            return (model, report)
        } catch {
            throw .module(error)
        }
    }

    /// Visits `backbone`, then `head`.
    public mutating func walk<V: ModuleVisitor>(_ walker: inout ModuleWalker<V>) throws(ModuleError) {
        try walker.child(RetinaNet.backboneName, &backbone)
        try walker.child(RetinaNet.headName, &head)
    }

    /// Folds the norms, packs every convolution that keeps a packed form (NHWC kernels; Winograd
    /// layers transform their raw weights per call and keep nothing).
    public mutating func prepare(in scope: ModuleScope) throws(ModuleError) {
        try backbone.prepare(in: scope.child(RetinaNet.backboneName))
        try head.prepare(in: scope.child(RetinaNet.headName))
    }

    /// Loads a checkpoint and re-prepares the layers; nothing changes unless all of it loads.
    ///
    /// For the v1 layout, legacy key names are upgraded first (``StateDict/upgradingLegacyRetinaNetKeys(fpnBlocks:)``)
    /// and `num_batches_tracked` entries are ignored, as torchvision's frozen norm does. The norm epsilon
    /// is the configuration's: build the model with ``RetinaNetConfiguration/normEpsilon`` = 0 for
    /// torchvision's official COCO v1 file (``RetinaNetConfiguration/isOfficialCOCOV1Checkpoint(sha256:)``).
    public mutating func load(stateDict: StateDict, strict: Bool = true) throws(ModuleError) -> LoadReport {
        var times = LoadingTimes()
        return try load(stateDict: stateDict, strict: strict, times: &times)
    }

    /// ``load(stateDict:strict:)``, timing the conversion and the preparation into `times`.
    package mutating func load(stateDict: StateDict, strict: Bool, times: inout LoadingTimes) throws(ModuleError) -> LoadReport {
        let clock = ContinuousClock()
        let start = clock.now
        let dict = configuration.style == .v1 ? stateDict.upgradingLegacyRetinaNetKeys() : stateDict
        var copy = self
        let report = try copy.replaceParameters(from: dict, strict: strict)
        let converted = clock.now
        try copy.prepare(in: .root)
        times.convert = converted - start
        times.prepare = clock.now - converted
        self = copy
        return report
    }

    /// Detects objects in each image; the result for an image never depends on the others.
    ///
    /// - Returns: per image, detections in descending score order (ties: lower candidate index first).
    public func detect(_ images: [Image]) throws(RetinaNetError) -> [[Detection]] {
        let fp = FloatingPointEnvironment.enterStandardMode()   // whatever mode the host left this thread in
        defer { fp.restore() }
        var out: [[Detection]] = []
        for (i, image) in images.enumerated() {
            out.append(try run(try Self.input(image, index: i), index: i, keepFeatures: false).detections)
        }
        return out
    }

    /// Detects objects in float images `[N, 3, H, W]` or `[3, H, W]` with values in [0, 1]
    /// (torchvision's `model([x])` input), each image on its own canvas.
    ///
    /// - Parameter observer: the per-module hook, called with each module's path and output
    ///   (NHWC feature maps; fused groups report once, under their last module).
    /// - Returns: per image, detections in descending score order.
    public func detect(_ images: Tensor, observer: ModuleObserver? = nil) throws(RetinaNetError) -> [[Detection]] {
        guard images.dtype == .float32, (images.rank == 4 && images.shape[1] == 3) || (images.rank == 3 && images.shape[0] == 3) else {
            throw .invalidImage(index: 0, reason: "expected a float32 [N, 3, H, W] or [3, H, W] tensor, got \(images.dtype) \(images.shape)")
        }
        let batch = images.rank == 4 ? images : try Self.checked(0) { () throws(TensorError) in try images.reshaped([1] + images.shape) }
        guard batch.shape[2] > 0, batch.shape[3] > 0 else { throw .invalidImage(index: 0, reason: "empty image \(images.shape)") }
        let fp = FloatingPointEnvironment.enterStandardMode()   // whatever mode the host left this thread in
        defer { fp.restore() }
        var out: [[Detection]] = []
        for i in 0..<batch.shape[0] {
            let input = try Self.checked(i) { () throws(TensorError) in try batch.sliced(dim: 0, range: i..<(i + 1)).contiguous() }
            out.append(try run(input, index: i, keepFeatures: false, observer: observer).detections)
        }
        return out
    }

    /// Everything computed for one image (for parity checks and debugging).
    public struct Trace: Sendable {
        /// Normalised, resized, unpadded image `[1, 3, h, w]`.
        public var resized: Tensor
        /// The padded canvas `[1, 3, Hp, Wp]`.
        public var batched: Tensor
        /// After the stem's max pool.
        public var stem: Tensor
        /// C3, C4, C5.
        public var body: [Tensor]
        /// P3 … P7.
        public var fpn: [Tensor]
        /// `[1, ΣHWA, K]`.
        public var clsLogits: Tensor
        /// `[1, ΣHWA, 4]`.
        public var bboxRegression: Tensor
        /// All anchors, level by level.
        public var anchors: [BoundingBox]
        /// Boxes in resized coordinates before rescaling.
        public var boxesResized: [BoundingBox]
        /// Final detections.
        public var detections: [Detection]
    }

    /// Runs one image and returns every intermediate (feature maps converted to PyTorch's NCHW).
    public func trace(_ image: Image) throws(RetinaNetError) -> Trace {
        let pass = try run(try Self.input(image, index: 0), index: 0, keepFeatures: true)
        guard let f = pass.features, let resized = pass.resized else { throw .invalidConfiguration("trace kept no features") }
        do {
            return Trace(resized: resized, batched: try pass.canvas.nchwFromNHWC(), stem: try f.stem.nchwFromNHWC(),
                         body: try f.c.map { (t) throws(TensorError) in try t.nchwFromNHWC() },
                         fpn: try f.p.map { (t) throws(TensorError) in try t.nchwFromNHWC() },
                         clsLogits: f.clsLogits, bboxRegression: f.bboxRegression, anchors: pass.anchors,
                         boxesResized: pass.boxesResized, detections: pass.detections)
        } catch {
            throw .tensor(error)
        }
    }

    /// Feature maps of one pass, all NHWC `[1, H, W, C]`: the network never changes layout
    /// between the canvas and the head outputs.
    struct Features: Sendable {
        var stem: Tensor
        var c: [Tensor]             // C3, C4, C5
        var p: [Tensor]             // P3 … P7
        var clsLogits: Tensor       // [1, ΣHWA, K]
        var bboxRegression: Tensor  // [1, ΣHWA, 4]
    }

    /// One image's pass: the resized image (NCHW) and NHWC features (`nil` unless asked for), the NHWC canvas,
    /// detections and the time spent per stage.
    struct Pass {
        var resized: Tensor?, canvas: Tensor
        var features: Features?
        var anchors: [BoundingBox], boxesResized: [BoundingBox]
        var detections: [Detection]
        var times: StageTimes
    }

    /// An image as torchvision's `to_tensor`: `[1, 3, H, W]` floats in [0, 1].
    static func input(_ image: Image, index: Int) throws(RetinaNetError) -> Tensor {
        guard image.width > 0, image.height > 0 else { throw .invalidImage(index: index, reason: "empty image") }
        let rgb = image.rgb()
        do {
            // Straight into the tensor's storage (no intermediate array).
            return try Tensor(unsafeUninitializedShape: [1, 3, rgb.height, rgb.width], dtype: .float32) { raw in
                rgb.pixels.withUnsafeBufferPointer { p in
                    ImageTensor.chwUnitFloats(hwc: p, width: rgb.width, height: rgb.height, channels: 3,
                                              into: raw.bindMemory(to: Float.self))
                }
            }
        } catch { throw .tensor(error) }
    }

    /// Runs a tensor operation on input `index`, reporting a failure as an invalid image.
    private static func checked<R>(_ index: Int, _ body: () throws(TensorError) -> R) throws(RetinaNetError) -> R {
        do { return try body() } catch { throw .invalidImage(index: index, reason: "\(error)") }
    }

    /// Maps a module failure to the stage it happened in.
    private static func stage(_ name: String, _ body: () throws(ModuleError) -> Void) throws(RetinaNetError) {
        do { try body() } catch { throw .stage(name, error) }
    }

    /// - Parameter keepFeatures: keep the intermediate feature maps (for ``trace(_:)``); without it each
    ///   map is released as soon as the next stage has consumed it, which lowers the peak memory.
    func run(_ input: Tensor, index: Int, keepFeatures: Bool, observer: ModuleObserver? = nil,
             operationObserver: ModuleOperationObserver? = nil) throws(RetinaNetError) -> Pass {
        let c = configuration
        let clock = ContinuousClock()
        var mark = clock.now
        func lap() -> Double {
            let now = clock.now, d = now - mark
            mark = now
            return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
        }
        var times = StageTimes()
        let root = ModuleScope(observer: observer, operationObserver: operationObserver)
        let scope = root.child(RetinaNet.backboneName)
        let height = input.shape[2], width = input.shape[3]
        let t: Transformed
        do { t = try Self.transform(input, configuration: c, keepResized: keepFeatures) } catch { throw .tensor(error) }
        let canvasNHWC = t.canvasNHWC, h = t.height, w = t.width
        times.transform = lap()
        var body: (stem: Tensor, stages: [Tensor])?
        try Self.stage("body") { () throws(ModuleError) in body = try backbone.body.features(canvasNHWC, returning: [1, 2, 3], in: scope.child(FPNNames.body)) }
        times.body = lap()
        var ps: [Tensor] = []
        try Self.stage("fpn") { () throws(ModuleError) in ps = try backbone.fpn.forward(body?.stages ?? [], in: scope.child(FPNNames.fpn)) }
        times.fpn = lap()
        let kept = keepFeatures ? body.map { (stem: $0.stem, c: $0.stages) } : nil
        body = nil
        var heads: (cls: Tensor, reg: Tensor)?
        try Self.stage("head") { () throws(ModuleError) in heads = try head.forward(ps, in: root.child(RetinaNet.headName)) }
        guard let (cls, reg) = heads else { throw .invalidConfiguration("the head produced no output") }
        times.head = lap()
        do {
            let hp = canvasNHWC.shape[1], wp = canvasNHWC.shape[2]
            let sizes = ps.map { (height: $0.shape[1], width: $0.shape[2]) }
            let anchors = AnchorGenerator.retinaNet.anchors(paddedHeight: hp, paddedWidth: wp, featureSizes: sizes)
            let post = try RetinaNetPostprocess(configuration: c).run(
                clsLogits: cls, bboxRegression: reg, anchors: anchors,
                levelSizes: sizes.map { $0.height * $0.width }, imageHeight: h, imageWidth: w)
            let rh = Float(height) / Float(h), rw = Float(width) / Float(w)
            let dets = zip(post.boxes, zip(post.scores, post.labels)).map { b, sl in
                Detection(box: BoundingBox(x1: b.x1 * rw, y1: b.y1 * rh, x2: b.x2 * rw, y2: b.y2 * rh), score: sl.0, label: sl.1)
            }
            times.postprocess = lap()
            return Pass(resized: t.resized, canvas: canvasNHWC,
                        features: kept.map { Features(stem: $0.stem, c: $0.c, p: ps, clsLogits: cls, bboxRegression: reg) },
                        anchors: anchors, boxesResized: post.boxes, detections: dets, times: times)
        } catch {
            throw .tensor(error)
        }
    }
}
