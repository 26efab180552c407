import ReproNN
import ReproTensor
import _ReproTestSupport

/// Reads the autograd fixtures (NHWC for 4-d tensors) and compares against them.
enum TorchGradientFixture {
    static func load(_ name: String) throws -> StateDict { try StateDict(bytes: [UInt8](Fixtures.data("autograd/\(name)"))) }

    /// A fixture tensor; with `nhwc` a 4-d activation comes back NHWC (torch stores NCHW).
    static func tensor(_ dict: StateDict, _ key: String, nhwc: Bool = false) throws -> Tensor {
        let t = try Tensor(checkpoint: dict.tensor(key), name: key)
        return nhwc && t.rank == 4 ? try t.nhwcFromNCHW() : t
    }
}
