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

    @Test func parameterCountsMatchTorchvision() {
        #expect(RetinaNetConfiguration.v2.parameterCount == 38_198_935)
        #expect(RetinaNetConfiguration.v1.parameterCount == 34_014_999)
        #expect(RetinaNetConfiguration.mini.parameterCount == 2_175_447)
    }
}
