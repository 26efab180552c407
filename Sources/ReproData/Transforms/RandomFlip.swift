/// Mirrors the image left–right with probability `p` (torchvision
/// `RandomHorizontalFlip`). Always draws one uniform value, flipped or not.
///
/// ```swift
/// let y = try RandomHorizontalFlip().apply(x, using: &g)
/// ```
public struct RandomHorizontalFlip: ImageTransform {
    /// The flip probability.
    public let p: Double
    /// Creates the transform (default `p = 0.5`).
    public init(p: Double = 0.5) { self.p = p }

    /// Flips when the draw is below `p`.
    public func apply<G: RandomNumberGenerator>(_ image: CHWImage, using generator: inout G) throws(TransformError) -> CHWImage {
        guard (0...1).contains(p) else { throw .invalidInput("flip probability \(p) outside 0…1") }
        return Draw.unit(&generator) < p ? image.flippedHorizontally() : image
    }
}

/// Mirrors the image top–bottom with probability `p` (torchvision
/// `RandomVerticalFlip`). Always draws one uniform value.
///
/// ```swift
/// let y = try RandomVerticalFlip(p: 0.2).apply(x, using: &g)
/// ```
public struct RandomVerticalFlip: ImageTransform {
    /// The flip probability.
    public let p: Double
    /// Creates the transform (default `p = 0.5`).
    public init(p: Double = 0.5) { self.p = p }

    /// Flips when the draw is below `p`.
    public func apply<G: RandomNumberGenerator>(_ image: CHWImage, using generator: inout G) throws(TransformError) -> CHWImage {
        guard (0...1).contains(p) else { throw .invalidInput("flip probability \(p) outside 0…1") }
        return Draw.unit(&generator) < p ? image.flippedVertically() : image
    }
}

extension CHWImage {
    /// The image mirrored left–right (exact: values are only moved).
    public func flippedHorizontally() -> CHWImage {
        var out = values
        for row in 0..<(channels * height) {
            let base = row * width
            for x in 0..<width { out[base + x] = values[base + width - 1 - x] }
        }
        return CHWImage(unchecked: channels, height, width, out)
    }

    /// The image mirrored top–bottom (exact: values are only moved).
    public func flippedVertically() -> CHWImage {
        var out = values
        for c in 0..<channels {
            for y in 0..<height {
                let dst = (c * height + y) * width, src = (c * height + height - 1 - y) * width
                for x in 0..<width { out[dst + x] = values[src + x] }
            }
        }
        return CHWImage(unchecked: channels, height, width, out)
    }
}
