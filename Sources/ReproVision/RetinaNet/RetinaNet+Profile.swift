import ReproImage
import ReproNN

/// Wall-clock seconds one image spent in each stage of ``RetinaNet`` inference, for benchmarks
/// (`repro detect --profile`, `bench/retinanet_bench.py`). The stage boundaries are torchvision's:
///
/// | stage | Repro | torchvision |
/// | --- | --- | --- |
/// | `transform` | uint8 → float, normalise, resize, pad, canvas → NHWC | `to_tensor` + `model.transform` |
/// | `body` | ResNet-50 stem … layer4 | `model.backbone.body` |
/// | `fpn` | FPN + P6/P7 | `model.backbone.fpn` |
/// | `head` | both heads, all levels, flattened and concatenated | `model.head` (+ the flatten/concat in `compute_loss`-free eval) |
/// | `postprocess` | anchors, per-level top-k, decode, NMS, rescale | anchor generator + `postprocess_detections` + `transform.postprocess` |
///
/// ```swift
/// let (detections, times) = try model.profile(image)
/// print(times.body, times.total)
/// ```
public struct StageTimes: Sendable, Equatable {
    /// Input conversion, normalisation, resize and padding.
    public var transform: Double = 0
    /// The ResNet body (stem to C5).
    public var body: Double = 0
    /// The feature pyramid (P3 … P7).
    public var fpn: Double = 0
    /// Classification and regression heads on every level.
    public var head: Double = 0
    /// Anchors, candidate selection, decoding, NMS and rescaling.
    public var postprocess: Double = 0

    /// A zero record.
    public init() {}

    /// The sum of all stages.
    public var total: Double { transform + body + fpn + head + postprocess }
}

extension RetinaNet {
    /// Detects objects in one image and reports the wall-clock time of each stage.
    ///
    /// The detections are the same bits as ``detect(_:)`` gives; only the timing is added.
    /// With `recorder` the pass is traced too (what tracing costs; ``TraceRecorder/finish()`` takes the trace).
    ///
    /// ```swift
    /// let (detections, times) = try model.profile(image)
    /// ```
    public func profile(_ image: Image, recording recorder: TraceRecorder? = nil) throws(RetinaNetError) -> (detections: [Detection], times: StageTimes) {
        let pass = try run(try Self.input(image, index: 0), index: 0, keepFeatures: false, operationObserver: recorder?.observer)
        return (pass.detections, pass.times)
    }
}
