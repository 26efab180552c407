import Foundation
import ReproNN
import ReproTensor
import ReproVision
import Testing
import _ReproTestSupport

@Suite struct RetinaNetWeightsTests {
    @Test(arguments: [RetinaNetFixtureModels.mini, RetinaNetFixtureModels.miniV1])
    func recipeReproducesFixtureWeightsBitForBit(variant: RetinaNetFixtureModels.Variant) throws {
        let expected = try Fixtures.json(variant.directory + "/weights_sha256.json")
        let ours = try RetinaNetFixtureModels.stateDict(variant)
        #expect(Set(ours.keys) == Set(expected.keys), "state-dict keys differ from the fixture")
        var mismatched: [String] = []
        for key in expected.keys {
            guard let t = ours[key] else { continue }
            let shape = try expected[key]["shape"].array.map { Int(try $0.int64) }
            #expect(t.shape == shape, "\(key) shape")
            if try RetinaNetFixtureModels.rawSHA256(t) != expected[key]["sha256"].string { mismatched.append(key) }
        }
        #expect(mismatched.isEmpty, "\(mismatched.count) tensors differ, first: \(mismatched.prefix(8))")
    }

    @Test func parameterCountsMatchTorchvision() throws {
        #expect(try RetinaNet(configuration: .v2, seed: 0).parameterCount == 38_198_935)
        // v1 counts the frozen norms' weight and bias as buffers, as the COCO checkpoint's FrozenBatchNorm2d does.
        #expect(try RetinaNet(configuration: .v1, seed: 0).parameterCount == 34_014_999)
        #expect(try RetinaNet(configuration: .mini, seed: 0).parameterCount == 2_175_447)
    }
}
