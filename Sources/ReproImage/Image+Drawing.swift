// Drawing for detection overlays: rectangles, filled label boxes and text in
// the built-in bitmap font. Everything is clipped to the image; coordinates
// are integer pixels with inclusive corners, as Pillow's ImageDraw uses them.

/// An opaque RGB colour.
///
/// ```swift
/// let c = Color(red: 255, green: 128, blue: 0)
/// let person = Color.forClass(1)
/// ```
public struct Color: Sendable, Equatable, Hashable {
    /// Red, green, blue.
    public var red: UInt8, green: UInt8, blue: UInt8

    /// A colour from its components.
    public init(red: UInt8, green: UInt8, blue: UInt8) {
        self.red = red; self.green = green; self.blue = blue
    }

    /// White.
    public static let white = Color(red: 255, green: 255, blue: 255)
    /// Black.
    public static let black = Color(red: 0, green: 0, blue: 0)

    /// The fixed overlay palette: 20 well-separated colours.
    public static let classPalette: [Color] = ([
        (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
        (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212),
        (0, 128, 128), (220, 190, 255), (170, 110, 40), (255, 250, 200), (128, 0, 0),
        (170, 255, 195), (128, 128, 0), (255, 215, 180), (0, 0, 128), (128, 128, 128),
    ] as [(UInt8, UInt8, UInt8)]).map { Color(red: $0.0, green: $0.1, blue: $0.2) }

    /// The fixed colour of a class index (`classPalette[index mod 20]`), the
    /// same in every run and on every machine.
    ///
    /// ```swift
    /// Color.forClass(0) == Color.forClass(20)   // true
    /// ```
    public static func forClass(_ index: Int) -> Color {
        let n = classPalette.count
        return classPalette[((index % n) + n) % n]
    }

    /// Black or white, whichever reads better on this colour (ITU-R BT.601 luma
    /// in integers: 299 R + 587 G + 114 B against 128 000).
    public var contrastingText: Color {
        let luma: Int = 299 * Int(red) + 587 * Int(green) + 114 * Int(blue)
        return luma >= 128_000 ? .black : .white
    }
}

extension Image {
    /// Sets one pixel if it lies inside the image (grey images get the BT.601
    /// integer luma of the colour; RGBA keeps alpha 255).
    @inline(__always)
    mutating func plot(_ x: Int, _ y: Int, _ c: Color) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let i = (y * width + x) * channels
        switch channels {
        case 1:
            let luma: Int = 299 * Int(c.red) + 587 * Int(c.green) + 114 * Int(c.blue)
            pixels[i] = UInt8((luma + 500) / 1000)
        default:
            pixels[i] = c.red; pixels[i + 1] = c.green; pixels[i + 2] = c.blue
            if channels == 4 { pixels[i + 3] = 255 }
        }
    }

    /// Fills the rectangle with corners (`x0`, `y0`) and (`x1`, `y1`), both inclusive.
    ///
    /// ```swift
    /// image.fillRectangle(x0: 10, y0: 10, x1: 49, y1: 19, color: .black)
    /// ```
    public mutating func fillRectangle(x0: Int, y0: Int, x1: Int, y1: Int, color: Color) {
        let xa = max(0, min(x0, x1)), xb = min(width - 1, max(x0, x1))
        let ya = max(0, min(y0, y1)), yb = min(height - 1, max(y0, y1))
        guard xa <= xb, ya <= yb else { return }
        for y in ya...yb { for x in xa...xb { plot(x, y, color) } }
    }

    /// Draws the outline of a rectangle (inclusive corners) `lineWidth` pixels
    /// thick, growing inwards from the given corners as Pillow's `width=` does.
    ///
    /// ```swift
    /// image.drawRectangle(x0: 5, y0: 5, x1: 60, y1: 40, color: .forClass(3), lineWidth: 2)
    /// ```
    public mutating func drawRectangle(x0: Int, y0: Int, x1: Int, y1: Int, color: Color, lineWidth: Int = 1) {
        let xa = min(x0, x1), xb = max(x0, x1), ya = min(y0, y1), yb = max(y0, y1)
        let w = max(1, lineWidth)
        fillRectangle(x0: xa, y0: ya, x1: xb, y1: min(yb, ya + w - 1), color: color)
        fillRectangle(x0: xa, y0: max(ya, yb - w + 1), x1: xb, y1: yb, color: color)
        fillRectangle(x0: xa, y0: ya, x1: min(xb, xa + w - 1), y1: yb, color: color)
        fillRectangle(x0: max(xa, xb - w + 1), y0: ya, x1: xb, y1: yb, color: color)
    }

    /// Draws `text` in the built-in font with its top-left corner at (`x`, `y`),
    /// each font cell `scale` × `scale` pixels.
    ///
    /// ```swift
    /// image.drawText("PERSON 0.98", x: 4, y: 4, color: .white, scale: 2)
    /// ```
    public mutating func drawText(_ text: String, x: Int, y: Int, color: Color, scale: Int = 1) {
        let s = max(1, scale)
        var penX = x
        for ch in text {
            if let g = BitmapFont.glyph(for: ch) {
                for row in 0..<BitmapFont.glyphHeight {
                    for col in 0..<BitmapFont.glyphWidth where BitmapFont.isInked(g, col: col, row: row) {
                        fillRectangle(x0: penX + col * s, y0: y + row * s,
                                      x1: penX + col * s + s - 1, y1: y + row * s + s - 1, color: color)
                    }
                }
            }
            penX += BitmapFont.advance * s
        }
    }

    /// Draws a filled label box holding `text`, its bottom-left corner at
    /// (`x`, `y`) — just above a detection box's top-left corner — or, when it
    /// would leave the top of the image, just below that point.
    ///
    /// ```swift
    /// image.drawLabel("dog 0.87", x: 30, y: 12, background: .forClass(18))
    /// ```
    public mutating func drawLabel(_ text: String, x: Int, y: Int, background: Color, textColor: Color? = nil,
                                   scale: Int = 1, padding: Int = 2) {
        let s = max(1, scale), p = max(0, padding)
        let w = BitmapFont.textWidth(text, scale: s) + 2 * p
        let h = BitmapFont.textHeight(scale: s) + 2 * p
        let top = y - h >= 0 ? y - h : y
        fillRectangle(x0: x, y0: top, x1: x + w - 1, y1: top + h - 1, color: background)
        drawText(text, x: x + p, y: top + p, color: textColor ?? background.contrastingText, scale: s)
    }

    /// Draws a detection: the box outline in the class colour and a label box
    /// with `label` above it. Box corners are rounded to the nearest pixel
    /// (halves away from zero) and the box is clipped to the image.
    ///
    /// ```swift
    /// image.drawDetection(x0: 12.4, y0: 30, x1: 200.6, y1: 180, label: "cat 0.91", classIndex: 17)
    /// ```
    public mutating func drawDetection(x0: Float, y0: Float, x1: Float, y1: Float, label: String, classIndex: Int,
                                       lineWidth: Int = 2, scale: Int = 1) {
        let c = Color.forClass(classIndex)
        func px(_ v: Float) -> Int {
            guard v.isFinite else { return 0 }
            return Int(max(-1e9, min(1e9, v.rounded(.toNearestOrAwayFromZero))))
        }
        let ax = px(x0), ay = px(y0), bx = px(x1), by = px(y1)
        drawRectangle(x0: ax, y0: ay, x1: bx, y1: by, color: c, lineWidth: lineWidth)
        drawLabel(label, x: min(ax, bx), y: min(ay, by), background: c, scale: scale)
    }
}
