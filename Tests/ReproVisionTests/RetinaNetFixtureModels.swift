import Foundation
import ReproNN
import ReproRandom
import ReproTensor
import ReproVision
import _ReproTestSupport

/// The mini fixtures' weights, rebuilt in Swift: torchvision's initialisation from the
/// seed (`RetinaNet(configuration:seed:)`) plus the fixture recipe's perturbation
/// (make_retinanet_fixtures.py `perturb`, generator seed + 1, `named_modules()` order).
enum RetinaNetFixtureModels {
    struct Variant: Sendable {
        var directory: String
        var configuration: RetinaNetConfiguration
        var clsBias: Float
    }

    static let mini = Variant(directory: "retinanet/mini", configuration: .mini, clsBias: 0)
    static let miniV1 = Variant(directory: "retinanet/mini_v1", configuration: .miniV1, clsBias: -4.2)

    /// The recipe's state dict for a variant (seed 0, perturbation seed 1).
    static func stateDict(_ v: Variant, seed: Int64 = 0) throws -> [String: Tensor] {
        let c = v.configuration
        var values = try RetinaNet(configuration: c, seed: seed).stateDict
        var g = TorchGenerator(seed: seed + 1)
        func u(_ n: Int, _ lo: Float, _ hi: Float) throws -> [Float] {
            var r = [Float](repeating: 0, count: n)
            try TorchInit.uniform(&r, from: 0, to: 1, using: &g)
            return r.map { $0 * (hi - lo) + lo }
        }
        func nrm(_ n: Int, _ s: Float) throws -> [Float] {
            var r = [Float](repeating: 0, count: n)
            try TorchInit.normal(&r, mean: 0, std: 1, using: &g)
            return r.map { $0 * s }
        }
        func put(_ key: String, _ v: [Float]) throws {
            values[key] = try Tensor(shape: values[key]!.shape, scalars: v)
        }
        // Modules in named_modules() order = first appearance in the state-dict order.
        var modules: [String] = []
        for spec in c.parameterSpecs {
            let m = String(spec.name[..<spec.name.lastIndex(of: ".")!])
            if modules.last != m { modules.append(m) }
        }
        for m in modules {
            let keys = Set(c.parameterSpecs.map(\.name).filter { $0.hasPrefix(m + ".") })
            if keys.contains(m + ".running_mean") {
                let n = values[m + ".weight"]!.count
                try put(m + ".weight", u(n, 0.5, 1.5))
                try put(m + ".bias", nrm(n, 0.1))
                try put(m + ".running_mean", nrm(n, 0.1))
                try put(m + ".running_var", u(n, 0.5, 2.0))
            } else if m.hasPrefix("head.") && m.hasSuffix(".1") && c.style == .v2 {   // GroupNorm
                let n = values[m + ".weight"]!.count
                try put(m + ".weight", u(n, 0.5, 1.5))
                try put(m + ".bias", nrm(n, 0.1))
            } else if keys.contains(m + ".bias") && !m.hasSuffix("cls_logits") {
                try put(m + ".bias", nrm(values[m + ".bias"]!.count, 0.01))
            }
        }
        if c.style == .v1 {
            for branch in ["classification_head", "regression_head"] {
                for i in 0..<4 {
                    let key = "head.\(branch).conv.\(i).0.weight"
                    let w = values[key]!
                    let fanIn = w.count / w.shape[0]
                    try put(key, nrm(w.count, Float((2.0 / Double(fanIn)).squareRoot())))
                }
            }
        }
        let clsKey = "head.classification_head.cls_logits.bias"
        try put(clsKey, [Float](repeating: v.clsBias, count: values[clsKey]!.count))
        return values
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

    /// The recipe model, loaded strictly.
    static func model(_ v: Variant) throws -> RetinaNet {
        let c = v.configuration
        var store = try ParameterStore(specs: c.parameterSpecs)
        for (k, t) in try stateDict(v) { try store.set(k, t) }
        return try RetinaNet(configuration: c, parameters: store)
    }
}
