import ReproImage
import ReproNN
import ReproTensor

/// What a traced detection keeps per module output.
public enum TraceDetail: Sendable, Hashable {
    /// Name, operation, shape, dtype and SHA-256 only.
    case digests
    /// The digests and the output tensors (for measuring differences).
    case tensors
}

/// One image's detections with the trace of its forward pass.
public struct TracedDetections: Sendable {
    /// The detections, exactly as ``RetinaNet/detect(_:)-([Image])`` returns them.
    public var detections: [Detection]
    /// Every module output of the pass, in execution order.
    public var trace: ModuleTrace
}

extension RetinaNet {
    /// Detects objects and records, per image, the trace of the forward pass: every module's
    /// dotted name (torchvision's), operation and algorithm, output shape, dtype and SHA-256
    /// (channels-last feature maps; fused groups once, under their last module, see
    /// ``Sequential``). Recording reads the outputs only: the detections are bit for bit those of
    /// ``detect(_:)-([Image])``. `digest` picks the digest algorithm (``TraceDigest/nh`` is the
    /// fast one).
    ///
    /// ```swift
    /// let model = try RetinaNet(configuration: .mini, seed: 0)
    /// let traced = try model.detect([image], tracing: .digests)
    /// let first = traced[0].trace.entries[0]   // backbone.body.bn1, Conv2d 7x7/2 3->…
    /// ```
    public func detect(_ images: [Image], tracing detail: TraceDetail, digest: TraceDigest = .sha256) throws(RetinaNetError) -> [TracedDetections] {
        try detect(images, recorder: TraceRecorder(keepingTensors: detail == .tensors, digest: digest))
    }

    /// Detects objects with a digest trace per image, like ``detect(_:tracing:digest:)``, and writes
    /// every module output to `writer` as it is produced (under ``TraceDocument/tensorKey(image:entry:)``,
    /// images numbered by the writer across calls), so that no output stays in memory; the
    /// returned traces hold no tensors.
    /// Call ``TraceTensorWriter/commit()`` afterwards.
    ///
    /// ```swift
    /// let writer = try TraceTensorWriter(path: "run.trace.safetensors")
    /// let traced = try model.detect([image], digest: .sha256, streamingTensorsTo: writer)
    /// try writer.commit()
    /// ```
    public func detect(_ images: [Image], digest: TraceDigest = .sha256, streamingTensorsTo writer: TraceTensorWriter) throws(RetinaNetError) -> [TracedDetections] {
        try detect(images, recorder: TraceRecorder(digest: digest, streamingTensorsTo: writer))
    }

    private func detect(_ images: [Image], recorder: TraceRecorder) throws(RetinaNetError) -> [TracedDetections] {
        var out: [TracedDetections] = []
        for (i, image) in images.enumerated() {
            let pass = try run(try Self.input(image, index: i), index: i, keepFeatures: false,
                               operationObserver: recorder.observer)
            out.append(TracedDetections(detections: pass.detections, trace: recorder.finish()))
        }
        return out
    }

    /// The identity recorded in a trace: the architecture fingerprint and the weights digest
    /// (``ModuleFingerprint``), under `arch`.
    public func traceModel(arch: String) -> TraceDocument.Model {
        TraceDocument.Model(arch: arch, fingerprint: ModuleFingerprint.architecture(of: self),
                            weightsSHA256: ModuleFingerprint.weights(of: self))
    }
}
