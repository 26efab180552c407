import Foundation
import ReproImage
import ReproVision
import Testing
import _ReproTestSupport

/// The README's main command through the library: full-size `retinanet_resnet50_fpn_v2` from
/// `torch.manual_seed(3407)` (Repro's initialisation is torchvision's, bit for bit) on the built-in
/// sample scene and on a photo, against torchvision's detections (`detect/retinanet_v2_seed3407.json`,
/// `scripts/make_detect_reference.py`). The rule and its tolerances are
/// ``DetectionReference/mismatches(_:)``'s. About 2 s per image in release; in a debug build it
/// runs only with `REPRO_HEAVY_TESTS=1` (``DetectionReference/fullSizeModelRuns``).
@Suite(.serialized) struct RetinaNetDetectReferenceTests {
    @Test(.enabled(if: DetectionReference.fullSizeModelRuns, "full-size model: release builds, or REPRO_HEAVY_TESTS=1"))
    func seededV2MatchesTorchvisionOnTheSampleAndAPhoto() throws {
        let model = try RetinaNet(configuration: .v2, seed: 3407)
        for key in ["sample", "photo"] {
            let reference = try DetectionReference.load(key)
            let image = try Image(contentsOfFile: Fixtures.url(reference.file).path)
            // The same pixels as torchvision's input (Pillow's decode).
            #expect(image.width == reference.width && image.height == reference.height, "\(key)")
            #expect(image.rgbDigest == reference.pixelSHA256, "\(key): decoded pixels differ from Pillow's")
            let ours = try model.detect([image])[0].map {
                DetectionReference.Entry(box: [$0.box.x1, $0.box.y1, $0.box.x2, $0.box.y2], score: $0.score, label: $0.label)
            }
            #expect(!reference.detections.isEmpty, "\(key): the reference has no detection to compare")
            let problems = reference.mismatches(ours)
            #expect(problems.isEmpty, "\(key): \(problems.prefix(5).joined(separator: "; "))")
            let worst = reference.largestDifferences(ours)
            print("\(key): \(ours.count) detections vs torchvision's \(reference.detections.count); "
                  + "largest relative score difference \(worst.score), box difference \(worst.box) px")
        }
    }
}
