import ReproImage
import ReproRandom

/// The built-in data set: procedurally drawn, labelled RGB images of ten kinds of shapes, so that
/// training works on a fresh machine with nothing downloaded.
///
/// Each image is one shape (``shapeNames``: circle, ring, square, frame, triangle, diamond, plus,
/// cross, horizontal bars, vertical bars) on a plain background, with a random background and
/// shape colour (at least 160 apart in summed |ΔR|+|ΔG|+|ΔB|), random size (radius 20–40 % of the
/// side), random position (always inside the image), a random one of four orientations for the
/// triangle, 2×2 supersampled edges, and uniform pixel noise in −12…12 on every channel. Colours
/// are drawn independently of the class, so the mean colour of an image says almost nothing
/// about its label: a model has to look at the shape.
///
/// Sample `i` is a pure function of `(seed, split, i, imageSize)`: a Philox4x32-10 stream keyed
/// by the seed whose counter's high 64 bits are `split << 32 | i`. Any sample can be generated on
/// its own, in any order, on any thread — worker count, shuffling and resuming cannot change it.
/// The training and validation splits draw from disjoint counter ranges. The label of sample
/// `i` is `i % 10`, so every ten consecutive indices hold each class once.
///
/// ```swift
/// let train = try SyntheticShapes(seed: 0, split: .train)            // 10 000 images, 32×32
/// let val = try SyntheticShapes(seed: 0, split: .validation)         // 2 000 other images
/// let s = try train.sample(at: 3)   // s.image (RGB), s.label == 3, s.path == "synthetic-shapes/train/3"
/// ```
public struct SyntheticShapes: Dataset {
    /// Which part of the data set: the two draw from disjoint Philox counter ranges.
    public enum Split: String, Sendable, CaseIterable {
        /// Training images (default 10 000).
        case train
        /// Validation images (default 2 000).
        case validation

        /// The split's tag in the counter (bits 32…63 of the counter's high word).
        var tag: UInt64 { self == .train ? 0 : 1 }
        /// The default number of images.
        public var defaultCount: Int { self == .train ? 10_000 : 2_000 }
    }

    /// The class names, by label.
    public static let shapeNames = ["circle", "ring", "square", "frame", "triangle", "diamond",
                                    "plus", "cross", "horizontal bars", "vertical bars"]
    /// The number of classes (10).
    public static var classCount: Int { shapeNames.count }
    /// The smallest and largest accepted image side.
    public static let sizeRange = 8...1024

    /// The seed.
    public let seed: UInt64
    /// The split.
    public let split: Split
    /// The number of images.
    public let count: Int
    /// The side of the square images, in pixels.
    public let imageSize: Int
    private let key: UInt64

    /// Creates the data set.
    ///
    /// - Parameters:
    ///   - seed: any 64-bit value; the same seed gives the same images.
    ///   - split: ``Split/train`` or ``Split/validation``.
    ///   - count: the number of images (default: the split's ``Split/defaultCount``), 1 … 2³² − 1.
    ///   - imageSize: the side of the square RGB images, 8 … 1024 (default 32).
    /// - Throws: ``SyntheticShapesError`` naming the bad argument.
    public init(seed: UInt64 = 0, split: Split = .train, count: Int? = nil, imageSize: Int = 32) throws(SyntheticShapesError) {
        let n = count ?? split.defaultCount
        guard n >= 1, n < 1 << 32 else { throw .invalidCount(n) }
        guard Self.sizeRange.contains(imageSize) else { throw .invalidImageSize(imageSize) }
        self.seed = seed
        self.split = split
        self.count = n
        self.imageSize = imageSize
        var mix = SplitMix64(seed: seed ^ 0x7368_6170_6573_3130)  // "shapes10"
        key = mix.next()
    }

    /// The label of sample `index` (`index % 10`).
    public func label(at index: Int) -> Int { index % Self.classCount }

    /// The image and label at `index`.
    ///
    /// - Throws: ``DataLoaderError/indexOutOfRange(index:count:)`` outside `0 ..< count`.
    public func sample(at index: Int) throws -> LabeledImage {
        guard index >= 0 && index < count else { throw DataLoaderError.indexOutOfRange(index: index, count: count) }
        return LabeledImage(image: image(index: index), label: label(at: index), path: "synthetic-shapes/\(split.rawValue)/\(index)")
    }

    // MARK: Drawing

    private func image(index: Int) -> Image {
        var g = Philox4x32(seed: key, subsequence: split.tag << 32 | UInt64(index), offset: 0)
        let n = imageSize
        let shape = label(at: index)
        // Colours: background, then a shape colour far enough from it.
        let background = (0..<3).map { _ in Int(g.next32() >> 24) }
        var colour = (0..<3).map { _ in Int(g.next32() >> 24) }
        if zip(background, colour).reduce(0, { $0 + abs($1.0 - $1.1) }) < 160 {
            colour = background.map { ($0 + 128) % 256 }
        }
        // Size and position in pixels; the shape always lies inside the image.
        let side = Float(n)
        let radius = side * (0.2 + 0.2 * Self.unit(g.next32()))
        let cx = radius + (side - 2 * radius) * Self.unit(g.next32())
        let cy = radius + (side - 2 * radius) * Self.unit(g.next32())
        let orientation = Int(g.next32() >> 30)
        var pixels = [UInt8](repeating: 0, count: n * n * 3)
        for y in 0..<n {
            for x in 0..<n {
                var covered = 0
                for sy in 0..<2 {
                    for sx in 0..<2 {
                        let u = (Float(x) + 0.25 + 0.5 * Float(sx) - cx) / radius
                        let v = (Float(y) + 0.25 + 0.5 * Float(sy) - cy) / radius
                        if Self.inside(shape, u, v, orientation: orientation) { covered += 1 }
                    }
                }
                let noise = g.nextBlock()
                let words = [noise.0, noise.1, noise.2]
                for c in 0..<3 {
                    let value = (background[c] * (4 - covered) + colour[c] * covered + 2) / 4
                    let jitter = Int(words[c] % 25) - 12
                    pixels[(y * n + x) * 3 + c] = UInt8(clamping: value + jitter)
                }
            }
        }
        // The sizes are checked in init, so the image is valid.
        return try! Image(width: n, height: n, channels: 3, pixels: pixels)
    }

    /// A uniform float in [0, 1) from the top 24 bits of a word.
    private static func unit(_ w: UInt32) -> Float { Float(w >> 8) * 0x1p-24 }

    /// Whether the point (u, v), in units of the radius around the centre (v downwards), lies in
    /// the shape. Only +, −, ×, comparisons: exact and the same on every machine.
    static func inside(_ shape: Int, _ u0: Float, _ v0: Float, orientation: Int) -> Bool {
        let au = abs(u0), av = abs(v0)
        switch shape {
        case 0: return u0 * u0 + v0 * v0 <= 1                                   // circle
        case 1: let d = u0 * u0 + v0 * v0; return d <= 1 && d >= 0.3            // ring
        case 2: return au <= 0.8 && av <= 0.8                                    // square
        case 3: let m = max(au, av); return m <= 0.85 && m >= 0.55               // frame
        case 4:                                                                  // triangle, apex towards `orientation`
            var u = u0, v = v0
            for _ in 0..<orientation { (u, v) = (v, -u) }
            return v >= -0.8 && v <= 0.8 && abs(u) <= 0.5625 * (v + 0.8)
        case 5: return au + av <= 1                                               // diamond
        case 6: return (au <= 0.25 && av <= 1) || (av <= 0.25 && au <= 1)        // plus
        case 7: return abs(au - av) <= 0.35 && au <= 0.8 && av <= 0.8            // cross (×)
        case 8: return au <= 1 && av <= 1 && Int((v0 + 1) * 2.5) % 2 == 0        // horizontal bars
        default: return au <= 1 && av <= 1 && Int((u0 + 1) * 2.5) % 2 == 0       // vertical bars
        }
    }
}

/// Why ``SyntheticShapes`` refused its arguments.
public enum SyntheticShapesError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The number of images is not in 1 … 2³² − 1.
    case invalidCount(Int)
    /// The image side is not in 8 … 1024.
    case invalidImageSize(Int)

    /// A sentence naming the argument.
    public var description: String {
        switch self {
        case .invalidCount(let n): return "synthetic shapes: count \(n) is not in 1...\((1 << 32) - 1)"
        case .invalidImageSize(let s): return "synthetic shapes: image size \(s) is not in \(SyntheticShapes.sizeRange)"
        }
    }
}
