import ReproImage
import ReproNN
import ReproTensor

/// torchvision's RetinaNet (v2 or v1 layout) for deterministic CPU inference.
///
/// Each image is processed on its own canvas (its resized size rounded up to a
/// multiple of 32), exactly like torchvision's batch of one, so an image's
/// detections never depend on the other images passed with it. torchvision pads a
/// batch to its largest image instead, which changes GroupNorm statistics and
/// P6/P7 anchor strides (retinanet.md §10.1).
///
/// ```swift
/// var model = try RetinaNet(configuration: .v2, seed: 3407)
/// _ = try model.load(stateDict: StateDict(contentsOf: "retinanet_v2.pth"))
/// let detections = try model.detect([Image(contentsOfFile: "photo.jpg")])
/// ```
public struct RetinaNet: Module, Sendable {
    /// The architecture and inference settings.
    public let configuration: RetinaNetConfiguration
    private var store: ParameterStore
    private var network: RetinaNetNetwork

    /// A model whose parameters come from a ``ParameterStore`` (e.g. after a custom initialisation).
    public init(configuration: RetinaNetConfiguration, parameters: ParameterStore) throws(RetinaNetError) {
        try configuration.validate()
        guard parameters.specs == configuration.parameterSpecs else {
            throw .invalidConfiguration("the parameter store does not describe this configuration")
        }
        self.configuration = configuration
        store = parameters
        do { network = try RetinaNetNetwork(configuration: configuration, store: parameters) } catch { throw .tensor(error) }
    }

    /// Every parameter and buffer in torchvision's `state_dict()` order.
    public var parameterSpecs: [ParameterSpec] { store.specs }

    /// The current parameters and buffers.
    public var stateDict: [String: Tensor] { store.values }

    /// Loads a checkpoint (legacy v1 key names are upgraded first) and re-prepares the layers.
    ///
    /// `num_batches_tracked` entries are ignored for the v1 (frozen norm) layout, as torchvision does.
    public mutating func load(stateDict: StateDict, strict: Bool = true) throws(ModuleError) -> LoadReport {
        let dict = configuration.style == .v1 ? stateDict.upgradingLegacyRetinaNetKeys() : stateDict
        var s = store
        if configuration.style == .v1 { s.ignorableSuffixes = [".num_batches_tracked"] }
        let report = try s.load(dict, strict: strict)
        do { network = try RetinaNetNetwork(configuration: configuration, store: s) } catch { throw .tensor(error) }
        store = s
        return report
    }

    /// Detects objects in each image; the result for an image never depends on the others.
    ///
    /// - Returns: per image, detections in descending score order (ties: lower candidate index first).
    public func detect(_ images: [Image]) throws(RetinaNetError) -> [[Detection]] {
        var out: [[Detection]] = []
        for (i, image) in images.enumerated() {
            out.append(try run(image, index: i, keepFeatures: false).detections)
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
        let pass = try run(image, index: 0, keepFeatures: true)
        do {
            let f = pass.features!
            return Trace(resized: pass.resized, batched: pass.canvas, stem: try f.stem.nchwFromNHWC(),
                         body: try f.c.map { (t) throws(TensorError) in try t.nchwFromNHWC() },
                         fpn: try f.p.map { (t) throws(TensorError) in try t.nchwFromNHWC() },
                         clsLogits: f.clsLogits, bboxRegression: f.bboxRegression, anchors: pass.anchors,
                         boxesResized: pass.boxesResized, detections: pass.detections)
        } catch {
            throw .tensor(error)
        }
    }

    /// One image's pass: NCHW canvas, NHWC features (`nil` unless asked for), detections and the time spent per stage.
    struct Pass {
        var resized: Tensor, canvas: Tensor
        var features: RetinaNetNetwork.Features?
        var anchors: [BoundingBox], boxesResized: [BoundingBox]
        var detections: [Detection]
        var times: StageTimes
    }

    /// - Parameter keepFeatures: keep the intermediate feature maps (for ``trace(_:)``); without it each
    ///   map is released as soon as the next stage has consumed it, which lowers the peak memory.
    func run(_ image: Image, index: Int, keepFeatures: Bool) throws(RetinaNetError) -> Pass {
        let c = configuration
        guard image.width > 0, image.height > 0 else { throw .invalidImage(index: index, reason: "empty image") }
        let clock = ContinuousClock()
        var mark = clock.now
        func lap() -> Double {
            let now = clock.now, d = now - mark
            mark = now
            return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
        }
        var times = StageTimes()
        do {
            let rgb = image.rgb()
            let input = try Tensor(shape: [1, 3, rgb.height, rgb.width], scalars: rgb.chwUnitFloats())
            let (resized, canvas) = try Self.transform(input, configuration: c)
            let canvasNHWC = try canvas.nhwcFromNCHW()
            let h = resized.shape[2], w = resized.shape[3]
            times.transform = lap()
            var kept: (stem: Tensor, c: [Tensor], p: [Tensor])?
            var body: (stem: Tensor, c: [Tensor])? = try network.body(canvasNHWC)
            times.body = lap()
            let ps = try network.fpn(body!.c)
            times.fpn = lap()
            if keepFeatures { kept = (body!.stem, body!.c, ps) }
            body = nil
            let (cls, reg) = try network.heads(ps)
            times.head = lap()
            let hp = canvas.shape[2], wp = canvas.shape[3]
            let sizes = ps.map { (height: $0.shape[1], width: $0.shape[2]) }
            let anchors = AnchorGenerator.retinaNet.anchors(paddedHeight: hp, paddedWidth: wp, featureSizes: sizes)
            let post = try RetinaNetPostprocess(configuration: c).run(
                clsLogits: cls, bboxRegression: reg, anchors: anchors,
                levelSizes: sizes.map { $0.height * $0.width }, imageHeight: h, imageWidth: w)
            let rh = Float(rgb.height) / Float(h), rw = Float(rgb.width) / Float(w)
            let dets = zip(post.boxes, zip(post.scores, post.labels)).map { b, sl in
                Detection(box: BoundingBox(x1: b.x1 * rw, y1: b.y1 * rh, x2: b.x2 * rw, y2: b.y2 * rh), score: sl.0, label: sl.1)
            }
            times.postprocess = lap()
            return Pass(resized: resized, canvas: canvas,
                        features: kept.map { .init(stem: $0.stem, c: $0.c, p: $0.p, clsLogits: cls, bboxRegression: reg) },
                        anchors: anchors, boxesResized: post.boxes, detections: dets, times: times)
        } catch {
            throw .tensor(error)
        }
    }

    /// Normalise → resize (bilinear, torchvision's size arithmetic) → pad to the divisor with zeros.
    static func transform(_ input: Tensor, configuration c: RetinaNetConfiguration) throws(TensorError) -> (resized: Tensor, canvas: Tensor) {
        let H = input.shape[2], W = input.shape[3]
        var x = input.contiguous()
        try x.withUnsafeMutableBufferPointer(as: Float.self) { p in
            for ch in 0..<3 {
                let m = c.imageMean[ch], s = c.imageStd[ch]
                for i in (ch * H * W)..<((ch + 1) * H * W) { p[i] = (p[i] - m) / s }
            }
        }
        let size = DetectionGeometry.resizedSize(height: H, width: W, minSize: c.minSize, maxSize: c.maxSize)
        let resized = (size.height == H && size.width == W) ? x : try x.upsampled(toHeight: size.height, width: size.width, mode: .bilinear)
        let padded = DetectionGeometry.paddedSize(of: [(size.height, size.width)], divisor: c.sizeDivisor)
        var canvas = try Tensor(zeros: [1, 3, padded.height, padded.width])
        let h = size.height, w = size.width, wp = padded.width, hp = padded.height
        let src: [Float] = try resized.scalars()
        try canvas.withUnsafeMutableBufferPointer(as: Float.self) { d in
            for ch in 0..<3 {
                for y in 0..<h {
                    for x in 0..<w { d[(ch * hp + y) * wp + x] = src[(ch * h + y) * w + x] }
                }
            }
        }
        return (resized, canvas)
    }
}
