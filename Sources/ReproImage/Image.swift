import _ReproDigest

/// An 8-bit image in row-major HWC layout: grey (1 channel), RGB (3) or RGBA (4).
///
/// The decoders produce the same samples Pillow 13 produces, so
/// ``rgb()`` of a decoded file equals `Image.open(path).convert("RGB")` byte
/// for byte.
///
/// ```swift
/// let image = try Image(contentsOfFile: "cat.jpg")
/// let rgb = image.rgb()            // 3 channels
/// print(rgb.width, rgb.height, rgb.rgbDigest)
/// ```
public struct Image: Sendable, Equatable {
    /// Columns.
    public let width: Int
    /// Rows.
    public let height: Int
    /// Samples per pixel: 1 (grey), 3 (RGB) or 4 (RGBA).
    public let channels: Int
    /// `height * width * channels` samples, row by row, channels interleaved.
    public var pixels: [UInt8]

    /// Wraps a pixel buffer, checking its size and channel count.
    ///
    /// - Throws: ``ImageError/invalidLayout(_:)`` when `pixels.count` is not
    ///   `width * height * channels` or `channels` is not 1, 3 or 4;
    ///   ``ImageError/invalidDimensions(width:height:)`` for negative sizes.
    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) throws(ImageError) {
        guard width >= 0, height >= 0 else { throw .invalidDimensions(width: width, height: height) }
        guard channels == 1 || channels == 3 || channels == 4 else {
            throw .invalidLayout("channels must be 1, 3 or 4, got \(channels)")
        }
        let (wh, o1) = width.multipliedReportingOverflow(by: height)
        let (n, o2) = wh.multipliedReportingOverflow(by: channels)
        guard !o1, !o2, n == pixels.count else {
            throw .invalidLayout("\(pixels.count) samples for \(width)x\(height)x\(channels)")
        }
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// A blank image filled with `value` in every sample.
    ///
    /// ```swift
    /// let black = Image(width: 64, height: 32, channels: 3)
    /// ```
    public init(width: Int, height: Int, channels: Int = 3, filledWith value: UInt8 = 0) {
        precondition(width >= 0 && height >= 0, "negative image size")
        precondition(channels == 1 || channels == 3 || channels == 4, "channels must be 1, 3 or 4")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = [UInt8](repeating: value, count: width * height * channels)
    }

    /// Internal unchecked initialiser for decoders that built a correct buffer.
    init(uncheckedWidth width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// The image as RGB, as Pillow's `convert("RGB")` does it: grey is
    /// replicated into R, G and B; alpha is dropped (not composited).
    ///
    /// ```swift
    /// let rgb = try Image(contentsOfFile: "logo.png").rgb()
    /// ```
    public func rgb() -> Image {
        switch channels {
        case 3:
            return self
        case 1:
            var out = [UInt8](repeating: 0, count: width * height * 3)
            out.withUnsafeMutableBufferPointer { o in
                pixels.withUnsafeBufferPointer { p in
                    for i in 0..<p.count {
                        let v = p[i]
                        o[3 * i] = v; o[3 * i + 1] = v; o[3 * i + 2] = v
                    }
                }
            }
            return Image(uncheckedWidth: width, height: height, channels: 3, pixels: out)
        default:
            var out = [UInt8](repeating: 0, count: width * height * 3)
            out.withUnsafeMutableBufferPointer { o in
                pixels.withUnsafeBufferPointer { p in
                    for i in 0..<(width * height) {
                        o[3 * i] = p[4 * i]; o[3 * i + 1] = p[4 * i + 1]; o[3 * i + 2] = p[4 * i + 2]
                    }
                }
            }
            return Image(uncheckedWidth: width, height: height, channels: 3, pixels: out)
        }
    }

    /// SHA-256 (lower-case hex) of the RGB bytes (``rgb()``): a pixel
    /// fingerprint equal to `hashlib.sha256(im.convert("RGB").tobytes())` in Pillow.
    public var rgbDigest: String {
        let rgb = self.rgb()
        var h = SHA256()
        rgb.pixels.withUnsafeBytes { h.update($0) }
        return h.finalize().hex
    }

    /// The samples of pixel (`x`, `y`), `channels` of them.
    ///
    /// ```swift
    /// let topLeft = image.pixel(x: 0, y: 0)   // e.g. [255, 0, 0]
    /// ```
    public func pixel(x: Int, y: Int) -> ArraySlice<UInt8> {
        precondition(x >= 0 && x < width && y >= 0 && y < height, "pixel out of bounds")
        let i = (y * width + x) * channels
        return pixels[i..<(i + channels)]
    }
}
