/// A transform of a ``CHWImage`` that draws any randomness from the generator
/// it is given, so its output is a pure function of (input, generator state).
///
/// ```swift
/// let t = Compose([RandomResizedCrop(size: 224), RandomHorizontalFlip(), Normalize.imageNet])
/// var g = SampleGenerator(SampleRandomness.generator(seed: 1, epoch: 0, index: 5))
/// let y = try t.apply(CHWImage(image), using: &g)
/// ```
public protocol ImageTransform: Sendable {
    /// Transforms `image`, drawing randomness from `generator` only.
    func apply<G: RandomNumberGenerator>(_ image: CHWImage, using generator: inout G) throws(TransformError) -> CHWImage
}

/// Applies transforms in order (torchvision `Compose`), passing each the same generator.
public struct Compose: ImageTransform {
    /// The transforms, first applied first.
    public let transforms: [any ImageTransform]
    /// Creates the composition.
    public init(_ transforms: [any ImageTransform]) { self.transforms = transforms }

    /// Applies every transform in order.
    public func apply<G: RandomNumberGenerator>(_ image: CHWImage, using generator: inout G) throws(TransformError) -> CHWImage {
        var x = image
        for t in transforms { x = try t.apply(x, using: &generator) }
        return x
    }
}

/// Draws from a generator with algorithms written here (not the standard
/// library's, whose algorithms may change), so transforms stay reproducible.
enum Draw {
    /// A uniform double in [0, 1) from the top 53 bits of one 64-bit draw.
    static func unit<G: RandomNumberGenerator>(_ g: inout G) -> Double {
        Double(g.next() >> 11) * 0x1p-53
    }

    /// A uniform double in [a, b).
    static func uniform<G: RandomNumberGenerator>(_ a: Double, _ b: Double, _ g: inout G) -> Double {
        a + (b - a) * unit(&g)
    }

    /// An unbiased integer in 0 ..< n (n ≥ 1): multiply-high with rejection (Lemire).
    static func below<G: RandomNumberGenerator>(_ n: Int, _ g: inout G) -> Int {
        let bound = UInt64(n)
        let threshold = (0 &- bound) % bound
        while true {
            let (high, low) = g.next().multipliedFullWidth(by: bound)
            if low >= threshold { return Int(high) }
        }
    }
}
