/// An axis-aligned box in pixel coordinates, corners format `(x1, y1, x2, y2)`
/// with `x1 ≤ x2`, `y1 ≤ y2` for a proper box (degenerate boxes are allowed).
///
/// ```swift
/// let b = BoundingBox(x1: 0, y1: 0, x2: 10, y2: 5)
/// b.area  // 50
/// ```
public struct BoundingBox: Hashable, Sendable {
    /// Left edge.
    public var x1: Float
    /// Top edge.
    public var y1: Float
    /// Right edge.
    public var x2: Float
    /// Bottom edge.
    public var y2: Float

    /// Creates a box from its corners.
    public init(x1: Float, y1: Float, x2: Float, y2: Float) {
        self.x1 = x1; self.y1 = y1; self.x2 = x2; self.y2 = y2
    }

    /// `(x2 − x1) · (y2 − y1)` in Float, no `+1` (torchvision's convention).
    @inlinable public var area: Float { (x2 - x1) * (y2 - y1) }

    /// Intersection over union, computed as torchvision's CPU NMS kernel does:
    /// `inter / (areaA + areaB − inter)` in Float. Two disjoint zero-area boxes give NaN.
    @inlinable
    public func intersectionOverUnion(with o: BoundingBox) -> Float {
        let iw = max(0, min(x2, o.x2) - max(x1, o.x1))
        let ih = max(0, min(y2, o.y2) - max(y1, o.y1))
        let inter = iw * ih
        return inter / (area + o.area - inter)
    }
}
