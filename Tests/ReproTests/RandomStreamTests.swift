import Testing
import _ReproTestSupport
import Repro

/// Stream-name parsing, validation and output formatting (the library side of `repro random`).
@Suite struct RandomStreamTests {
    /// Every stream name of issue 2, with parameters.
    static let examples: [(String, RandomStream)] = [
        ("torch.rand", .torchRand), ("torch.rand64", .torchRand64), ("torch.randn", .torchRandn),
        ("torch.randint:-3:10", .torchRandint(low: -3, high: 10)), ("torch.randperm:100", .torchRandperm(n: 100)),
        ("torch.bernoulli:0.3", .torchBernoulli(p: 0.3)), ("torch.RandomSampler:25", .torchRandomSampler(n: 25)),
        ("numpy.legacy.random_sample", .numpyLegacyRandomSample),
        ("numpy.legacy.standard_normal", .numpyLegacyStandardNormal),
        ("numpy.legacy.randint:0:100", .numpyLegacyRandint(low: 0, high: 100)),
        ("numpy.legacy.permutation:20", .numpyLegacyPermutation(n: 20)),
        ("numpy.default_rng.random", .numpyDefaultRNGRandom),
        ("numpy.default_rng.standard_normal", .numpyDefaultRNGStandardNormal),
        ("numpy.default_rng.integers:-9223372036854775808:4611686018427387904",
         .numpyDefaultRNGIntegers(low: .min, high: 1 << 62)),
        ("numpy.default_rng.permutation:0", .numpyDefaultRNGPermutation(n: 0)),
        ("numpy.MT19937.raw", .numpyMT19937Raw), ("numpy.PCG64.raw", .numpyPCG64Raw),
        ("numpy.PCG64DXSM.raw", .numpyPCG64DXSMRaw), ("numpy.Philox.raw", .numpyPhiloxRaw),
        ("numpy.SFC64.raw", .numpySFC64Raw),
        ("python.random", .pythonRandom), ("python.getrandbits:0", .pythonGetrandbits(bits: 0)),
        ("python.randrange:1000", .pythonRandrange(n: 1000)), ("python.shuffle:20", .pythonShuffle(n: 20)),
        ("python.gauss", .pythonGauss), ("philox4x32.raw", .philox4x32Raw),
    ]

    @Test func parsesEveryIssueStreamAndRoundTripsItsName() throws {
        #expect(RandomStream.acceptedNames.count == 26)
        #expect(Set(Self.examples.map { $0.0.split(separator: ":")[0] }).count == 26)
        for (text, stream) in Self.examples {
            #expect(try RandomStream(parsing: text) == stream, "\(text)")
            #expect(stream.name == text, "\(text)")
            #expect(try RandomStream(parsing: stream.name) == stream)
        }
    }

    @Test func refusesBadNamesWithTypedErrors() {
        #expect(throws: RandomStreamError.unknownStream("torch.Rand", accepted: RandomStream.acceptedNames)) {
            try RandomStream(parsing: "torch.Rand")
        }
        #expect(throws: RandomStreamError.wrongParameterCount("torch.randint:1", expected: "torch.randint:LOW:HIGH")) {
            try RandomStream(parsing: "torch.randint:1")
        }
        #expect(throws: RandomStreamError.wrongParameterCount("python.random:", expected: "python.random")) {
            try RandomStream(parsing: "python.random:")
        }
        for bad in ["torch.randint:1:x", "torch.randint:1:99999999999999999999", "python.getrandbits:-1",
                    "python.getrandbits:1000001", "torch.bernoulli:-0.1", "torch.bernoulli:0x1p-2",
                    "torch.randperm:-1", "numpy.legacy.randint:5:4", "python.randrange:0", "torch.bernoulli:"] {
            #expect(throws: RandomStreamError.self, "\(bad)") { try RandomStream(parsing: bad) }
        }
    }

    @Test func validatesSeedsPerLibrary() throws {
        func ok(_ s: RandomStream, _ seed: String, count: Int = 1) -> Bool {
            (try? s.validate(seed: IntegerSeed(parsing: seed), count: count)) != nil
        }
        #expect(ok(.torchRand, "-9223372036854775808") && ok(.torchRand, "18446744073709551615"))
        #expect(!ok(.torchRand, "-9223372036854775809") && !ok(.torchRand, "18446744073709551616"))
        #expect(ok(.numpyLegacyRandomSample, "4294967295") && !ok(.numpyLegacyRandomSample, "4294967296"))
        #expect(!ok(.numpyLegacyRandomSample, "-1") && !ok(.numpyPCG64Raw, "-1"))
        #expect(ok(.pythonRandom, "-1267650600228229401496703205383"))
        #expect(ok(.pythonShuffle(n: 5), "1", count: 5) && !ok(.pythonShuffle(n: 5), "1", count: 6))
        #expect(!ok(.pythonRandom, "1", count: -1) && !ok(.pythonRandom, "1", count: RandomStream.maximumCount + 1))
    }

    @Test func formatsValues() throws {
        #expect(RandomValue.float32(1).formatted(.hex) == "0x3f800000")
        #expect(RandomValue.float32(0x1p-149).formatted(.hex) == "0x00000001")
        #expect(RandomValue.float64(0.5).formatted(.hex) == "0x3fe0000000000000")
        #expect(RandomValue.float32(0.1).formatted(.decimal) == "0.1")
        #expect(RandomValue.signed(-3).formatted(.hex) == "-3")
        #expect(RandomValue.unsigned(.max).formatted(.hex) == "18446744073709551615")
        #expect(RandomValue.wideUnsigned([0, 0, 1]).formatted(.hex) == "18446744073709551616")
        let out = try RandomStream.pythonRandom.output(seed: IntegerSeed(42), count: 0, format: .json)
        #expect(out == #"{"bits":[],"count":0,"dtype":"float64","seed":"42","stream":"python.random","values":[]}"# + "\n")
    }

    /// python.* and philox4x32.raw values equal the library's own generators.
    @Test func generatedValuesMatchTheGenerators() throws {
        let seed = try IntegerSeed(parsing: "-1267650600228229401496703205383")
        var r = PythonRandom(seedWords: [7, 0, 0, 16])
        let got = try RandomStream.pythonGauss.values(seed: seed, count: 5)
        #expect(got == (0..<5).map { _ in .float64(r.gauss()) })
        var p = Philox4x32(seed: .max)
        #expect(try RandomStream.philox4x32Raw.values(seed: IntegerSeed(-1), count: 9) == (0..<9).map { _ in .unsigned(UInt64(p.next32())) })
        var t = TorchGenerator(seed: UInt64(1))
        #expect(try RandomStream.torchRandn.values(seed: IntegerSeed(1), count: 3) == (try t.randn(count: 3)).map { .float32($0) })
    }
}

@Suite struct HashingDeterminismTests {
    @Test func reexecDecision() {
        #expect(HashingDeterminism.needsReexec(environment: [:]))
        #expect(HashingDeterminism.needsReexec(environment: ["REPRO_NO_REEXEC": "0"]))
        #expect(!HashingDeterminism.needsReexec(environment: ["REPRO_NO_REEXEC": "1"]))
        #expect(!HashingDeterminism.needsReexec(environment: ["REPRO_NO_REEXEC": "yes"]))
        #expect(!HashingDeterminism.needsReexec(environment: ["SWIFT_DETERMINISTIC_HASHING": "1"]))
        #expect(!HashingDeterminism.needsReexec(environment: ["SWIFT_DETERMINISTIC_HASHING": "0"]))
        #expect(!HashingDeterminism.needsReexec(environment: ["REPRO_REEXECUTED": "1"]))
    }
}
