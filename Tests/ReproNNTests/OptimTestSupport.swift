import Foundation
import ReproTensor
import _ReproTestSupport
@testable import ReproNN

/// The optimizer fixtures of scripts/make_optimizer_fixtures.py.
struct OptimFixture {
    let meta: JSON
    let tensors: StateDict
    let names: [String]
    let shapes: [[Int]]

    static let shared: Result<OptimFixture, any Error> = Result {
        OptimFixture(
            meta: try Fixtures.json("optim/optimizers.json"),
            tensors: try StateDict(bytes: [UInt8](Fixtures.data("optim/optimizers.safetensors"))))
    }

    init(meta: JSON, tensors: StateDict) {
        self.meta = meta
        self.tensors = tensors
        names = ((try? meta["names"].array) ?? []).compactMap { try? $0.string }
        shapes = ((try? meta["shapes"].array) ?? []).map { ((try? $0.array) ?? []).compactMap { try? Int($0.int64) } }
    }

    static func load() throws -> OptimFixture { try shared.get() }

    func tensor(_ key: String) throws -> Tensor { try Tensor(checkpoint: tensors.tensor(key), name: key) }

    func config(_ name: String) throws -> JSON {
        guard let c = try meta["configs"].array.first(where: { (try? $0["name"].string) == name }) else {
            throw FixtureError.malformed("no configuration \(name)")
        }
        return c
    }

    var configNames: [String] { ((try? meta["configs"].array) ?? []).compactMap { try? $0["name"].string } }

    /// `steps` gradient lists, `nil` where the configuration leaves a gradient out.
    func gradients(_ config: JSON, steps: Range<Int>) throws -> [[Tensor?]] {
        let none = try config["none_gradients"].array.map { try $0.array.map { Int(try $0.int64) } }
        return try steps.map { s in
            try names.indices.map { i in none.contains([s, i]) ? nil : try tensor("gradient.\(s).\(names[i])") }
        }
    }
}

/// A number of the JSON fixture (JSON numbers written by Python's `repr`, which round-trip).
func double(_ j: JSON) throws -> Double {
    guard let n = j.raw as? NSNumber else { throw FixtureError.malformed("not a number: \(j)") }
    return n.doubleValue
}

/// The float32 bit patterns of a tensor.
func bits(_ t: Tensor) throws -> [UInt32] { try t.scalars(as: Float.self).map(\.bitPattern) }

/// Builds SGD or Adam from a fixture configuration; parameters are listed in group order.
enum AnyOptimizer {
    case sgd(SGD)
    case adam(Adam)

    init(_ config: JSON, names: [String], shapes: [[Int]], arithmetic: TorchArithmetic) throws {
        let kind = try config["optimizer"].string
        func params(_ g: JSON) throws -> [OptimizedParameter] {
            try g["params"].array.map { let i = Int(try $0.int64); return OptimizedParameter(name: names[i], shape: shapes[i]) }
        }
        func num(_ g: JSON, _ k: String, _ d: Double) throws -> Double { g.has(k) ? try double(g[k]) : d }
        func flag(_ g: JSON, _ k: String) throws -> Bool { g.has(k) ? try g[k].bool : false }
        if kind == "sgd" {
            let groups = try config["groups"].array.map { g in
                ParameterGroup(parameters: try params(g), options: SGD.Options(
                    learningRate: try double(g["lr"]), momentum: try num(g, "momentum", 0), dampening: try num(g, "dampening", 0),
                    weightDecay: try num(g, "weight_decay", 0), nesterov: try flag(g, "nesterov"), maximize: try flag(g, "maximize")))
            }
            self = .sgd(try SGD(groups: groups, arithmetic: arithmetic))
        } else {
            let decoupled = kind == "adamw"
            let groups = try config["groups"].array.map { g in
                let betas = g.has("betas") ? try g["betas"].array.map(double) : [0.9, 0.999]
                return ParameterGroup(parameters: try params(g), options: Adam.Options(
                    learningRate: try num(g, "lr", 1e-3), betas: (betas[0], betas[1]), eps: try num(g, "eps", 1e-8),
                    weightDecay: try num(g, "weight_decay", decoupled ? 1e-2 : 0), amsgrad: try flag(g, "amsgrad"),
                    maximize: try flag(g, "maximize"), decoupledWeightDecay: decoupled))
            }
            self = .adam(try Adam(groups: groups, arithmetic: arithmetic))
        }
    }

    var parameters: [OptimizedParameter] {
        switch self {
        case .sgd(let o): return o.parameters
        case .adam(let o): return o.parameters
        }
    }

    var state: OptimizerState {
        switch self {
        case .sgd(let o): return o.state
        case .adam(let o): return o.state
        }
    }

    mutating func step(_ p: inout [Tensor], gradients: [Tensor?]) throws {
        switch self {
        case .sgd(var o): try o.step(&p, gradients: gradients); self = .sgd(o)
        case .adam(var o): try o.step(&p, gradients: gradients); self = .adam(o)
        }
    }

    func savedState() -> [(name: String, tensor: Tensor)] {
        switch self {
        case .sgd(let o): return o.savedState()
        case .adam(let o): return o.savedState()
        }
    }

    mutating func restoreState(_ s: [(name: String, tensor: Tensor)]) throws {
        switch self {
        case .sgd(var o): try o.restoreState(s); self = .sgd(o)
        case .adam(var o): try o.restoreState(s); self = .adam(o)
        }
    }
}
