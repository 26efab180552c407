/// Why an image could not be decoded, encoded or built.
///
/// Every decoder failure is one of these cases; the decoders never trap on bad
/// input, never loop without bound and never allocate more than the pixel
/// limit allows.
///
/// ```swift
/// do { _ = try Image(decoding: bytes) }
/// catch ImageError.truncated(let what) { print("file ends early:", what) }
/// ```
public enum ImageError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The bytes start with no signature this library decodes (PNG or JPEG).
    case unknownFormat
    /// The file ends before the named structure is complete.
    case truncated(String)
    /// A structure of the file is malformed; the text names it.
    case corrupt(String)
    /// A PNG chunk's CRC does not match its contents.
    case badCRC(chunk: String)
    /// The file is well formed but uses a feature this library does not decode
    /// (arithmetic-coded or 12-bit JPEG, lossless JPEG, …).
    case unsupported(String)
    /// Width × height exceeds the configured pixel limit; refused before any
    /// pixel buffer is allocated.
    case tooManyPixels(width: Int, height: Int, limit: Int)
    /// Width or height is zero, negative or larger than the format allows.
    case invalidDimensions(width: Int, height: Int)
    /// A pixel buffer's size does not match width × height × channels, or the
    /// channel count is not 1, 3 or 4.
    case invalidLayout(String)
    /// Reading the file from disk failed.
    case io(String)

    /// A one-line message naming the problem, e.g. `"PNG chunk IDAT has a wrong CRC"`.
    public var description: String {
        switch self {
        case .unknownFormat: return "unknown image format (not PNG or JPEG)"
        case .truncated(let s): return "truncated image: \(s)"
        case .corrupt(let s): return "corrupt image: \(s)"
        case .badCRC(let c): return "PNG chunk \(c) has a wrong CRC"
        case .unsupported(let s): return "unsupported image feature: \(s)"
        case .tooManyPixels(let w, let h, let l):
            return "image of \(w)x\(h) = \(w * h) pixels exceeds the limit of \(l) pixels"
        case .invalidDimensions(let w, let h): return "invalid image dimensions \(w)x\(h)"
        case .invalidLayout(let s): return "invalid pixel layout: \(s)"
        case .io(let s): return "cannot read image: \(s)"
        }
    }
}
