import ReproTensor
@testable import ReproVision
import Testing

/// The input transform's one-pass canvas against a scalar reference, on the fast path (normalise while
/// padding), the kept-resized path and the resize path, at 1–4 threads proven to run.
@Suite struct RetinaNetTransformTests {
    static func bits(_ t: Tensor) throws -> [UInt32] { try t.scalars(as: Float.self).map(\.bitPattern) }

    /// `[1, 3, h, w]` values in [0, 1], like `to_tensor`'s.
    static func image(height h: Int, width w: Int) throws -> Tensor {
        try Tensor(shape: [1, 3, h, w], scalars: (0..<(3 * h * w)).map { Float(($0 &* 7919) % 256) / 255 })
    }

    /// NCHW `[3, h, w]` → zero-padded NHWC `[hp, wp, 3]`, normalised first when `c` is given.
    static func reference(_ x: [Float], height h: Int, width w: Int, paddedHeight hp: Int, paddedWidth wp: Int,
                          normalizing c: RetinaNetConfiguration?) -> [UInt32] {
        var out = [Float](repeating: 0, count: hp * wp * 3)
        for ch in 0..<3 {
            for y in 0..<h {
                for x0 in 0..<w {
                    let v = x[(ch * h + y) * w + x0]
                    out[(y * wp + x0) * 3 + ch] = c.map { (v - $0.imageMean[ch]) / $0.imageStd[ch] } ?? v
                }
            }
        }
        return out.map(\.bitPattern)
    }

    @Test func canvasEqualsScalarReference() throws {
        var c = RetinaNetConfiguration.v2
        c.minSize = 45
        c.maxSize = 100
        let x = try Self.image(height: 45, width: 61)
        let values: [Float] = try x.scalars()
        let fast = try RetinaNet.transform(x, configuration: c, keepResized: false)
        #expect(fast.resized == nil && fast.height == 45 && fast.width == 61)
        #expect(fast.canvasNHWC.shape == [1, 64, 64, 3])
        let expected = Self.reference(values, height: 45, width: 61, paddedHeight: 64, paddedWidth: 64, normalizing: c)
        #expect(try Self.bits(fast.canvasNHWC) == expected)
        // Kept for a trace: the normalised image is returned and the canvas is the same.
        let kept = try RetinaNet.transform(x, configuration: c, keepResized: true)
        #expect(try Self.bits(kept.canvasNHWC) == expected)
        let normalised = try #require(kept.resized)
        #expect(try Self.bits(normalised) == values.enumerated().map { i, v in
            ((v - c.imageMean[i / (45 * 61)]) / c.imageStd[i / (45 * 61)]).bitPattern
        })
        // A resize: the canvas holds the resized (already normalised) image as it is.
        c.minSize = 60
        c.maxSize = 200
        let grown = try RetinaNet.transform(x, configuration: c, keepResized: false)
        let resized = try #require(grown.resized)
        #expect(resized.shape == [1, 3, grown.height, grown.width] && grown.height == 60)
        let hp = grown.canvasNHWC.shape[1], wp = grown.canvasNHWC.shape[2]
        #expect(hp % 32 == 0 && wp % 32 == 0 && hp > grown.height && wp > grown.width)
        #expect(try Self.bits(grown.canvasNHWC) == Self.reference(try resized.scalars(), height: grown.height, width: grown.width,
                                                                 paddedHeight: hp, paddedWidth: wp, normalizing: nil))
    }

    @Test func canvasIsThreadInvariant() throws {
        var c = RetinaNetConfiguration.v2
        c.minSize = 45
        c.maxSize = 100
        let x = try Self.image(height: 45, width: 61)   // 64 canvas rows, 135 normalisation rows: every thread works
        var reference: [[UInt32]] = []
        for threads in [1, 2, 3, 4] {
            var settings = Runtime.settings
            settings.threads = threads
            let pool = ThreadPool()
            let (fast, kept) = try Runtime.withSettings(settings) {
                try Runtime.withThreadPool(pool) {
                    (try RetinaNet.transform(x, configuration: c, keepResized: false),
                     try RetinaNet.transform(x, configuration: c, keepResized: true))
                }
            }
            let got = [try Self.bits(fast.canvasNHWC), try Self.bits(kept.canvasNHWC), try Self.bits(try #require(kept.resized))]
            if reference.isEmpty { reference = got } else { #expect(got == reference, "threads \(threads)") }
            let ran = pool.statistics
            #expect(ran.serialFallbacks == 0 && ran.largestTeam == (threads > 1 ? threads : 0), "threads \(threads): \(ran)")
        }
    }
}
