import Foundation
import Testing
import _ReproTestSupport
import Repro

/// `Reproducibility.seed(_:)` and the default generators. Serialized: these tests share
/// the process-wide defaults.
@Suite(.serialized) struct SeedingTests {
    @Test func seedsEachGeneratorAsItsLibraryWould() throws {
        let report = Reproducibility.seed(42)
        let g = Reproducibility.defaultGenerators
        #expect(g.python == PythonRandom(seed: 42))
        #expect(g.philox == Philox4x32(seed: 42))
        #expect(report.seeded.map(\.source) == [.pythonRandom, .philox4x32, .torchCPU, .numpyLegacy, .numpyDefaultRNG])
        #expect(g.torch == TorchGenerator(seed: UInt64(42)))
        #expect(g.numpyLegacy == NumPyRandomState(seed: 42))
        #expect(g.numpy == NumPyGenerator(seed: 42))
        #expect(report.seed == IntegerSeed(42))
        #expect(Reproducibility.lastSeedReport == report)
        // random.seed(42); random.random() from python_random.json.
        let first = try Fixtures.json("rng/python_random.json")["seeds"]["42"]["random_10"].f64Bits[0]
        #expect(Reproducibility.withDefaultGenerators { $0.python.random() }.bitPattern == first)
    }

    @Test func drawsAdvanceAndReseedingResets() {
        Reproducibility.seed(7)
        let a = Reproducibility.withDefaultGenerators { g in (g.python.random(), g.philox.next32()) }
        let b = Reproducibility.withDefaultGenerators { g in (g.python.random(), g.philox.next32()) }
        #expect(a != b)
        Reproducibility.seed(7)
        let c = Reproducibility.withDefaultGenerators { g in (g.python.random(), g.philox.next32()) }
        #expect(a == c)
        #expect(DefaultGenerators(seed: 7) != Reproducibility.defaultGenerators)
    }

    @Test func unseededDefaultsEqualSeedZero() {
        #expect(DefaultGenerators() == DefaultGenerators(seed: 0))
        let d = DefaultGenerators(seed: 0)
        #expect(d.python == PythonRandom(seed: 0))
        #expect(d.philox == Philox4x32(seed: 0))
    }

    @Test func seedsOutsideALibraryRangeAreReportedAndKeepState() throws {
        Reproducibility.seed(5)
        let before = Reproducibility.defaultGenerators.philox
        let big = try IntegerSeed(parsing: "1267650600228229401496703205383")   // 2^100 + 7
        let report = Reproducibility.seed(big)
        #expect(report.seeded.map(\.source) == [.pythonRandom, .numpyDefaultRNG])
        #expect(report.unreachable.contains { $0.source == .philox4x32 && $0.detail.contains("outside") })
        #expect(report.unreachable.contains { $0.source == .torchCPU && $0.detail.contains("raises") })
        #expect(report.unreachable.contains { $0.source == .numpyLegacy && $0.detail.contains("raises") })
        #expect(Reproducibility.defaultGenerators.numpyLegacy == NumPyRandomState(seed: 5))
        #expect(Reproducibility.defaultGenerators.numpy == NumPyGenerator(seedSequence: SeedSequence(bigEntropy: [7, 0, 0, 16])))
        #expect(Reproducibility.defaultGenerators.philox == before)
        #expect(Reproducibility.defaultGenerators.python == PythonRandom(seedWords: [7, 0, 0, 16]))
        // Negative seeds: CPython uses |s|, torch-style 64-bit mapping for Philox.
        Reproducibility.seed(-1)
        #expect(Reproducibility.defaultGenerators.python == PythonRandom(seed: 1))
        #expect(Reproducibility.defaultGenerators.philox == Philox4x32(seed: .max))
        #expect(Reproducibility.defaultGenerators.torch.initialSeed == .max)  // torch.manual_seed(-1) keeps 2^64 - 1
        #expect(try IntegerSeed(parsing: "-9223372036854775808").torchSeed == 1 << 63)
        #expect(try IntegerSeed(parsing: "-9223372036854775809").torchSeed == nil)
        #expect(try IntegerSeed(parsing: "18446744073709551615").torchSeed == .max)
        #expect(try IntegerSeed(parsing: "18446744073709551616").torchSeed == nil)
    }

    @Test func reportListsWhatNoSeedReaches() {
        let report = Reproducibility.seed(1)
        let sources = report.unreachable.map(\.source)
        #expect(sources.contains(.systemRandom))
        #expect(sources.contains(.gpuGenerators))
        #expect(sources.contains(.threadScheduling))
        let deterministic = ProcessInfo.processInfo.environment["SWIFT_DETERMINISTIC_HASHING"].map {
            $0.first.map { "1tTyY".contains($0) } ?? false
        } ?? false
        #expect(report.hashingIsDeterministic == deterministic)
        #expect(sources.contains(.swiftHashing) == !deterministic)
        #expect(report.description.hasPrefix("Reproducibility.seed(1)\n  seeded      python.random: random.seed(1)"))
        #expect(!sources.contains(.numpyLegacy) && !sources.contains(.numpyDefaultRNG) && !sources.contains(.torchCPU))
    }

    @Test func concurrentDrawsAreSerialisedByTheLock() async {
        Reproducibility.seed(11)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask { for _ in 0..<250 { _ = Reproducibility.withDefaultGenerators { $0.philox.next32() } } }
            }
        }
        var expected = Philox4x32(seed: 11)
        for _ in 0..<2000 { _ = expected.next32() }
        #expect(Reproducibility.defaultGenerators.philox == expected)
    }
}

@Suite struct IntegerSeedTests {
    @Test func parsesAndPrintsAnySize() throws {
        for text in ["0", "42", "-42", "4294967296", "-9223372036854775808", "340282366920938463463374607431768211457"] {
            #expect(try IntegerSeed(parsing: text).description == text)
        }
        #expect(try IntegerSeed(parsing: "+7") == IntegerSeed(7))
        #expect(try IntegerSeed(parsing: "-0") == IntegerSeed(0))
        #expect(try IntegerSeed(parsing: "007").description == "7")
        #expect(IntegerSeed(Int64.min).int64 == .min)
        #expect(IntegerSeed(UInt64.max).uint64 == .max && IntegerSeed(UInt64.max).int64 == nil)
        #expect(try IntegerSeed(parsing: "4294967301").magnitudeWords == [5, 1])
        for bad in ["", "-", "1.5", "0x10", " 1", "1e3", "abc"] {
            #expect(throws: IntegerSeedError.malformed(bad)) { try IntegerSeed(parsing: bad) }
        }
    }
}
