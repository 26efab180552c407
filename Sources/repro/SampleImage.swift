import Repro

/// The built-in sample for `repro detect` without arguments: a 640×480 procedural
/// scene (sky gradient, ground, a "sun", a house and two "cars"), integer arithmetic only,
/// so every platform produces the same pixels.
enum SampleImage {
    static let name = "sample-scene.png"

    static func make() throws -> Image {
        let w = 640, h = 480
        var px = [UInt8](repeating: 0, count: w * h * 3)
        func set(_ x: Int, _ y: Int, _ c: (Int, Int, Int)) {
            let i = (y * w + x) * 3
            px[i] = UInt8(c.0); px[i + 1] = UInt8(c.1); px[i + 2] = UInt8(c.2)
        }
        for y in 0..<h {
            for x in 0..<w {
                if y < 300 {
                    set(x, y, (110 + y * 80 / 300, 160 + y * 60 / 300, 235))                 // sky
                } else {
                    set(x, y, (70 + (x * 7 + y * 3) % 23, 120 + (x * 5 + y * 11) % 29, 60))  // grass texture
                }
                let dx = x - 540, dy = y - 80
                if dx * dx + dy * dy < 45 * 45 { set(x, y, (250, 215, 70)) }                 // sun
                if x >= 80 && x < 260 && y >= 170 && y < 330 { set(x, y, (180, 90, 70)) }   // house
                if x >= 140 && x < 190 && y >= 250 && y < 330 { set(x, y, (90, 60, 40)) }   // door
                if y >= 100 && y < 170 && abs(x - 170) < (y - 100) * 100 / 70 { set(x, y, (120, 40, 40)) }  // roof
                for (cx, color) in [(330, (200, 30, 40)), (470, (30, 60, 190))] {            // cars
                    if x >= cx && x < cx + 130 && y >= 360 && y < 410 { set(x, y, color) }
                    if x >= cx + 25 && x < cx + 100 && y >= 330 && y < 360 { set(x, y, (color.0 / 2 + 100, color.1 / 2 + 100, color.2 / 2 + 100)) }
                    for wx in [cx + 25, cx + 105] {
                        let ex = x - wx, ey = y - 412
                        if ex * ex + ey * ey < 16 * 16 { set(x, y, (25, 25, 25)) }
                    }
                }
            }
        }
        return try Image(width: w, height: h, channels: 3, pixels: px)
    }
}
