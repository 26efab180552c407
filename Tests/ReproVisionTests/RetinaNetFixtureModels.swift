import Foundation
import ReproNN
import ReproRandom
import ReproTensor
import ReproVision
import _ReproTestSupport

/// The mini fixtures' weights, rebuilt in Swift: torchvision's initialisation from the
/// seed (`RetinaNet(configuration:seed:)`) plus the fixture recipe's perturbation
/// (make_retinanet_fixtures.py `perturb`, generator seed + 1, `named_modules()` order),
/// applied by walking the model tree.
enum RetinaNetFixtureModels {
    struct Variant: Sendable {
        var directory: String
        var configuration: RetinaNetConfiguration
        var clsBias: Float
    }

    static let mini = Variant(directory: "retinanet/mini", configuration: .mini, clsBias: 0)
    static let miniV1 = Variant(directory: "retinanet/mini_v1", configuration: .miniV1, clsBias: -4.2)

    /// The recipe's `perturb`: per module in `named_modules()` order (= walk order), norms get
    /// weight U(0.5, 1.5), bias N(0, 0.1²), and batch norms mean N(0, 0.1²), var U(0.5, 2);
    /// other biases (not `cls_logits`) N(0, 0.01²).
    struct Perturbation: ModuleVisitor {
        var g: TorchGenerator

        mutating func uniform(_ n: Int, _ lo: Float, _ hi: Float) throws -> [Float] {
            var r = [Float](repeating: 0, count: n)
            try TorchInit.uniform(&r, from: 0, to: 1, using: &g)
            return r.map { $0 * (hi - lo) + lo }
        }

        mutating func normal(_ n: Int, _ s: Float) throws -> [Float] {
            var r = [Float](repeating: 0, count: n)
            try TorchInit.normal(&r, mean: 0, std: 1, using: &g)
            return r.map { $0 * s }
        }

        mutating func values(_ key: String, _ t: Tensor, _ info: ParameterInfo) throws -> [Float]? {
            let n = t.count
            switch (info.layer, info.name) {
            case (.batchNorm2d, "weight"), (.frozenBatchNorm2d, "weight"), (.groupNorm, "weight"): return try uniform(n, 0.5, 1.5)
            case (.batchNorm2d, "bias"), (.frozenBatchNorm2d, "bias"), (.groupNorm, "bias"): return try normal(n, 0.1)
            case (.batchNorm2d, "running_mean"), (.frozenBatchNorm2d, "running_mean"): return try normal(n, 0.1)
            case (.batchNorm2d, "running_var"), (.frozenBatchNorm2d, "running_var"): return try uniform(n, 0.5, 2.0)
            case (.conv2d, "bias") where !key.hasSuffix("cls_logits.bias"): return try normal(n, 0.01)
            default: return nil
            }
        }

        mutating func visit(_ key: String, _ tensor: inout Tensor, _ info: ParameterInfo) throws(ModuleError) {
            do {
                if let v = try values(key, tensor, info) { tensor = try Tensor(shape: tensor.shape, scalars: v) }
            } catch { throw .invalidConfiguration("\(key): \(error)") }
        }
    }

    /// v1 recipe tail: the head towers' weights get N(0, 2 / fan_in), then `cls_logits.bias` a constant.
    struct V1TowersAndClassBias: ModuleVisitor {
        var g: TorchGenerator
        let v1: Bool
        let clsBias: Float

        mutating func visit(_ key: String, _ tensor: inout Tensor, _ info: ParameterInfo) throws(ModuleError) {
            do {
                if v1, info.layer == .conv2d, info.name == "weight", key.hasPrefix("head."), key.contains(".conv.") {
                    var r = [Float](repeating: 0, count: tensor.count)
                    try TorchInit.normal(&r, mean: 0, std: 1, using: &g)
                    let s = Float((2.0 / Double(tensor.count / tensor.shape[0])).squareRoot())
                    tensor = try Tensor(shape: tensor.shape, scalars: r.map { $0 * s })
                } else if key.hasSuffix("cls_logits.bias") {
                    tensor = try Tensor(repeating: clsBias, shape: tensor.shape)
                }
            } catch { throw .invalidConfiguration("\(key): \(error)") }
        }
    }

    /// The recipe model (seed 0, perturbation seed 1), prepared.
    static func model(_ v: Variant, seed: Int64 = 0) throws -> RetinaNet {
        var model = try RetinaNet(configuration: v.configuration, seed: seed)
        let p = try model.visit(with: Perturbation(g: TorchGenerator(seed: seed + 1)))
        _ = try model.visit(with: V1TowersAndClassBias(g: p.g, v1: v.configuration.style == .v1, clsBias: v.clsBias))
        try model.prepare(in: .root)
        return model
    }

    /// The recipe's state dict for a variant.
    static func stateDict(_ v: Variant, seed: Int64 = 0) throws -> [String: Tensor] {
        try model(v, seed: seed).stateDict
    }

    /// SHA-256 of a tensor's little-endian element bytes (what safetensors stores).
    static func rawSHA256(_ t: Tensor) throws -> String {
        switch t.dtype {
        case .int64:
            let v: [Int64] = try t.scalars()
            return sha256Hex(v.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) })
        default:
            let v: [Float] = try t.scalars()
            return sha256Hex(v.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) })
        }
    }
}
