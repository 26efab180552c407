/// The size arithmetic of torchvision's `GeneralizedRCNNTransform` (eval) and
/// `AnchorGenerator`, exact to the integer.
public enum DetectionGeometry {
    /// The resized size of an `height × width` image: `scale = min(minSize /
    /// min(H, W), maxSize / max(H, W))` in Double, then `trunc(H · scale)` and
    /// `trunc(W · scale)` in Double — torchvision's eager rule, including its
    /// trap (`154 · (160/154) = 159.99999999999997 → 159`).
    ///
    /// ```swift
    /// DetectionGeometry.resizedSize(height: 154, width: 231, minSize: 160, maxSize: 256)  // (159, 239)
    /// ```
    public static func resizedSize(height: Int, width: Int, minSize: Int = 800, maxSize: Int = 1333)
        -> (height: Int, width: Int, scale: Double)
    {
        let lo = Double(min(height, width)), hi = Double(max(height, width))
        let scale = min(Double(minSize) / lo, Double(maxSize) / hi)
        return (Int((Double(height) * scale).rounded(.towardZero)),
                Int((Double(width) * scale).rounded(.towardZero)), scale)
    }

    /// The padded canvas of a batch: each side rounded up to a multiple of `divisor`.
    public static func paddedSize(of sizes: [(height: Int, width: Int)], divisor: Int = 32) -> (height: Int, width: Int) {
        let h = sizes.map(\.height).max() ?? 0, w = sizes.map(\.width).max() ?? 0
        return ((h + divisor - 1) / divisor * divisor, (w + divisor - 1) / divisor * divisor)
    }

    /// Output size of a 3×3 stride-2 padding-1 convolution (P6, P7): `(n − 1) / 2 + 1`.
    public static func halved(_ n: Int) -> Int { (n - 1) / 2 + 1 }

    /// RetinaNet's feature-map sizes P3…P7 for a padded canvas (P3 = /8 … P5 = /32, then two halvings).
    public static func featureSizes(paddedHeight h: Int, paddedWidth w: Int) -> [(height: Int, width: Int)] {
        var sizes = [(h / 8, w / 8), (h / 16, w / 16), (h / 32, w / 32)]
        let p6 = (halved(h / 32), halved(w / 32))
        sizes.append(p6)
        sizes.append((halved(p6.0), halved(p6.1)))
        return sizes.map { (height: $0.0, width: $0.1) }
    }
}

/// torchvision's `AnchorGenerator` for RetinaNet: 3 sizes × 3 aspect ratios per level.
///
/// ```swift
/// let anchors = AnchorGenerator.retinaNet.anchors(paddedHeight: 800, paddedWidth: 1088,
///                                                 featureSizes: DetectionGeometry.featureSizes(paddedHeight: 800, paddedWidth: 1088))
/// ```
public struct AnchorGenerator: Sendable {
    /// Anchor sizes (side lengths) per level.
    public var sizes: [[Int]]
    /// Aspect ratios `h / w`, the same for every level.
    public var aspectRatios: [Float]

    /// RetinaNet's defaults: `(x, trunc(x·2^(1/3)), trunc(x·2^(2/3)))` for x = 32…512, ratios 0.5, 1, 2.
    public static let retinaNet: AnchorGenerator = {
        let sizes = [32, 64, 128, 256, 512].map { x in
            // 2^(1/3) and 2^(2/3) as Python computes them (correctly rounded doubles).
            [x, Int(Double(x) * 1.2599210498948732), Int(Double(x) * 1.5874010519681994)]
        }
        return AnchorGenerator(sizes: sizes, aspectRatios: [0.5, 1.0, 2.0])
    }()

    /// Creates a generator.
    public init(sizes: [[Int]], aspectRatios: [Float]) {
        self.sizes = sizes
        self.aspectRatios = aspectRatios
    }

    /// Anchors per location.
    public var anchorsPerLocation: Int { (sizes.first?.count ?? 0) * aspectRatios.count }

    /// The cell anchors of one level, centred on the origin: for ratio index i
    /// (outer) and size index j (inner), `w = (1/√r)·s`, `h = √r·s` in Float,
    /// `round([−w/2, −h/2, w/2, h/2])` half to even (`torch.round`).
    public func cellAnchors(level: Int) -> [BoundingBox] {
        var out: [BoundingBox] = []
        for r in aspectRatios {
            let hr = r.squareRoot()
            let wr = 1 / hr
            for s in sizes[level] {
                let w = wr * Float(s), h = hr * Float(s)
                out.append(BoundingBox(x1: (-w / 2).rounded(.toNearestOrEven), y1: (-h / 2).rounded(.toNearestOrEven),
                                       x2: (w / 2).rounded(.toNearestOrEven), y2: (h / 2).rounded(.toNearestOrEven)))
            }
        }
        return out
    }

    /// The integer strides of each level: `padded // grid` per axis (not a power of two for P6/P7 in general).
    public func strides(paddedHeight: Int, paddedWidth: Int, featureSizes: [(height: Int, width: Int)]) -> [(height: Int, width: Int)] {
        featureSizes.map { (paddedHeight / $0.height, paddedWidth / $0.width) }
    }

    /// All anchors, levels P3…P7 concatenated, each level row-major over (y, x) then anchor index.
    public func anchors(paddedHeight: Int, paddedWidth: Int, featureSizes: [(height: Int, width: Int)]) -> [BoundingBox] {
        let st = strides(paddedHeight: paddedHeight, paddedWidth: paddedWidth, featureSizes: featureSizes)
        var out: [BoundingBox] = []
        out.reserveCapacity(featureSizes.enumerated().reduce(0) { total, level in
            total + level.element.height * level.element.width * aspectRatios.count * sizes[level.offset].count
        })
        for (level, size) in featureSizes.enumerated() {
            let cell = cellAnchors(level: level)
            for y in 0..<size.height {
                let sy = Float(y * st[level].height)
                for x in 0..<size.width {
                    let sx = Float(x * st[level].width)
                    for c in cell {
                        out.append(BoundingBox(x1: sx + c.x1, y1: sy + c.y1, x2: sx + c.x2, y2: sy + c.y2))
                    }
                }
            }
        }
        return out
    }
}
