/// Per-channel `(x − mean[c]) / std[c]` (torchvision `Normalize`): a
/// subtraction then an IEEE division, exactly as written. Draws nothing.
///
/// ```swift
/// let y = try Normalize.imageNet.apply(x, using: &g)
/// ```
public struct Normalize: ImageTransform {
    /// Channel means.
    public let mean: [Float]
    /// Channel standard deviations (non-zero).
    public let std: [Float]
    /// Creates the transform.
    public init(mean: [Float], std: [Float]) { self.mean = mean; self.std = std }

    /// ImageNet's mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225).
    public static let imageNet = Normalize(mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])

    /// Normalises every channel.
    public func apply<G: RandomNumberGenerator>(_ image: CHWImage, using generator: inout G) throws(TransformError) -> CHWImage {
        guard mean.count == image.channels, std.count == image.channels else {
            throw .invalidInput("Normalize has \(mean.count) means and \(std.count) stds for \(image.channels) channels")
        }
        guard !std.contains(0) else { throw .invalidInput("Normalize std \(std) contains 0") }
        var out = image.values
        let plane = image.height * image.width
        for c in 0..<image.channels {
            let m = mean[c], s = std[c]
            for i in (c * plane)..<((c + 1) * plane) { out[i] = (out[i] - m) / s }
        }
        return CHWImage(unchecked: image.channels, image.height, image.width, out)
    }
}
