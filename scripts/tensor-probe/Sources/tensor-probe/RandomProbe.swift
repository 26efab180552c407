// ReproRandom part of the build-invariance probe: every generator and
// distribution family (torch, NumPy, Python) drawn from fixed seeds, hashed
// as raw bit patterns. Debug/release × ISA flags must give the same bytes.
import ReproRandom

/// Collects values as little-endian bit patterns, per named stream.
struct ProbeSink {
    private(set) var sections: [(name: String, bytes: [UInt8])] = []

    mutating func add(_ name: String, _ words: [UInt64]) {
        sections.append((name, words.flatMap { w in (0..<8).map { UInt8(truncatingIfNeeded: w >> (8 * $0)) } }))
    }
    mutating func add(_ name: String, doubles: [Double]) { add(name, doubles.map(\.bitPattern)) }
    mutating func add(_ name: String, floats: [Float]) { add(name, floats.map { UInt64($0.bitPattern) }) }
    mutating func add(_ name: String, ints: [Int64]) { add(name, ints.map { UInt64(bitPattern: $0) }) }
    mutating func add(_ name: String, bytes: [UInt8]) { sections.append((name, bytes)) }
}

/// Draws from every ReproRandom stream family.
func probeRandom() throws -> ProbeSink {
    var s = ProbeSink()

    // torch: raw words, uniform/normal (float and double, both fill paths),
    // integers of every dtype, permutations (both algorithms), Bernoulli, init.
    var t = TorchGenerator(seed: 20_240_601)
    s.add("torch.random", (0..<64).map { _ in UInt64(t.random()) } + (0..<64).map { _ in t.random64() })
    s.add("torch.rand", floats: try t.rand(count: 1003))
    s.add("torch.rand.double", doubles: try t.rand(count: 257, as: Double.self))
    s.add("torch.uniform", floats: try t.uniform(count: 33, from: -3, to: 7))
    s.add("torch.randn", floats: try t.randn(count: 1001))      // vectorised path (≥ 16)
    s.add("torch.randn.small", floats: try t.randn(count: 7))   // scalar path
    s.add("torch.randn.double", doubles: try t.randn(count: 131, as: Double.self))
    s.add("torch.normal.strided", floats: try t.normal(count: 40, mean: 1, std: 2, contiguous: false))
    s.add("torch.randint", ints: try t.randint(low: -5, high: 1 << 40, count: 99))
    for dtype in TorchDType.allCases {
        s.add("torch.random_.\(dtype)", ints: try t.randomValues(count: 17, dtype: dtype))
    }
    s.add("torch.randperm.small", ints: try t.randperm(50))
    s.add("torch.randperm.large", ints: try t.randperm(100_000))
    s.add("torch.bernoulli", floats: try t.bernoulli(probabilities: (0..<64).map { Float($0) / 63 }))
    s.add("torch.bernoulli.scalar", floats: try t.bernoulli(count: 100, probability: 0.3))
    var w = [Float](repeating: 0, count: 16 * 3 * 3 * 3)
    try TorchInit.kaimingUniform(&w, shape: [16, 3, 3, 3], a: 5.0.squareRoot(), using: &t)
    s.add("torch.init.kaimingUniform", floats: w)
    try TorchInit.kaimingNormal(&w, shape: [16, 3, 3, 3], mode: .fanOut, nonlinearity: .relu, using: &t)
    s.add("torch.init.kaimingNormal", floats: w)
    try TorchInit.xavierUniform(&w, shape: [16, 27], using: &t)
    s.add("torch.init.xavierUniform", floats: w)
    try TorchInit.normal(&w, std: 0.01, using: &t)
    s.add("torch.init.normal", floats: w)
    var p = Philox4x32(seed: 7)
    s.add("torch.philox", floats: p.uniformFloats(count: 515))

    // NumPy Generator on every bit generator, and the legacy RandomState.
    func generator<B: NumPyBitGenerator>(_ name: String, _ g: inout NumPyGenerator<B>) throws {
        s.add("\(name).random", doubles: try g.random(count: 300))
        s.add("\(name).standardNormal", doubles: try g.standardNormal(count: 300))
        s.add("\(name).integers", ints: try g.integers(low: -1000, high: 1 << 50, count: 100))
        s.add("\(name).normal", doubles: [try g.normal(loc: 3, scale: 0.5)])
        s.add("\(name).permutation", g.permutation(200).map { UInt64($0) })
    }
    var pcg = NumPyGenerator(bitGenerator: PCG64(seed: 12345))
    try generator("numpy.pcg64", &pcg)
    var dxsm = NumPyGenerator(bitGenerator: PCG64DXSM(seed: 12345))
    try generator("numpy.pcg64dxsm", &dxsm)
    var philox = NumPyGenerator(bitGenerator: NumPyPhilox(seed: 12345))
    try generator("numpy.philox", &philox)
    var sfc = NumPyGenerator(bitGenerator: SFC64(seed: 12345))
    try generator("numpy.sfc64", &sfc)
    var mt = NumPyGenerator(seedSequence: SeedSequence(entropy: 12345)) as NumPyGenerator<MT19937>
    try generator("numpy.mt19937", &mt)
    var rs = NumPyRandomState(seed: 42)
    s.add("numpy.randomstate.sample", doubles: try rs.randomSample(count: 300))
    s.add("numpy.randomstate.standardNormal", doubles: try rs.standardNormal(count: 301))
    s.add("numpy.randomstate.normal", doubles: try rs.normal(loc: -1, scale: 4, count: 20))
    s.add("numpy.randomstate.randint", ints: try rs.randint(low: 0, high: 1 << 33, count: 100))
    s.add("numpy.randomstate.permutation", rs.permutation(100).map { UInt64($0) })
    s.add("numpy.seedsequence", SeedSequence(entropy: 987_654_321).generateState64(count: 16))

    // Python's random module: integer, string and bytes seeds.
    var py = PythonRandom(seed: 2024)
    s.add("python.random", doubles: (0..<300).map { _ in py.random() })
    s.add("python.gauss", doubles: (0..<101).map { _ in py.gauss(mu: 1, sigma: 3) })
    s.add("python.uniform", doubles: (0..<20).map { _ in py.uniform(-2, 5) })
    s.add("python.getrandbits", try (0..<64).map { try py.getrandbits($0 + 1) })
    s.add("python.getrandbits.words", try py.getrandbitsWords(300).map { UInt64($0) })
    s.add("python.randrange", try (0..<100).map { _ in UInt64(bitPattern: Int64(try py.randrange(-50, 1 << 40, step: 3))) })
    s.add("python.randint", try (0..<100).map { _ in UInt64(bitPattern: Int64(try py.randint(1, 6))) })
    var deck = Array(0..<52)
    py.shuffle(&deck)
    s.add("python.shuffle", deck.map { UInt64($0) })
    s.add("python.sample", try py.sample(Array(0..<1000), count: 30).map { UInt64($0) })
    s.add("python.choice", try (0..<20).map { _ in UInt64(try py.choice(Array(10..<90))) })
    var pyText = PythonRandom(seed: "repro")
    s.add("python.seed.text", doubles: (0..<10).map { _ in pyText.random() })
    var pyBig = PythonRandom(seed: UInt64.max)
    s.add("python.seed.big", (0..<10).map { _ in pyBig.next() })
    var sm = SplitMix64(seed: 99)
    s.add("splitmix64", (0..<50).map { _ in sm.next() })
    return s
}
