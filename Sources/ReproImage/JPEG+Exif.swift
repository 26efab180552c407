// The EXIF orientation tag (0x0112) from an APP1 segment.

extension JPEGDecoder {
    /// Orientation 1...8 from an APP1 payload, or nil when absent or malformed.
    /// Every offset is bounds-checked; a malformed EXIF block is ignored, as
    /// Pillow ignores it for decoding.
    static func exifOrientation(_ seg: UnsafeBufferPointer<UInt8>) -> Int? {
        let sig: [UInt8] = [0x45, 0x78, 0x69, 0x66, 0, 0]  // "Exif\0\0"
        guard seg.count >= 14, Array(seg[0..<6]) == sig else { return nil }
        let t = UnsafeBufferPointer(rebasing: seg[6...])
        let little: Bool
        switch (t[0], t[1]) {
        case (0x49, 0x49): little = true
        case (0x4D, 0x4D): little = false
        default: return nil
        }
        func u16(_ i: Int) -> Int? {
            guard i >= 0, i + 2 <= t.count else { return nil }
            return little ? Int(t[i]) | Int(t[i + 1]) << 8 : Int(t[i]) << 8 | Int(t[i + 1])
        }
        func u32(_ i: Int) -> Int? {
            guard let a = u16(i), let b = u16(i + 2) else { return nil }
            return little ? a | b << 16 : a << 16 | b
        }
        guard u16(2) == 42, let ifd = u32(4), let count = u16(ifd) else { return nil }
        for e in 0..<count {
            let p = ifd + 2 + 12 * e
            guard let tag = u16(p) else { return nil }
            if tag == 0x0112 {
                guard let type = u16(p + 2), type == 3, let v = u16(p + 8) else { return nil }
                return v
            }
        }
        return nil
    }
}
