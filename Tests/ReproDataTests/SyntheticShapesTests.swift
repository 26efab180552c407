import Foundation
import Testing
import ReproImage
import ReproRandom
import _ReproTestSupport
@testable import ReproData

@Suite struct SyntheticShapesTests {
    /// SHA-256 of the RGB bytes (`Image.rgbDigest`) of a few samples, computed once with a debug
    /// build; any change to the generator changes them.
    @Test(arguments: [
        (UInt64(0), SyntheticShapes.Split.train, 32, 0, "ad9d8f399429a807a033ac123bbd31346caca3dc44d67d589d5e2d809b78e7cf"),
        (UInt64(0), SyntheticShapes.Split.train, 32, 7, "fbf313759eb75a933026110304d3bd8332b6f13ec57eaa4aa7c4f0a1de33f87c"),
        (UInt64(0), SyntheticShapes.Split.train, 32, 9_999, "8b0dcdaabec89da360aa2286724afa08d0b1d93fc5772dae4940c1b0fb27e934"),
        (UInt64(0), SyntheticShapes.Split.validation, 32, 4, "fca5f46e7579a7ef1f2360f64130f81c543b57d931111335011c2f76afdbba8a"),
        (UInt64(1234), SyntheticShapes.Split.train, 64, 5, "d04ca8e4c539d17589d098586e72f834919bd9a4358f47c9472bcde8cfa2c3b5"),
        (UInt64.max, SyntheticShapes.Split.validation, 8, 1, "25ed73d13dabf970a7b04ee7276d2bb051abbbed2eccc48ac687c214ee445cb6"),
    ])
    func pinnedSamples(seed: UInt64, split: SyntheticShapes.Split, size: Int, index: Int, sha256: String) throws {
        let ds = try SyntheticShapes(seed: seed, split: split, imageSize: size)
        let s = try ds.sample(at: index)
        #expect(s.image.width == size && s.image.height == size && s.image.channels == 3)
        #expect(s.label == index % 10)
        #expect(s.image.rgbDigest == sha256, "seed \(seed) \(split) size \(size) index \(index)")
    }

    @Test func samplesDoNotDependOnOrderOrThread() throws {
        let ds = try SyntheticShapes(seed: 42, count: 64)
        let forward = try (0..<64).map { try ds.sample(at: $0) }
        // Another instance, reverse order.
        let other = try SyntheticShapes(seed: 42, count: 64)
        for i in (0..<64).reversed() { #expect(try other.sample(at: i) == forward[i], "index \(i)") }
        // Concurrently, on many threads.
        final class Box: @unchecked Sendable { var items = [LabeledImage?](repeating: nil, count: 64); let lock = NSLock() }
        let box = Box()
        DispatchQueue.concurrentPerform(iterations: 64) { i in
            let s = try? ds.sample(at: 63 - i)
            box.lock.withLock { box.items[63 - i] = s }
        }
        #expect(box.items.map { $0?.image } == forward.map(\.image))
        // The count does not change a sample; the data loader with workers gives the same images.
        #expect(try SyntheticShapes(seed: 42, count: 1000).sample(at: 17) == forward[17])
        let loader = try DataLoader(dataset: ds, batchSize: 8, shuffle: .counterBased, seed: 5, workers: 3, collate: { $0 })
        var seen: [Int: LabeledImage] = [:]
        for batch in loader {
            let b = try batch.get()
            for (i, s) in zip(b.indices, b.value) { seen[i] = s }
        }
        #expect(seen.count == 64)
        for (i, s) in seen { #expect(s == forward[i]) }
    }

    @Test func splitsAndSeedsGiveDifferentImages() throws {
        let train = try SyntheticShapes(seed: 0, split: .train, count: 100)
        let val = try SyntheticShapes(seed: 0, split: .validation, count: 100)
        let otherSeed = try SyntheticShapes(seed: 1, split: .train, count: 100)
        #expect(val.count == 100)
        #expect(try SyntheticShapes(split: .validation).count == 2_000)
        #expect(try SyntheticShapes().count == 10_000)
        var digests = Set<String>()
        for i in 0..<100 {
            digests.insert(try train.sample(at: i).image.rgbDigest)
            digests.insert(try val.sample(at: i).image.rgbDigest)
            digests.insert(try otherSeed.sample(at: i).image.rgbDigest)
        }
        #expect(digests.count == 300)
    }

    @Test func classesAreBalanced() throws {
        let ds = try SyntheticShapes(seed: 3, count: 1_000)
        var counts = [Int](repeating: 0, count: 10)
        for i in 0..<ds.count { counts[try ds.sample(at: i).label] += 1 }
        #expect(counts == [Int](repeating: 100, count: 10))
        #expect(SyntheticShapes.shapeNames.count == SyntheticShapes.classCount)
    }

    /// Colours are drawn independently of the class: a nearest-centroid classifier on the mean
    /// colour (fitted on 1 000 training images, scored on 500 validation images) stays near
    /// chance (10 %), while the same classifier on a shape feature — the fraction of pixels
    /// whose colour is the corner pixel's — does much better.
    @Test func meanColourDoesNotRevealTheClass() throws {
        func meanColour(_ img: Image) -> [Double] {
            var m = [0.0, 0.0, 0.0]
            for (i, v) in img.pixels.enumerated() { m[i % 3] += Double(v) }
            return m.map { $0 / Double(img.width * img.height) }
        }
        func accuracy(_ feature: (Image) -> [Double]) throws -> Double {
            let train = try SyntheticShapes(seed: 9, split: .train, count: 1_000)
            var sums = [[Double]](repeating: [], count: 10), counts = [Double](repeating: 0, count: 10)
            for i in 0..<train.count {
                let s = try train.sample(at: i), f = feature(s.image)
                sums[s.label] = sums[s.label].isEmpty ? f : zip(sums[s.label], f).map(+)
                counts[s.label] += 1
            }
            let centroids = (0..<10).map { c in sums[c].map { $0 / counts[c] } }
            let val = try SyntheticShapes(seed: 9, split: .validation, count: 500)
            var right = 0
            for i in 0..<val.count {
                let s = try val.sample(at: i), f = feature(s.image)
                let d = centroids.map { zip($0, f).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } }
                if d.firstIndex(of: d.min()!)! == s.label { right += 1 }
            }
            return Double(right) / Double(val.count)
        }
        let byColour = try accuracy(meanColour)
        #expect(byColour < 0.2, "mean colour classifies \(byColour)")
        let byArea = try accuracy { img in
            let corner = Array(img.pixels[0..<3])
            var same = 0.0
            for p in stride(from: 0, to: img.pixels.count, by: 3)
            where (0..<3).allSatisfy({ abs(Int(img.pixels[p + $0]) - Int(corner[$0])) <= 30 }) { same += 1 }
            return [same / Double(img.width * img.height)]
        }
        #expect(byArea > byColour + 0.05, "a shape feature (\(byArea)) beats mean colour (\(byColour))")
    }

    @Test func badArgumentsAreTypedErrors() throws {
        #expect(throws: SyntheticShapesError.invalidCount(0)) { _ = try SyntheticShapes(count: 0) }
        #expect(throws: SyntheticShapesError.invalidCount(-3)) { _ = try SyntheticShapes(count: -3) }
        #expect(throws: SyntheticShapesError.invalidCount(1 << 32)) { _ = try SyntheticShapes(count: 1 << 32) }
        #expect(throws: SyntheticShapesError.invalidImageSize(7)) { _ = try SyntheticShapes(imageSize: 7) }
        #expect(throws: SyntheticShapesError.invalidImageSize(1025)) { _ = try SyntheticShapes(imageSize: 1025) }
        #expect(SyntheticShapesError.invalidImageSize(7).description.contains("7"))
        let ds = try SyntheticShapes(count: 10)
        for index in [10, -1] {
            #expect { _ = try ds.sample(at: index) } throws: { error in
                guard case .indexOutOfRange(index, 10) = error as? DataLoaderError else { return false }
                return true
            }
        }
    }
}

@Suite struct ToTensorNormalizeTests {
    /// torchvision `ToTensor` + `Normalize(ImageNet)` bit for bit (scripts/make_normalize_fixture.py,
    /// which also checks that torch divides by std rather than multiplying by its reciprocal).
    @Test func matchesTorchvisionBitForBit() throws {
        let ref = try Fixtures.json("data/to_tensor_normalize.json")
        let h = Int(try ref["height"].int64), w = Int(try ref["width"].int64)
        var pixels = [UInt8](repeating: 0, count: h * w * 3)
        for i in 0..<(h * w) { for c in 0..<3 { pixels[i * 3 + c] = UInt8((i * 7 + c * 85) % 256) } }
        let x = try ToTensorNormalize(height: h, width: w).apply(try Image(width: w, height: h, channels: 3, pixels: pixels))
        let want = try ref["chw_float32_bits"].array.map { UInt32(bitPattern: Int32(try $0.int64)) }
        #expect(x.channels == 3 && x.height == h && x.width == w)
        #expect(x.values.map(\.bitPattern) == want)
    }

    @Test func refusesAnotherSize() throws {
        let img = Image(width: 5, height: 4)
        #expect(throws: TransformError.self) { _ = try ToTensorNormalize(height: 4, width: 6).apply(img) }
        #expect(throws: TransformError.self) { _ = try ToTensorNormalize(height: 3, width: 5).apply(img) }
        #expect(try ToTensorNormalize().apply(img).width == 5)
        let grey = Image(width: 5, height: 4, channels: 1)
        #expect(throws: TransformError.self) { _ = try ToTensorNormalize().apply(grey) }
    }
}
