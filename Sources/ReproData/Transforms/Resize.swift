import ReproTensor

/// Resizes to a size computed as torchvision's `Resize` does: a single `size`
/// matches the shorter edge and scales the longer one to
/// `Int(size × long / short)` (truncated), optionally capped by `maxSize`; a
/// pair is (height, width). Bilinear (`align_corners=False`, no antialiasing)
/// or nearest, through ReproTensor's deterministic kernels.
///
/// ```swift
/// let r = Resize(shorterSide: 256)          // 500×375 → 341×256 (w×h)
/// let y = try r.apply(x, using: &g)         // draws nothing
/// ```
public struct Resize: ImageTransform {
    /// How output pixels are computed.
    public enum Interpolation: Sendable {
        /// Bilinear, `align_corners=False`, no antialiasing.
        case bilinear
        /// PyTorch's legacy nearest (`floor(dst × in / out)`).
        case nearest
    }
    enum Target: Sendable { case shorter(Int, maxSize: Int?), exact(height: Int, width: Int) }
    let target: Target
    /// The interpolation.
    public let interpolation: Interpolation

    /// Matches the shorter edge to `shorterSide` (torchvision `Resize(int, max_size=)`).
    public init(shorterSide: Int, maxSize: Int? = nil, interpolation: Interpolation = .bilinear) {
        target = .shorter(shorterSide, maxSize: maxSize)
        self.interpolation = interpolation
    }

    /// Resizes to exactly `height × width` (torchvision `Resize((h, w))`).
    public init(height: Int, width: Int, interpolation: Interpolation = .bilinear) {
        target = .exact(height: height, width: width)
        self.interpolation = interpolation
    }

    /// torchvision's output (height, width) for an input of `height × width`.
    ///
    /// - Throws: ``TransformError/invalidInput(_:)`` for non-positive sizes or `maxSize ≤ size`.
    public func outputSize(height: Int, width: Int) throws(TransformError) -> (height: Int, width: Int) {
        switch target {
        case let .exact(h, w):
            guard h > 0, w > 0 else { throw .invalidInput("resize to \(h)×\(w)") }
            return (h, w)
        case let .shorter(size, maxSize):
            guard size > 0, height > 0, width > 0 else { throw .invalidInput("resize \(height)×\(width) to shorter side \(size)") }
            let short = Swift.min(height, width), long = Swift.max(height, width)
            var newShort = size, newLong = Int(Double(size) * Double(long) / Double(short))
            if let m = maxSize {
                guard m > size else { throw .invalidInput("maxSize \(m) must exceed size \(size)") }
                if newLong > m {
                    newShort = Int(Double(m) * Double(newShort) / Double(newLong))
                    newLong = m
                }
            }
            return width <= height ? (newLong, newShort) : (newShort, newLong)
        }
    }

    /// Resizes `image` (no randomness is drawn).
    public func apply<G: RandomNumberGenerator>(_ image: CHWImage, using generator: inout G) throws(TransformError) -> CHWImage {
        let (h, w) = try outputSize(height: image.height, width: image.width)
        return try Self.resample(image, height: h, width: w, interpolation)
    }

    static func resample(_ image: CHWImage, height h: Int, width w: Int, _ mode: Interpolation) throws(TransformError) -> CHWImage {
        if h == image.height && w == image.width { return image }
        do {
            let t = try Tensor(shape: [1, image.channels, image.height, image.width], scalars: image.values)
            let r = try t.upsampled(toHeight: h, width: w, mode: mode == .bilinear ? .bilinear : .nearest)
            return CHWImage(unchecked: image.channels, h, w, try r.scalars(as: Float.self))
        } catch {
            throw .invalidInput("resize failed: \(error)")
        }
    }
}
