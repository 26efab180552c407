// A small built-in bitmap font for overlay labels: 5×7 cells, designed for
// Repro (upper-case letters, digits and common punctuation; lower case is
// drawn as upper case, anything else as '?'). The glyphs are edited in
// scripts/bitmap_font.txt and turned into the table below by
// scripts/make_bitmap_font.py.

/// The built-in 5×7 bitmap font.
///
/// ```swift
/// BitmapFont.glyphWidth       // 5
/// BitmapFont.textWidth("cat 0.98", scale: 2)
/// ```
public enum BitmapFont {
    /// Width of a glyph in cells.
    public static let glyphWidth = 5
    /// Height of a glyph in cells.
    public static let glyphHeight = 7
    /// Horizontal advance per character in cells (glyph plus one blank column).
    public static let advance = 6

    /// (ASCII code, 35 bits: 7 rows of 5 cells, top-left cell in the highest bit).
    static let table: [(Int, UInt64)] = [
        (65, 0x3A31FC631),  // A
        (66, 0x7A31F463E),  // B
        (67, 0x3A308422E),  // C
        (68, 0x72518C65C),  // D
        (69, 0x7E10F421F),  // E
        (70, 0x7E10F4210),  // F
        (71, 0x3A30BC62F),  // G
        (72, 0x4631FC631),  // H
        (73, 0x38842108E),  // I
        (74, 0x1C4210A4C),  // J
        (75, 0x4654C5251),  // K
        (76, 0x42108421F),  // L
        (77, 0x4775AC631),  // M
        (78, 0x4639ACE31),  // N
        (79, 0x3A318C62E),  // O
        (80, 0x7A31F4210),  // P
        (81, 0x3A318D64D),  // Q
        (82, 0x7A31F5251),  // R
        (83, 0x3E107043E),  // S
        (84, 0x7C8421084),  // T
        (85, 0x46318C62E),  // U
        (86, 0x46318C544),  // V
        (87, 0x4631AD6AA),  // W
        (88, 0x462A22A31),  // X
        (89, 0x462A21084),  // Y
        (90, 0x7C222221F),  // Z
        (48, 0x3A33AE62E),  // 0
        (49, 0x11842108E),  // 1
        (50, 0x3A211111F),  // 2
        (51, 0x7C441062E),  // 3
        (52, 0x08CA97C42),  // 4
        (53, 0x7E1E0862E),  // 5
        (54, 0x1910F462E),  // 6
        (55, 0x7C2222108),  // 7
        (56, 0x3A317462E),  // 8
        (57, 0x3A317844C),  // 9
        (46, 0x00000018C),  // .
        (44, 0x000003088),  // ,
        (58, 0x018C03180),  // :
        (45, 0x0000F8000),  // -
        (95, 0x00000001F),  // _
        (37, 0x632222263),  // %
        (40, 0x088842082),  // (
        (41, 0x208210888),  // )
        (47, 0x002222200),  // /
        (39, 0x108800000),  // '
        (33, 0x108421004),  // !
        (63, 0x3A2111004),  // ?
        (35, 0x295F57D4A),  // #
        (43, 0x0084F9080),  // +
        (61, 0x001F07C00),  // =
        (91, 0x39084210E),  // [
        (93, 0x38421084E),  // ]
    ]

    /// Glyph bits indexed by ASCII code (0 = blank).
    static let glyphs: [UInt64] = {
        var g = [UInt64](repeating: 0, count: 128)
        for (code, bits) in table { g[code] = bits }
        return g
    }()

    /// The glyph drawn for `c`: its bits, or nil for a space.
    static func glyph(for c: Character) -> UInt64? {
        guard let a = c.asciiValue else { return glyphs[63] }
        if a == 32 { return nil }
        let upper = (a >= 97 && a <= 122) ? a - 32 : a
        let g = glyphs[Int(upper)]
        return g == 0 ? glyphs[63] : g
    }

    /// Whether cell (`col`, `row`) of a glyph is inked.
    @inline(__always) static func isInked(_ bits: UInt64, col: Int, row: Int) -> Bool {
        (bits >> UInt64(34 - (row * 5 + col))) & 1 == 1
    }

    /// The width in pixels of `text` drawn at `scale` (no trailing blank column).
    public static func textWidth(_ text: String, scale: Int = 1) -> Int {
        let n = text.count
        return n == 0 ? 0 : (n * advance - 1) * scale
    }

    /// The height in pixels of one line of text at `scale`.
    public static func textHeight(scale: Int = 1) -> Int { glyphHeight * scale }
}
