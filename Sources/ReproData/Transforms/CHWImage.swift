import ReproImage

/// A float image in channel-major (CHW) layout, what the transforms work on.
///
/// ```swift
/// let x = CHWImage(try Image(contentsOfFile: "cat.jpg").rgb())   // values v / 255
/// print(x.channels, x.height, x.width)   // 3, h, w
/// ```
public struct CHWImage: Sendable, Equatable {
    /// Number of channels.
    public let channels: Int
    /// Rows.
    public let height: Int
    /// Columns.
    public let width: Int
    /// `channels × height × width` values, channel-major, then rows.
    public var values: [Float]

    /// Wraps CHW values.
    ///
    /// - Throws: ``TransformError/invalidInput(_:)`` when the sizes do not match.
    public init(channels: Int, height: Int, width: Int, values: [Float]) throws(TransformError) {
        guard channels > 0, height > 0, width > 0, values.count == channels * height * width else {
            throw .invalidInput("\(values.count) values for \(channels)×\(height)×\(width)")
        }
        self.channels = channels; self.height = height; self.width = width; self.values = values
    }

    init(unchecked channels: Int, _ height: Int, _ width: Int, _ values: [Float]) {
        self.channels = channels; self.height = height; self.width = width; self.values = values
    }

    /// torchvision's `to_tensor`: every byte `v` becomes `Float(v) / 255`, HWC → CHW.
    public init(_ image: Image) {
        self.init(unchecked: image.channels, image.height, image.width, image.chwUnitFloats())
    }

    /// The value at channel `c`, row `y`, column `x`.
    public subscript(c: Int, y: Int, x: Int) -> Float { values[(c * height + y) * width + x] }

    /// The rectangle of rows `top ..< top + h` and columns `left ..< left + w` (torchvision `crop`).
    ///
    /// - Throws: ``TransformError/invalidInput(_:)`` for a rectangle outside the image.
    public func cropped(top: Int, left: Int, height h: Int, width w: Int) throws(TransformError) -> CHWImage {
        guard top >= 0, left >= 0, h > 0, w > 0, top + h <= height, left + w <= width else {
            throw .invalidInput("crop \(h)×\(w) at (\(top), \(left)) outside a \(height)×\(width) image")
        }
        var out = [Float](repeating: 0, count: channels * h * w)
        for c in 0..<channels {
            for y in 0..<h {
                let src = (c * height + top + y) * width + left, dst = (c * h + y) * w
                for x in 0..<w { out[dst + x] = values[src + x] }
            }
        }
        return CHWImage(unchecked: channels, h, w, out)
    }
}

/// Why a transform refused its input.
public enum TransformError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The input image or a parameter is out of range.
    case invalidInput(String)

    /// A sentence naming the problem.
    public var description: String {
        switch self {
        case .invalidInput(let m): return "invalid transform input: \(m)"
        }
    }
}
