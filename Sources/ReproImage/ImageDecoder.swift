import Foundation

/// A file format ReproImage reads.
public enum ImageFormat: String, Sendable, Equatable {
    /// Portable Network Graphics.
    case png = "PNG"
    /// JPEG (JFIF, Exif or Adobe).
    case jpeg = "JPEG"
}

/// Settings for decoding.
///
/// ```swift
/// var options = ImageDecodingOptions()
/// options.maxPixels = 4096 * 4096
/// let image = try Image(decoding: bytes, options: options)
/// ```
public struct ImageDecodingOptions: Sendable, Equatable {
    /// Pillow's `Image.MAX_IMAGE_PIXELS` (`1024 * 1024 * 1024 // 4 // 3`).
    public static let pillowMaxImagePixels = 89_478_485

    /// The largest width × height accepted; larger images are refused with
    /// ``ImageError/tooManyPixels(width:height:limit:)`` right after the header
    /// is read, before any pixel buffer is allocated. `nil` removes the limit.
    ///
    /// Default: Pillow's `MAX_IMAGE_PIXELS` (89,478,485). Pillow itself only
    /// *warns* between 1× and 2× this value and raises `DecompressionBombError`
    /// above 2×; ReproImage refuses everything above 1×, the stricter reading.
    public var maxPixels: Int? = ImageDecodingOptions.pillowMaxImagePixels

    /// Whether to rotate/flip a JPEG by its EXIF orientation tag. Off by
    /// default, like Pillow (which applies it only through `ImageOps.exif_transpose`).
    public var appliesExifOrientation: Bool = false

    /// The default options.
    public init() {}

    func checkSize(width: Int, height: Int) throws(ImageError) {
        guard width > 0, height > 0 else { throw .invalidDimensions(width: width, height: height) }
        if let limit = maxPixels, width * height > limit {
            throw .tooManyPixels(width: width, height: height, limit: limit)
        }
    }
}

/// A decoded image with what the file said about it.
public struct DecodedImage: Sendable, Equatable {
    /// The pixels (grey, RGB or RGBA, 8 bits).
    public var image: Image
    /// The file's format.
    public var format: ImageFormat
    /// The mode Pillow gives this file (`"RGB"`, `"L"`, `"P"`, `"I;16"`, `"CMYK"`, …).
    public var pillowMode: String
    /// The EXIF orientation tag (1…8); 1 when the file has none.
    public var exifOrientation: Int
    /// Whether ``image`` has already been turned by ``exifOrientation``.
    public var orientationApplied: Bool
}

/// Decodes PNG and JPEG files.
///
/// ```swift
/// let decoded = try ImageDecoder.decode(bytes)
/// print(decoded.format, decoded.image.width, decoded.exifOrientation)
/// ```
public enum ImageDecoder {
    /// Detects the format from the signature and decodes.
    ///
    /// - Throws: ``ImageError/unknownFormat`` for anything but PNG or JPEG,
    ///   or the decoder's error naming the problem.
    public static func decode(_ bytes: [UInt8], options: ImageDecodingOptions = .init()) throws(ImageError) -> DecodedImage {
        try bytes.withUnsafeBufferPointer { (buf) throws(ImageError) -> DecodedImage in
            if buf.count >= 8, buf[0] == 0x89, buf[1] == 0x50, buf[2] == 0x4E, buf[3] == 0x47 {
                return try PNGDecoder.decode(buf, options: options)
            }
            if buf.count >= 3, buf[0] == 0xFF, buf[1] == 0xD8, buf[2] == 0xFF {
                var d = try JPEGDecoder.decode(buf, options: options)
                if options.appliesExifOrientation {
                    d.image = d.image.oriented(exif: d.exifOrientation)
                    d.orientationApplied = true
                }
                return d
            }
            throw .unknownFormat
        }
    }

    /// Reads a file and decodes it.
    public static func decode(contentsOfFile path: String, options: ImageDecodingOptions = .init()) throws(ImageError) -> DecodedImage {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch { throw .io("\(path): \(error.localizedDescription)") }
        return try decode([UInt8](data), options: options)
    }
}

extension Image {
    /// Decodes PNG or JPEG bytes (format detected from the signature).
    ///
    /// ```swift
    /// let image = try Image(decoding: bytes)
    /// ```
    public init(decoding bytes: [UInt8], options: ImageDecodingOptions = .init()) throws(ImageError) {
        self = try ImageDecoder.decode(bytes, options: options).image
    }

    /// Reads and decodes a PNG or JPEG file.
    ///
    /// ```swift
    /// let image = try Image(contentsOfFile: "photo.jpg")
    /// ```
    public init(contentsOfFile path: String, options: ImageDecodingOptions = .init()) throws(ImageError) {
        self = try ImageDecoder.decode(contentsOfFile: path, options: options).image
    }
}
