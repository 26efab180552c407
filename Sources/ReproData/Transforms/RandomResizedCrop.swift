import ReproImage
import ReproTensor

/// torchvision's `RandomResizedCrop`: up to 10 attempts to draw an area
/// fraction in `scale` and a log-uniform aspect ratio in `ratio`, taking the
/// first crop that fits (at a uniformly drawn position); otherwise the centre
/// crop clamped to the ratio range. The crop is resized to `size × size`.
///
/// Draws come from the generator passed in (Repro's own algorithms: 53-bit
/// uniform doubles, Lemire bounded integers — not `torch.rand`), and the log
/// and exp of the ratio are Repro's own (ReproTensor's `ElementaryFunctions`, in Float), so the crop is a pure function of the
/// generator state on every platform — not bit-identical to torchvision's.
///
/// ```swift
/// let t = RandomResizedCrop(size: 224)
/// let y = try t.apply(x, using: &g)   // 3×224×224
/// ```
public struct RandomResizedCrop: ImageTransform {
    /// Output height.
    public let height: Int
    /// Output width.
    public let width: Int
    /// Area fraction range.
    public let scale: ClosedRange<Double>
    /// Aspect-ratio (width / height) range.
    public let ratio: ClosedRange<Double>
    /// Interpolation of the final resize.
    public let interpolation: Resize.Interpolation

    /// Creates the transform (torchvision defaults: scale 0.08…1, ratio 3/4…4/3, bilinear).
    public init(size: Int, scale: ClosedRange<Double> = 0.08...1, ratio: ClosedRange<Double> = (3.0 / 4)...(4.0 / 3),
                interpolation: Resize.Interpolation = .bilinear) {
        self.init(height: size, width: size, scale: scale, ratio: ratio, interpolation: interpolation)
    }

    /// Creates the transform with a rectangular output.
    public init(height: Int, width: Int, scale: ClosedRange<Double> = 0.08...1,
                ratio: ClosedRange<Double> = (3.0 / 4)...(4.0 / 3), interpolation: Resize.Interpolation = .bilinear) {
        self.height = height; self.width = width; self.scale = scale; self.ratio = ratio
        self.interpolation = interpolation
    }

    /// The crop rectangle for an image of `imageHeight × imageWidth` (torchvision `get_params`).
    public func cropRectangle<G: RandomNumberGenerator>(imageHeight: Int, imageWidth: Int, using g: inout G)
        -> (top: Int, left: Int, height: Int, width: Int)
    {
        let area = Double(imageHeight * imageWidth)
        let logLo = Double(ElementaryFunctions.log(Float(ratio.lowerBound)))
        let logHi = Double(ElementaryFunctions.log(Float(ratio.upperBound)))
        for _ in 0..<10 {
            let target = area * Draw.uniform(scale.lowerBound, scale.upperBound, &g)
            let aspect = Double(ElementaryFunctions.exp(Float(Draw.uniform(logLo, logHi, &g))))
            let w = Int((target * aspect).squareRoot().rounded(.toNearestOrEven))
            let h = Int((target / aspect).squareRoot().rounded(.toNearestOrEven))
            if w > 0 && w <= imageWidth && h > 0 && h <= imageHeight {
                let top = Draw.below(imageHeight - h + 1, &g)
                let left = Draw.below(imageWidth - w + 1, &g)
                return (top, left, h, w)
            }
        }
        let inRatio = Double(imageWidth) / Double(imageHeight)
        var w = imageWidth, h = imageHeight
        if inRatio < ratio.lowerBound {
            h = Int((Double(w) / ratio.lowerBound).rounded(.toNearestOrEven))
        } else if inRatio > ratio.upperBound {
            w = Int((Double(h) * ratio.upperBound).rounded(.toNearestOrEven))
        }
        return ((imageHeight - h) / 2, (imageWidth - w) / 2, h, w)
    }

    /// Crops at a random rectangle and resizes it.
    public func apply<G: RandomNumberGenerator>(_ image: CHWImage, using generator: inout G) throws(TransformError) -> CHWImage {
        guard height > 0, width > 0, scale.lowerBound > 0, ratio.lowerBound > 0 else {
            throw .invalidInput("RandomResizedCrop size \(height)×\(width), scale \(scale), ratio \(ratio)")
        }
        let r = cropRectangle(imageHeight: image.height, imageWidth: image.width, using: &generator)
        let crop = try image.cropped(top: r.top, left: r.left, height: r.height, width: r.width)
        return try Resize.resample(crop, height: height, width: width, interpolation)
    }

    /// Crops the 8-bit image first, then converts to floats (`v / 255`) and resizes: the same
    /// bits and draws as `apply(CHWImage(image), using:)`, without converting the discarded pixels.
    public func apply<G: RandomNumberGenerator>(_ image: Image, using generator: inout G) throws(TransformError) -> CHWImage {
        guard height > 0, width > 0, scale.lowerBound > 0, ratio.lowerBound > 0 else {
            throw .invalidInput("RandomResizedCrop size \(height)×\(width), scale \(scale), ratio \(ratio)")
        }
        let r = cropRectangle(imageHeight: image.height, imageWidth: image.width, using: &generator)
        let c = image.channels, rowBytes = image.width * c
        var px = [UInt8](repeating: 0, count: r.height * r.width * c)
        image.pixels.withUnsafeBufferPointer { src in
            px.withUnsafeMutableBufferPointer { dst in
                for y in 0..<r.height {
                    let s = (r.top + y) * rowBytes + r.left * c, d = y * r.width * c
                    for i in 0..<(r.width * c) { dst[d + i] = src[s + i] }
                }
            }
        }
        let crop: Image
        do { crop = try Image(width: r.width, height: r.height, channels: c, pixels: px) } catch {
            throw .invalidInput("crop failed: \(error)")
        }
        return try Resize.resample(CHWImage(crop), height: height, width: width, interpolation)
    }
}
