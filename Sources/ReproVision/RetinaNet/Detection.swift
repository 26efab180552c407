/// One detected object, in the original image's pixel coordinates.
///
/// ```swift
/// for d in detections where d.score > 0.5 { print(COCO.name(of: d.label), d.score, d.box) }
/// ```
public struct Detection: Sendable, Hashable {
    /// The box `(x1, y1, x2, y2)`.
    public var box: BoundingBox
    /// The sigmoid score.
    public var score: Float
    /// The class index into torchvision's 91-entry COCO list (0 is a legal output).
    public var label: Int

    /// Creates a detection.
    public init(box: BoundingBox, score: Float, label: Int) {
        self.box = box
        self.score = score
        self.label = label
    }
}
