import ReproNN
import ReproTensor
import _ReproTestSupport

/// Reading torch fixtures and comparing gradients, shared by the autograd tests.
enum AutogradFixture {
    static func load(_ name: String) throws -> StateDict {
        try StateDict(bytes: [UInt8](Fixtures.data("autograd/\(name)")))
    }

    /// A fixture tensor; 4-d tensors come back NHWC (torch stores NCHW).
    static func tensor(_ dict: StateDict, _ key: String, nhwc: Bool = true) throws -> Tensor {
        let t = try Tensor(checkpoint: dict.tensor(key), name: key)
        return nhwc && t.rank == 4 ? try t.nhwcFromNCHW() : t
    }

    /// ``maxRelativeDifference(_:_:)`` of two tensors' values.
    static func relativeError(_ a: Tensor, _ b: Tensor) throws -> Float {
        try maxRelativeDifference(a.contiguous().scalars(), b.contiguous().scalars())
    }
}
