import Foundation
import Testing
import _ReproTestSupport
@testable import ReproNN

@Suite struct OptimScheduleTests {
    static let fixture: Result<JSON, any Error> = Result { try Fixtures.json("optim/schedules.json") }

    static var names: [String] {
        ((try? fixture.get()["cases"].array) ?? []).compactMap { try? $0["name"].string }
    }

    static func entry(_ name: String) throws -> JSON {
        guard let e = try fixture.get()["cases"].array.first(where: { (try? $0["name"].string) == name }) else {
            throw FixtureError.malformed("no schedule \(name)")
        }
        return e
    }

    /// Doubles stored as base64 of little-endian IEEE 754 bytes.
    static func series(_ j: JSON) throws -> [UInt64] {
        guard let data = Data(base64Encoded: try j.string), data.count % 8 == 0 else { throw FixtureError.malformed("bad series") }
        return stride(from: 0, to: data.count, by: 8).map { o in
            (0..<8).reduce(UInt64(0)) { $0 | UInt64(data[data.startIndex + o + $1]) << (8 * UInt64($1)) }
        }
    }

    static func kind(_ s: JSON) throws -> LearningRateSchedule.Kind {
        func int(_ k: String) throws -> Int { Int(try s[k].int64) }
        func num(_ k: String, _ d: Double) throws -> Double { s.has(k) ? try double(s[k]) : d }
        switch try s["kind"].string {
        case "step": return .step(size: try int("step_size"), gamma: try double(s["gamma"]))
        case "multistep": return .multiStep(milestones: try s["milestones"].array.map { Int(try $0.int64) }, gamma: try double(s["gamma"]))
        case "exponential": return .exponential(gamma: try double(s["gamma"]))
        case "cosine": return .cosineAnnealing(tMax: try int("t_max"), etaMin: try double(s["eta_min"]))
        case "linear": return .linear(startFactor: try double(s["start_factor"]), endFactor: try double(s["end_factor"]),
                                      totalIterations: try int("total_iters"))
        case "onecycle":
            return .oneCycle(.init(
                maxLearningRates: try s["max_lr"].array.map(double), totalSteps: try int("total_steps"),
                pctStart: try num("pct_start", 0.3),
                cosineAnnealing: s.has("anneal_strategy") ? try s["anneal_strategy"].string == "cos" : true,
                cycleMomentum: s.has("cycle_momentum") ? try s["cycle_momentum"].bool : true,
                baseMomentum: try num("base_momentum", 0.85), maxMomentum: try num("max_momentum", 0.95),
                divFactor: try num("div_factor", 25), finalDivFactor: try num("final_div_factor", 1e4),
                threePhase: s.has("three_phase") ? try s["three_phase"].bool : false))
        case "sequential":
            return .sequential(try s["schedules"].array.map(kind), milestones: try s["milestones"].array.map { Int(try $0.int64) })
        default: throw FixtureError.malformed("unknown schedule \(s)")
        }
    }

    /// Runs a schedule over the two groups' base lrs and records every group's lr and momentum.
    static func run(_ e: JSON, steps: Int, resumeAt: Int? = nil) throws -> (lrs: [[UInt64]], momenta: [[UInt64]]) {
        var s = try LearningRateSchedule(kind(e["schedule"]), learningRates: [0.1, 0.037])
        var lrs = [s.learningRates.map(\.bitPattern)], moms = [s.momenta?.map(\.bitPattern) ?? []]
        for k in 1...steps {
            if k == resumeAt {
                s = try JSONDecoder().decode(LearningRateSchedule.self, from: JSONEncoder().encode(s))
            }
            try s.step()
            lrs.append(s.learningRates.map(\.bitPattern))
            moms.append(s.momenta?.map(\.bitPattern) ?? [])
        }
        return (lrs, moms)
    }

    /// 1,000 steps of each schedule: every learning rate (and OneCycleLR's momentum) equals
    /// torch's `get_last_lr()` double bit for bit.
    @Test(arguments: names)
    func matchesTorchBitForBit(_ name: String) throws {
        let e = try Self.entry(name)
        let steps = Int(try Self.fixture.get()["steps"].int64)
        #expect(steps == 1000)
        let (lrs, moms) = try Self.run(e, steps: steps)
        for (g, j) in try e["lrs"].array.enumerated() {
            let want = try Self.series(j)
            #expect(want.count == steps + 1)
            let got = lrs.map { $0[g] }
            let first = zip(got, want).enumerated().first { $0.element.0 != $0.element.1 }
            #expect(first == nil, "\(name) group \(g): first mismatch at epoch \(first?.offset ?? -1): \(Double(bitPattern: first?.element.0 ?? 0)) vs \(Double(bitPattern: first?.element.1 ?? 0))")
        }
        if e.has("momenta") {
            for (g, j) in try e["momenta"].array.enumerated() {
                #expect(moms.map { $0.isEmpty ? 0 : $0[g] } == (try Self.series(j)), "\(name) momentum group \(g)")
            }
        } else {
            #expect(moms.allSatisfy { $0.isEmpty })
        }
    }

    /// The recursive forms are what torch computes: a closed form would differ (so the test
    /// above can fail), e.g. ExponentialLR's `b·γ**e` differs from the fixture in most epochs.
    @Test func closedFormWouldNotMatch() throws {
        let want = try Self.series(Self.entry("exponential")["lrs"].array[0])
        let closed = (0...1000).map { (0.1 * PlatformMathProbe.pow(0.99, Double($0))).bitPattern }
        #expect(zip(closed, want).filter { $0 != $1 }.count > 500)
    }

    /// A schedule saved (JSON) mid-run and restored continues with the same bits.
    @Test(arguments: ["cosine_37_eta", "onecycle_three_phase", "sequential_three", "linear_long"])
    func saveRestoreContinues(_ name: String) throws {
        let e = try Self.entry(name)
        let full = try Self.run(e, steps: 600), resumed = try Self.run(e, steps: 600, resumeAt: 321)
        #expect(full.lrs == resumed.lrs && full.momenta == resumed.momenta)
    }

    /// Driving an optimizer: lr (and OneCycleLR's β₁) land in its groups.
    @Test func appliesToAnOptimizer() throws {
        var adam = try Adam(groups: [.init(parameters: [.init(name: "a", shape: [1])], options: .init(learningRate: 0.1)),
                                     .init(parameters: [.init(name: "b", shape: [1])], options: .init(learningRate: 0.037))])
        var s = try LearningRateSchedule(.oneCycle(.init(maxLearningRates: [0.01], totalSteps: 10)), learningRates: adam.learningRates)
        try s.step()
        try s.apply(to: &adam)
        #expect(adam.learningRates == s.learningRates)
        #expect(adam.groups.map(\.options.beta1) == s.momenta)
        for _ in 2...10 { try s.step() }
        #expect(throws: OptimizerError.scheduleExhausted(step: 11, totalSteps: 10)) { try s.step() }
    }

    @Test func invalidSchedulesAreRefused() throws {
        #expect(throws: OptimizerError.self) { _ = try LearningRateSchedule(.cosineAnnealing(tMax: 0, etaMin: 0), learningRates: [0.1]) }
        #expect(throws: OptimizerError.self) { _ = try LearningRateSchedule(.linear(startFactor: 0, endFactor: 1, totalIterations: 5), learningRates: [0.1]) }
        #expect(throws: OptimizerError.self) { _ = try LearningRateSchedule(.step(size: 0, gamma: 0.1), learningRates: [0.1]) }
        #expect(throws: OptimizerError.self) { _ = try LearningRateSchedule(.sequential([.exponential(gamma: 0.9)], milestones: [3]), learningRates: [0.1]) }
        #expect(throws: OptimizerError.self) { _ = try LearningRateSchedule(.oneCycle(.init(maxLearningRates: [0.1, 0.2, 0.3], totalSteps: 5)), learningRates: [0.1, 0.2]) }
        #expect(throws: OptimizerError.emptyParameterList) { _ = try LearningRateSchedule(.exponential(gamma: 0.9), learningRates: []) }
    }
}

/// libm `pow`, for the closed-form counter-example only.
enum PlatformMathProbe {
    static func pow(_ x: Double, _ y: Double) -> Double { Foundation.pow(x, y) }
}
