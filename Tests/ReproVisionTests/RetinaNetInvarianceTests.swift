import Foundation
import ReproImage
import ReproTensor
import ReproVision
import Testing
import _ReproTestSupport

/// Bitwise invariance of detections: repeated runs, thread counts, batch composition.
@Suite(.serialized) struct RetinaNetInvarianceTests {
    static func bits(_ dets: [Detection]) -> [UInt32] {
        dets.flatMap { [$0.box.x1, $0.box.y1, $0.box.x2, $0.box.y2, $0.score].map(\.bitPattern) + [UInt32($0.label)] }
    }

    static func image(_ name: String) throws -> Image {
        try Image(contentsOfFile: Fixtures.url("retinanet/images/\(name).png").path)
    }

    @Test func identicalBitsAcrossRunsThreadsAndBatches() throws {
        // The fixture recipe (cls bias 0) gives 300 detections; plain torchvision init gives none.
        let model = try RetinaNetFixtureModels.model(RetinaNetFixtureModels.mini)
        let coffee = try Self.image("img0_coffee_154x231"), synthetic = try Self.image("img1_synthetic_300x120")
        let reference = try model.detect([coffee])[0]
        #expect(reference.count == 300)
        #expect(Self.bits(try model.detect([coffee])[0]) == Self.bits(reference), "second run")
        for threads in [1, 2, 4] {
            var settings = Runtime.settings
            settings.threads = threads
            // A pool of its own: the shared pool may be busy with another test, and the
            // kernels would then run on this thread alone. Its statistics show they did not.
            let pool = ThreadPool()
            let dets = try Runtime.withSettings(settings) { try Runtime.withThreadPool(pool) { try model.detect([coffee])[0] } }
            #expect(Self.bits(dets) == Self.bits(reference), "threads \(threads)")
            let ran = pool.statistics
            #expect(ran.serialFallbacks == 0 && ran.largestTeam == (threads > 1 ? threads : 0), "threads \(threads): \(ran)")
        }
        // Alone vs in a batch of three (larger and smaller companions, any position).
        let batch = try model.detect([synthetic, coffee, synthetic])
        #expect(Self.bits(batch[1]) == Self.bits(reference), "batch of 3")
        #expect(Self.bits(batch[0]) == Self.bits(batch[2]), "same image twice in a batch")
        #expect(Self.bits(batch[0]) == Self.bits(try model.detect([synthetic])[0]), "synthetic alone")
    }
}

/// Debug and release builds must compute the same bits: the SHA-256 of the mini recipe's
/// detections on the coffee image is pinned (value produced by a debug build; CI runs
/// `swift test -c release`, so a release build is checked against it).
@Suite struct RetinaNetBuildInvarianceTests {
    static let expectedSHA256 = "d6991dfd05e54b13e84c3c547e56fb7125cd36deae97280e07917b9012298b4f"

    @Test func detectionBitsArePinnedAcrossBuilds() throws {
        let model = try RetinaNetFixtureModels.model(RetinaNetFixtureModels.mini)
        let dets = try model.detect([try RetinaNetInvarianceTests.image("img0_coffee_154x231")])[0]
        let bytes = RetinaNetInvarianceTests.bits(dets).flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) }
        #expect(sha256Hex(bytes) == Self.expectedSHA256)
    }
}
