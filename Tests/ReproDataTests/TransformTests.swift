import Testing
import ReproRandom
import ReproImage
@testable import ReproData

/// A deterministic test image: 3 channels, values in [0, 1].
func testImage(channels: Int = 3, height: Int, width: Int) -> CHWImage {
    let n = channels * height * width
    return try! CHWImage(channels: channels, height: height, width: width,
                         values: (0..<n).map { Float(($0 * 37) % 256) / 255 })
}

func gen(_ i: Int) -> SampleGenerator { SampleGenerator(SampleRandomness.generator(seed: 11, epoch: 0, index: i)) }

@Suite struct TransformTests {
    @Test func standardPipelineIsDeterministicAndShaped() throws {
        let t = Compose([RandomResizedCrop(size: 24), RandomHorizontalFlip(),
                         ColorJitter(brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1), Normalize.imageNet])
        let x = testImage(height: 37, width: 50)
        var outputs: [[UInt32]] = []
        for i in 0..<6 {
            var a = gen(i), b = gen(i)
            let ya = try t.apply(x, using: &a), yb = try t.apply(x, using: &b)
            #expect(ya.channels == 3 && ya.height == 24 && ya.width == 24)
            #expect(ya.values.map(\.bitPattern) == yb.values.map(\.bitPattern))
            #expect(a.next() == b.next(), "same number of draws")
            outputs.append(ya.values.map(\.bitPattern))
        }
        #expect(Set(outputs).count == outputs.count, "different generators give different augmentations")
    }

    @Test func flipsAreExactMirrors() throws {
        let x = testImage(height: 5, width: 7)
        let h = x.flippedHorizontally(), v = x.flippedVertically()
        for c in 0..<3 { for y in 0..<5 { for col in 0..<7 {
            #expect(h[c, y, col].bitPattern == x[c, y, 6 - col].bitPattern)
            #expect(v[c, y, col].bitPattern == x[c, 4 - y, col].bitPattern)
        } } }
        #expect(h.flippedHorizontally() == x)
        var g = gen(0)
        #expect(try RandomHorizontalFlip(p: 1).apply(x, using: &g) == h)
        #expect(try RandomVerticalFlip(p: 1).apply(x, using: &g) == v)
        #expect(try RandomHorizontalFlip(p: 0).apply(x, using: &g) == x)
    }

    @Test func normalizeArithmetic() throws {
        let x = testImage(height: 2, width: 3)
        var g = gen(0)
        let y = try Normalize.imageNet.apply(x, using: &g)
        let mean: [Float] = [0.485, 0.456, 0.406], std: [Float] = [0.229, 0.224, 0.225]
        for c in 0..<3 { for r in 0..<2 { for col in 0..<3 {
            #expect(y[c, r, col].bitPattern == ((x[c, r, col] - mean[c]) / std[c]).bitPattern)
        } } }
        #expect(throws: TransformError.self) { try Normalize(mean: [0], std: [1]).apply(x, using: &g) }
        #expect(throws: TransformError.self) { try Normalize(mean: [0, 0, 0], std: [1, 0, 1]).apply(x, using: &g) }
    }

    /// torchvision's output sizes: shorter edge matched, longer truncated, max_size cap.
    @Test func resizeSizesMatchTorchvision() throws {
        #expect(try Resize(shorterSide: 256).outputSize(height: 375, width: 500) == (256, 341))
        #expect(try Resize(shorterSide: 256).outputSize(height: 500, width: 375) == (341, 256))
        #expect(try Resize(shorterSide: 224).outputSize(height: 100, width: 100) == (224, 224))
        #expect(try Resize(shorterSide: 100, maxSize: 150).outputSize(height: 100, width: 300) == (50, 150))
        var g = gen(0)
        let y = try Resize(shorterSide: 8, interpolation: .nearest).apply(testImage(height: 16, width: 24), using: &g)
        #expect(y.height == 8 && y.width == 12)
        // Nearest 2× downscale picks every other pixel (legacy nearest: floor(dst × scale)).
        #expect(y[1, 3, 5] == testImage(height: 16, width: 24)[1, 6, 10])
        #expect(throws: TransformError.self) { try Resize(shorterSide: 0).apply(y, using: &g) }
    }

    @Test func randomResizedCropRectangles() {
        let t = RandomResizedCrop(size: 224)
        for i in 0..<200 {
            var g = gen(i)
            let r = t.cropRectangle(imageHeight: 375, imageWidth: 500, using: &g)
            #expect(r.top >= 0 && r.left >= 0 && r.top + r.height <= 375 && r.left + r.width <= 500)
            let area = Double(r.height * r.width) / (375 * 500)
            #expect(area > 0.07 && area <= 1.0)
        }
        // Fallback: a ratio range no crop can satisfy in 10 attempts on a 1×100 strip → centre crop.
        var g = gen(1)
        let f = RandomResizedCrop(size: 4, scale: 0.9...1, ratio: 1...1).cropRectangle(imageHeight: 1, imageWidth: 100, using: &g)
        #expect(f == (0, 49, 1, 1))
    }

    @Test func colorJitterIdentityAndRange() throws {
        let x = testImage(height: 6, width: 6)
        var g = gen(3)
        #expect(try ColorJitter().apply(x, using: &g) == x)
        let y = try ColorJitter(brightness: 0.5, contrast: 0.5, saturation: 0.5, hue: 0.2).apply(x, using: &g)
        #expect(y.values.allSatisfy { $0 >= 0 && $0 <= 1 })
        #expect(y != x)
        // A zero hue shift through HSV returns the input to within rounding.
        let back = x.hueShifted(by: 0)
        #expect(zip(back.values, x.values).allSatisfy { abs($0 - $1) <= 1e-6 })
        #expect(throws: TransformError.self) { try ColorJitter(hue: 0.7).apply(x, using: &g) }
    }

    /// Cropping the 8-bit image gives the same bits and draws as cropping its float version.
    @Test func byteCropEqualsFloatCrop() throws {
        let px = (0..<(3 * 31 * 40)).map { UInt8(truncatingIfNeeded: $0 &* 29) }
        let img = try Image(width: 40, height: 31, channels: 3, pixels: px)
        let t = RandomResizedCrop(size: 16)
        for i in 0..<10 {
            var a = gen(i), b = gen(i)
            let x = try t.apply(img, using: &a), y = try t.apply(CHWImage(img), using: &b)
            #expect(x.values.map(\.bitPattern) == y.values.map(\.bitPattern))
            #expect(a.next() == b.next())
        }
    }

    /// to-tensor divides every byte by 255 (an IEEE division).
    @Test func toTensorDividesBy255() throws {
        let img = try Image(width: 2, height: 1, channels: 3, pixels: [0, 128, 255, 1, 2, 3])
        let t = CHWImage(img)
        #expect(t.values.map(\.bitPattern) == [0, 1, 128, 2, 255, 3].map { (Float($0) / 255).bitPattern })
    }
}
