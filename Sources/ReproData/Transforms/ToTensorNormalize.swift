import ReproImage
import ReproRandom

/// The input transform of `repro train --augment none`: torchvision's `ToTensor` then
/// `Normalize` — every byte `v` becomes `Float(v) / 255` (HWC → CHW), then each channel
/// `(x − mean[c]) / std[c]`, a float32 subtraction and a true division, as torch computes it
/// (tested bit for bit against torchvision). Nothing is resized: every image must have the
/// expected size, or the transform refuses it with an error naming both sizes.
///
/// ```swift
/// let t = ToTensorNormalize(height: 32, width: 32)          // ImageNet mean and std
/// let x = try t.apply(try SyntheticShapes(seed: 0).sample(at: 0).image)
/// // x.channels == 3, x.height == 32, x.width == 32
/// ```
public struct ToTensorNormalize: Sendable {
    /// The required image height, or nil for any.
    public let height: Int?
    /// The required image width, or nil for any.
    public let width: Int?
    /// The normalisation (default ``Normalize/imageNet``).
    public let normalize: Normalize

    /// Creates the transform; `height` and `width` (both or neither) fix the accepted size.
    public init(height: Int? = nil, width: Int? = nil, normalize: Normalize = .imageNet) {
        self.height = height
        self.width = width
        self.normalize = normalize
    }

    /// `ToTensor` + `Normalize` of one image.
    ///
    /// - Throws: ``TransformError/invalidInput(_:)`` when the image has another size than the
    ///   required one, or its channel count does not match the normalisation's.
    public func apply(_ image: Image) throws(TransformError) -> CHWImage {
        if let h = height, h != image.height {
            throw .invalidInput("image is \(image.width)×\(image.height), expected height \(h) (no resizing without augmentation)")
        }
        if let w = width, w != image.width {
            throw .invalidInput("image is \(image.width)×\(image.height), expected width \(w) (no resizing without augmentation)")
        }
        var unused = SplitMix64(seed: 0)  // Normalize draws nothing
        return try normalize.apply(CHWImage(image), using: &unused)
    }
}
