import Foundation
import Testing
import _ReproTestSupport

/// `repro random` end to end: exact stdout, exit codes and error messages.
/// Expected values come from the fixtures (CPython 3.11.7, the Philox reference)
/// or, where stated, from CPython 3.11.7 directly.
@Suite struct RandomCommandTests {
    @Test func pythonRandomHexMatchesFixture() throws {
        let v = try Fixtures.json("rng/python_random.json")["seeds"]["42"]["random_10"]
        let bits = try v["bits"].array.map { try $0.string }
        let r = try runRepro(["random", "python.random", "--seed", "42", "--count", "10"])
        #expect(r.status == 0)
        #expect(r.stdout == bits.map { $0 + "\n" }.joined())
        #expect(r.stderr.isEmpty)
    }

    @Test func pythonRandomDecimalIsShortestRoundTrip() throws {
        let v = try Fixtures.json("rng/python_random.json")["seeds"]["3407"]["random_10"]
        let dec = try v["dec"].array.map { try $0.string }
        let r = try runRepro(["random", "python.random", "--seed", "3407", "--count", "10", "--format", "decimal"])
        #expect(r.status == 0)
        #expect(r.stdout == dec.map { $0 + "\n" }.joined())
    }

    @Test func negativeSeedUsesMagnitudeAsCPython() throws {
        let plus = try runRepro(["random", "python.random", "--seed", "42", "--count", "3"])
        let minus = try runRepro(["random", "python.random", "--seed", "-42", "--count", "3"])
        #expect(minus.status == 0 && minus.stdout == plus.stdout)
    }

    @Test func jsonIsOneObjectWithSortedKeys() throws {
        let r = try runRepro(["random", "python.random", "--seed", "42", "--count", "2", "--format", "json"])
        #expect(r.status == 0)
        #expect(r.stdout == """
            {"bits":["0x3fe4762f307200c5","0x3f999c6b5eeb2060"],"count":2,"dtype":"float64","seed":"42",\
            "stream":"python.random","values":[0.6394267984578837,0.025010755222666936]}

            """)
        // Valid JSON. (swift-corelibs-foundation's JSONSerialization reads 0.6394267984578837 as
        // 0.6394267984578839 — a reason the exact `bits` are printed beside the values.)
        let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        #expect((obj?["bits"] as? [String]) == ["0x3fe4762f307200c5", "0x3f999c6b5eeb2060"])
        #expect((obj?["values"] as? [Any])?.count == 2)
        let ints = try runRepro(["random", "python.shuffle:10", "--seed", "1", "--count", "10", "--format", "json"])
        #expect(ints.stdout == #"{"count":10,"dtype":"int64","seed":"1","stream":"python.shuffle:10","values":[6,8,9,7,5,3,0,4,1,2]}"# + "\n")
    }

    /// Values from CPython 3.11.7: `random.seed(3407); [random.gauss() for _ in range(5)]`.
    @Test func pythonGauss() throws {
        let r = try runRepro(["random", "python.gauss", "--seed", "3407", "--count", "5"])
        #expect(r.stdout == """
            0x3fdfff310dfb5088
            0x3fc7e07a2812b70a
            0x3fc7dd37709e8d73
            0x3fea9fdd766f7dea
            0x3fdb52966adf2c26

            """)
    }

    @Test func pythonIntegerStreams() throws {
        // fresh_seed_getrandbits_5_x3_then_100: three getrandbits(5) after random.seed(0).
        let b5 = try Fixtures.json("rng/python_random.json")["seeds"]["0"]["fresh_seed_getrandbits_5_x3_then_100"]["b5"].ints
        let r5 = try runRepro(["random", "python.getrandbits:5", "--seed", "0", "--count", "3", "--format", "hex"])
        #expect(r5.stdout == b5.map { "\($0)\n" }.joined())
        // CPython 3.11.7: random.seed(0); getrandbits(100) twice — integers are decimal in every format.
        let r100 = try runRepro(["random", "python.getrandbits:100", "--seed", "0", "--count", "2"])
        #expect(r100.stdout == "1169245609517217401678349469645\n1208935935994293442776782246997\n")
        // CPython 3.11.7: random.seed(2**64); [random.randrange(1000) for _ in range(6)].
        let rr = try runRepro(["random", "python.randrange:1000", "--seed", "18446744073709551616", "--count", "6"])
        #expect(rr.stdout == "753\n380\n94\n511\n639\n142\n")
        // A permutation prints COUNT of its N values.
        let sh = try runRepro(["random", "python.shuffle:10", "--seed", "1", "--count", "4", "--format", "decimal"])
        #expect(sh.stdout == "6\n8\n9\n7\n")
    }

    @Test func philoxRawMatchesEngineStream() throws {
        let cases = try Fixtures.json("rng/philox.json")["philox_engine_streams"]["cases"].array
        let c = try #require(try cases.first { try $0["seed"].string == "42" && $0["subsequence"].string == "0" && $0["offset_blocks"].string == "0" })
        let words = try c["first10_u32"].array.map { try $0.uint64 }
        let r = try runRepro(["random", "philox4x32.raw", "--seed", "42", "--count", "10"])
        #expect(r.status == 0)
        #expect(r.stdout == words.map { "\($0)\n" }.joined())
    }

    @Test func unknownStreamListsAcceptedNames() throws {
        let r = try runRepro(["random", "torch.randx", "--seed", "1"])
        #expect(r.status != 0)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.contains("unknown stream 'torch.randx'; accepted streams: torch.rand, torch.rand64, torch.randn,"))
        for name in ["torch.randint:LOW:HIGH", "numpy.SFC64.raw", "python.getrandbits:K", "philox4x32.raw"] {
            #expect(r.stderr.contains(name))
        }
    }

    @Test func malformedParametersAndSeedsAreRefused() throws {
        let cases: [([String], String)] = [
            (["torch.randint:a:5", "--seed", "1"], "parameter LOW 'a' is not a decimal integer"),
            (["torch.randint:5:5", "--seed", "1"], "LOW must be less than HIGH"),
            (["python.shuffle", "--seed", "1"], "wrong number of parameters; expected python.shuffle:N"),
            (["python.random:3", "--seed", "1"], "expected python.random"),
            (["torch.bernoulli:1.5", "--seed", "1"], "parameter P must be in 0...1"),
            (["torch.bernoulli:nan", "--seed", "1"], "parameter P 'nan' is not a decimal number"),
            (["python.randrange:0", "--seed", "1"], "parameter N must be at least 1"),
            (["torch.RandomSampler:0", "--seed", "1"], "parameter N must be in 1...300000000"),
            (["numpy.legacy.random_sample", "--seed", "4294967296"], "seed 4294967296 is out of range for 'numpy.legacy.random_sample'; accepted: 0...4294967295"),
            (["numpy.default_rng.random", "--seed", "-1"], "seed -1 is out of range"),
            (["torch.rand", "--seed", "18446744073709551616"], "accepted: -9223372036854775808...18446744073709551615"),
            (["python.random", "--seed", "12abc"], "seed '12abc' is not a decimal integer"),
            (["python.shuffle:5", "--seed", "1", "--count", "6"], "count 6 is out of range for 'python.shuffle:5'; accepted: 0...5"),
            (["python.random", "--seed", "1", "--count=-1"], "count -1 is out of range"),
        ]
        for (args, message) in cases {
            let r = try runRepro(["random"] + args)
            #expect(r.status != 0, "\(args)")
            #expect(r.stdout.isEmpty, "\(args)")
            #expect(r.stderr.contains(message), "\(args): \(r.stderr)")
        }
        let bad = try runRepro(["random", "python.random", "--seed", "1", "--format", "octal"])
        #expect(bad.status != 0 && bad.stderr.contains("octal"))
    }

    /// torch and NumPy streams print exactly the library's values (hex bit patterns, decimal integers).
    @Test func torchAndNumpyStreamsPrintLibraryValues() throws {
        let torch = try Fixtures.json("rng/torch_cpu.json")["capability_dependent"]["AVX2"]["per_seed"]["3407"]
        let r = try runRepro(["random", "torch.randn", "--seed", "3407", "--count", "17"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.split(separator: "\n").map(String.init) == (try torch["randn_17"].f32Bits.map { String(format: "0x%08x", $0) }))
        let np = try Fixtures.json("rng/numpy.json")["generator"]["42"]
        let n = try runRepro(["random", "numpy.PCG64.raw", "--seed", "42", "--count", "4"])
        #expect(n.stdout.split(separator: "\n").map { UInt64($0)! } == (try np["pcg64_raw64_first4"].uints))
    }
}
