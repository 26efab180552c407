extension Image {
    /// The image turned upright according to an EXIF orientation value (1…8),
    /// as Pillow's `ImageOps.exif_transpose` does; values outside 2…8 return
    /// the image unchanged.
    ///
    /// ```swift
    /// let d = try ImageDecoder.decode(bytes)
    /// let upright = d.image.oriented(exif: d.exifOrientation)
    /// ```
    public func oriented(exif orientation: Int) -> Image {
        guard (2...8).contains(orientation) else { return self }
        // Orientations 5...8 swap width and height.
        let swaps = orientation >= 5
        let ow = swaps ? height : width, oh = swaps ? width : height
        var out = [UInt8](repeating: 0, count: pixels.count)
        let c = channels
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<oh {
                    for x in 0..<ow {
                        // (sx, sy): the source pixel shown at (x, y).
                        let sx: Int, sy: Int
                        switch orientation {
                        case 2: sx = width - 1 - x; sy = y                 // mirror horizontal
                        case 3: sx = width - 1 - x; sy = height - 1 - y    // rotate 180
                        case 4: sx = x; sy = height - 1 - y                // mirror vertical
                        case 5: sx = y; sy = x                             // transpose
                        case 6: sx = y; sy = height - 1 - x                // rotate 90 clockwise
                        case 7: sx = width - 1 - y; sy = height - 1 - x    // transverse
                        default: sx = width - 1 - y; sy = x                // 8: rotate 90 counter-clockwise
                        }
                        let s = (sy * width + sx) * c, d = (y * ow + x) * c
                        for k in 0..<c { dst[d + k] = src[s + k] }
                    }
                }
            }
        }
        return Image(uncheckedWidth: ow, height: oh, channels: c, pixels: out)
    }
}
