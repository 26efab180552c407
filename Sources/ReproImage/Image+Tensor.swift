// Conversion of 8-bit HWC pixels to float CHW in [0, 1], as torchvision's
// `to_tensor` / `ToTensor()` does it: `Float(v) / 255`, a correctly rounded
// IEEE division. Multiplying by `1 / 255` instead differs in the last bit for
// 126 of the 256 values (v = 3, 6, 7, 12, …), so it is never used.

/// Pixel-buffer conversions to floating point.
public enum ImageTensor {
    /// Writes `height * width * channels` HWC samples as CHW floats `v / 255`.
    ///
    /// ```swift
    /// var out = [Float](repeating: 0, count: 3 * h * w)
    /// pixels.withUnsafeBufferPointer { p in
    ///     out.withUnsafeMutableBufferPointer { o in
    ///         ImageTensor.chwUnitFloats(hwc: p, width: w, height: h, channels: 3, into: o)
    ///     }
    /// }
    /// ```
    ///
    /// - Precondition: `hwc.count == output.count == width * height * channels`.
    public static func chwUnitFloats(hwc: UnsafeBufferPointer<UInt8>, width: Int, height: Int, channels: Int,
                                     into output: UnsafeMutableBufferPointer<Float>) {
        let plane = width * height
        precondition(hwc.count == plane * channels && output.count == plane * channels, "buffer sizes")
        // The 256 possible results, each a correctly rounded division.
        var table = [Float](repeating: 0, count: 256)
        for v in 0..<256 { table[v] = Float(v) / 255 }
        table.withUnsafeBufferPointer { t in
            for c in 0..<channels {
                let dst = output.baseAddress! + c * plane
                for i in 0..<plane { dst[i] = t[Int(hwc[i * channels + c])] }
            }
        }
    }
}

extension Image {
    /// The pixels as float CHW in [0, 1] (`Float(v) / 255`), shape
    /// `[channels, height, width]` flattened — torchvision's `to_tensor`.
    ///
    /// ```swift
    /// let x = try Image(contentsOfFile: "cat.jpg").rgb().chwUnitFloats()   // 3 * h * w floats
    /// ```
    public func chwUnitFloats() -> [Float] {
        var out = [Float](repeating: 0, count: pixels.count)
        pixels.withUnsafeBufferPointer { p in
            out.withUnsafeMutableBufferPointer { o in
                ImageTensor.chwUnitFloats(hwc: p, width: width, height: height, channels: channels, into: o)
            }
        }
        return out
    }
}
