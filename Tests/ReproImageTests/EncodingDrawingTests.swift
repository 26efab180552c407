import Foundation
import Testing
import ReproImage
import _ReproDigest
import _ReproTestSupport

@Suite struct PNGEncoderTests {
    @Test(arguments: ["photo_astronaut_full.png", "rgba_17x33_d8_i.png", "gray_13x11_d8.png", "q090_420.jpg"])
    func roundTripsThroughOurDecoder(_ name: String) throws {
        let original = try Image(decoding: try corpusBytes(name))
        let png = original.pngData()
        let back = try ImageDecoder.decode(png)
        #expect(back.image == original)
        #expect(back.format == .png)
        // Deterministic bytes.
        #expect(original.pngData() == png)
    }

    @Test func compressesRepetitiveImages() throws {
        let flat = Image(width: 200, height: 100, channels: 3, filledWith: 7)
        let png = flat.pngData()
        #expect(png.count < 2000, "\(png.count) bytes")
        #expect(try Image(decoding: png) == flat)
    }

    @Test func emptyRowsAndOddSizes() throws {
        for (w, h, c) in [(1, 1, 1), (3, 1, 4), (1, 5, 3), (1001, 3, 3)] {
            var img = Image(width: w, height: h, channels: c)
            for i in img.pixels.indices { img.pixels[i] = UInt8(truncatingIfNeeded: i &* 37 &+ i / 3) }
            #expect(try Image(decoding: img.pngData()) == img)
        }
    }
}

@Suite struct DrawingTests {
    @Test func rectangleOutlineHasTheRequestedWidth() {
        var img = Image(width: 20, height: 20, channels: 3)
        img.drawRectangle(x0: 2, y0: 3, x1: 15, y1: 12, color: .white, lineWidth: 2)
        func lit(_ x: Int, _ y: Int) -> Bool { img.pixel(x: x, y: y).first == 255 }
        #expect(lit(2, 3) && lit(15, 12) && lit(3, 4) && lit(14, 11))      // corners, second ring
        #expect(!lit(4, 5) && !lit(13, 10))                                 // interior stays clear
        #expect(!lit(1, 3) && !lit(16, 12) && !lit(2, 13))                  // nothing outside
        #expect(img.pixels.filter { $0 == 255 }.count == 3 * (2 * 14 * 2 + 2 * 6 * 2))
    }

    @Test func drawingIsClippedNeverTraps() {
        var img = Image(width: 8, height: 8, channels: 4)
        img.drawRectangle(x0: -50, y0: -50, x1: 100, y1: 3, color: .forClass(2), lineWidth: 5)
        img.drawText("HELLO, WORLD 0.99", x: -3, y: 6, color: .white, scale: 3)
        img.drawDetection(x0: .nan, y0: -.infinity, x1: 1e30, y1: 4.5, label: "x", classIndex: -7)
        #expect(img.pixels.count == 8 * 8 * 4)
    }

    @Test func textUsesTheBuiltInFont() {
        var img = Image(width: 12, height: 7, channels: 1)
        img.drawText("I", x: 0, y: 0, color: .white)
        // 'I': a 3-cell bar on top and bottom, a stem in the middle column.
        let rows = (0..<7).map { y in (0..<5).map { img.pixel(x: $0, y: y).first! == 255 ? "#" : "." }.joined() }
        #expect(rows == [".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."])
        #expect(BitmapFont.textWidth("ab", scale: 2) == 22)
        // Lower case is drawn as upper case; unknown characters as '?'.
        var a = Image(width: 6, height: 7, channels: 1), b = a, q = a, u = a
        a.drawText("a", x: 0, y: 0, color: .white)
        b.drawText("A", x: 0, y: 0, color: .white)
        q.drawText("?", x: 0, y: 0, color: .white)
        u.drawText("é", x: 0, y: 0, color: .white)
        #expect(a == b && q == u && a != q)
    }

    @Test func classColoursAreFixedAndLabelsSitAboveBoxes() {
        #expect(Color.forClass(0) == Color(red: 230, green: 25, blue: 75))
        #expect(Color.forClass(21) == Color.forClass(1))
        #expect(Color.forClass(-1) == Color.forClass(19))
        var img = Image(width: 64, height: 64, channels: 3)
        img.drawDetection(x0: 10, y0: 30, x1: 50, y1: 60, label: "cat", classIndex: 3)
        let c = Color.forClass(3)
        // Label box ends just above the box's top edge (y = 29) and starts at x = 10.
        #expect(Array(img.pixel(x: 10, y: 29)) == [c.red, c.green, c.blue])
        #expect(Array(img.pixel(x: 10, y: 30)) == [c.red, c.green, c.blue])
        let labelTop = 30 - (BitmapFont.textHeight() + 4)
        #expect(Array(img.pixel(x: 10, y: labelTop)) == [c.red, c.green, c.blue])
        #expect(Array(img.pixel(x: 10, y: labelTop - 1)) == [0, 0, 0])
        // The whole overlay is reproducible byte for byte.
        var again = Image(width: 64, height: 64, channels: 3)
        again.drawDetection(x0: 10, y0: 30, x1: 50, y1: 60, label: "cat", classIndex: 3)
        #expect(again == img)
    }
}

@Suite struct TensorConversionTests {
    @Test func divisionBy255MatchesTorchvisionToTensor() {
        // 16x16 RGB ramp (value = y*16 + x in every channel); digest of
        // torchvision.transforms.functional.to_tensor(...).numpy().tobytes()
        // computed with torch 2.15 / torchvision in /work/.venv-ref.
        var px = [UInt8](repeating: 0, count: 16 * 16 * 3)
        for i in 0..<256 { px[3 * i] = UInt8(i); px[3 * i + 1] = UInt8(i); px[3 * i + 2] = UInt8(i) }
        let img = try! Image(width: 16, height: 16, channels: 3, pixels: px)
        let floats = img.chwUnitFloats()
        var h = SHA256()
        floats.withUnsafeBytes { h.update($0) }
        #expect(h.finalize().hex == "d9e902c7c339bc309d4ae7321c068952af191547efadaf9dfc9160e1533bb836")
        #expect(floats[3].bitPattern == 0x3C40_C0C1)           // 3 / 255
        #expect(floats[3].bitPattern != (Float(3) * (1 / Float(255))).bitPattern)
        #expect(floats[255].bitPattern == Float(1).bitPattern)
    }

    @Test func layoutIsChannelMajor() throws {
        let img = try Image(width: 2, height: 1, channels: 3, pixels: [0, 51, 102, 153, 204, 255])
        #expect(img.chwUnitFloats() == [0, Float(153) / 255, Float(51) / 255, Float(204) / 255, Float(102) / 255, 1])
    }
}
