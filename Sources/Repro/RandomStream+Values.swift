/// One value of a ``RandomStream``, with the type its library gives it.
public enum RandomValue: Hashable, Sendable {
    /// A float32 (`torch.rand`, `torch.randn`, `torch.bernoulli`).
    case float32(Float)
    /// A float64 (`torch.rand64`, NumPy floats, `random.random()`, `random.gauss()`).
    case float64(Double)
    /// A signed integer (indices, `randint`, `randrange`).
    case signed(Int64)
    /// An unsigned integer (raw bit-generator output, `getrandbits(K ≤ 64)`).
    case unsigned(UInt64)
    /// An unsigned integer wider than 64 bits, as 32-bit words, least significant
    /// first (`getrandbits(K > 64)`).
    case wideUnsigned([UInt32])

    /// The value as one line of `repro random` output.
    ///
    /// Floats: `hex` gives the IEEE bit pattern (`0x3f2a1b3c`, or 16 hex digits for
    /// a Double), `decimal` the shortest text that reads back to the same bits.
    /// Integers are decimal in every format.
    ///
    /// ```swift
    /// RandomValue.float32(1).formatted(.hex)      // "0x3f800000"
    /// RandomValue.float64(0.5).formatted(.decimal) // "0.5"
    /// ```
    public func formatted(_ format: RandomOutputFormat) -> String {
        switch self {
        case .float32(let x):
            return format == .hex ? Self.hex(UInt64(x.bitPattern), digits: 8) : x.description
        case .float64(let x):
            return format == .hex ? Self.hex(x.bitPattern, digits: 16) : x.description
        case .signed(let v): return String(v)
        case .unsigned(let v): return String(v)
        case .wideUnsigned(let words): return IntegerSeed.decimal(words)
        }
    }

    /// The value as a JSON number (non-finite floats, which no stream produces, as strings).
    var jsonNumber: String {
        switch self {
        case .float32(let x) where !x.isFinite: return "\"\(x)\""
        case .float64(let x) where !x.isFinite: return "\"\(x)\""
        default: return formatted(.decimal)
        }
    }

    /// The bit pattern of a float (`nil` for integers).
    var bitPatternHex: String? {
        switch self {
        case .float32, .float64: return formatted(.hex)
        default: return nil
        }
    }

    static func hex(_ v: UInt64, digits: Int) -> String {
        let s = String(v, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, digits - s.count)) + s
    }
}

/// How `repro random` prints a stream.
public enum RandomOutputFormat: String, CaseIterable, Sendable {
    /// One value per line; floats as IEEE bit patterns, integers decimal.
    case hex
    /// One value per line; floats as shortest round-trip decimals, integers decimal.
    case decimal
    /// One JSON object: see ``RandomStream/output(seed:count:format:)``.
    case json
}

extension RandomStream {
    /// The element type the library gives this stream's values.
    public var dtype: String {
        switch self {
        case .torchRand, .torchRandn, .torchBernoulli: return "float32"
        case .torchRand64, .numpyLegacyRandomSample, .numpyLegacyStandardNormal, .numpyDefaultRNGRandom,
             .numpyDefaultRNGStandardNormal, .pythonRandom, .pythonGauss: return "float64"
        case .torchRandint, .torchRandperm, .torchRandomSampler, .numpyLegacyRandint, .numpyLegacyPermutation,
             .numpyDefaultRNGIntegers, .numpyDefaultRNGPermutation, .pythonRandrange, .pythonShuffle: return "int64"
        case .numpyMT19937Raw, .numpyPCG64Raw, .numpyPCG64DXSMRaw, .numpyPhiloxRaw, .numpySFC64Raw: return "uint64"
        case .philox4x32Raw: return "uint32"
        case .pythonGetrandbits(let k): return k <= 64 ? "uint64" : "int"
        }
    }

    /// The seeds this stream's library accepts, in words.
    public var acceptedSeeds: String {
        switch self {
        case .torchRand, .torchRand64, .torchRandn, .torchRandint, .torchRandperm, .torchBernoulli, .torchRandomSampler:
            return "-9223372036854775808...18446744073709551615 (torch.manual_seed)"
        case .numpyLegacyRandomSample, .numpyLegacyStandardNormal, .numpyLegacyRandint, .numpyLegacyPermutation:
            return "0...4294967295 (np.random.seed)"
        case .numpyDefaultRNGRandom, .numpyDefaultRNGStandardNormal, .numpyDefaultRNGIntegers,
             .numpyDefaultRNGPermutation, .numpyMT19937Raw, .numpyPCG64Raw, .numpyPCG64DXSMRaw, .numpyPhiloxRaw,
             .numpySFC64Raw:
            return "any non-negative integer (SeedSequence)"
        case .pythonRandom, .pythonGetrandbits, .pythonRandrange, .pythonShuffle, .pythonGauss:
            return "any integer (random.seed)"
        case .philox4x32Raw:
            return "-9223372036854775808...18446744073709551615 (negatives as two's complement)"
        }
    }

    /// Checks `seed` and `count` against what this stream accepts.
    ///
    /// - Throws: ``RandomStreamError/seedOutOfRange(_:seed:accepted:)`` or
    ///   ``RandomStreamError/countOutOfRange(_:count:accepted:)``.
    public func validate(seed: IntegerSeed, count: Int) throws(RandomStreamError) {
        let seedOK: Bool
        switch self {
        case .torchRand, .torchRand64, .torchRandn, .torchRandint, .torchRandperm, .torchBernoulli,
             .torchRandomSampler, .philox4x32Raw:
            seedOK = seed.torchSeed != nil
        case .numpyLegacyRandomSample, .numpyLegacyStandardNormal, .numpyLegacyRandint, .numpyLegacyPermutation:
            seedOK = seed.uint64.map { $0 <= UInt64(UInt32.max) } ?? false
        case .numpyDefaultRNGRandom, .numpyDefaultRNGStandardNormal, .numpyDefaultRNGIntegers,
             .numpyDefaultRNGPermutation, .numpyMT19937Raw, .numpyPCG64Raw, .numpyPCG64DXSMRaw, .numpyPhiloxRaw,
             .numpySFC64Raw:
            seedOK = !seed.isNegative
        case .pythonRandom, .pythonGetrandbits, .pythonRandrange, .pythonShuffle, .pythonGauss:
            seedOK = true
        }
        guard seedOK else { throw .seedOutOfRange(name, seed: seed.description, accepted: acceptedSeeds) }
        let limit = min(fixedLength ?? Self.maximumCount, Self.maximumCount)
        guard (0...limit).contains(count) else {
            let why = (fixedLength ?? .max) <= Self.maximumCount ? " (at most the length N in the name)" : ""
            throw .countOutOfRange(name, count: count, accepted: "0...\(limit)\(why)")
        }
    }

    /// The first `count` values of the stream after seeding with `seed`.
    ///
    /// ```swift
    /// try RandomStream.pythonRandom.values(seed: IntegerSeed(42), count: 1)
    /// // [.float64(0.6394267984578837)]
    /// ```
    /// - Throws: ``RandomStreamError`` for a seed or count out of range, or a
    ///   stream whose generator is not in this build.
    public func values(seed: IntegerSeed, count: Int) throws(RandomStreamError) -> [RandomValue] {
        try validate(seed: seed, count: count)
        // The one place where a stream meets its generator.
        switch self {
        case .pythonRandom:
            var r = PythonRandom(seedWords: seed.magnitudeWords)
            return (0..<count).map { _ in .float64(r.random()) }
        case .pythonGetrandbits(let k):
            var r = PythonRandom(seedWords: seed.magnitudeWords)
            return try (0..<count).map { _ throws(RandomStreamError) in
                do {
                    return k <= 64 ? .unsigned(try r.getrandbits(k)) : .wideUnsigned(try r.getrandbitsWords(k))
                } catch {
                    throw .invalidParameter(name, parameter: "K", detail: "\(error)")
                }
            }
        case .pythonRandrange(let n):
            var r = PythonRandom(seedWords: seed.magnitudeWords)
            return try (0..<count).map { _ throws(RandomStreamError) in
                do { return .signed(Int64(try r.randrange(n))) } catch {
                    throw .invalidParameter(name, parameter: "N", detail: "\(error)")
                }
            }
        case .pythonShuffle(let n):
            var r = PythonRandom(seedWords: seed.magnitudeWords)
            var x = Array(0..<n)
            r.shuffle(&x)
            return x.prefix(count).map { .signed(Int64($0)) }
        case .pythonGauss:
            var r = PythonRandom(seedWords: seed.magnitudeWords)
            return (0..<count).map { _ in .float64(r.gauss()) }
        case .philox4x32Raw:
            guard let key = seed.torchSeed else { throw .seedOutOfRange(name, seed: seed.description, accepted: acceptedSeeds) }
            var p = Philox4x32(seed: key)
            return (0..<count).map { _ in .unsigned(UInt64(p.next32())) }

        case .torchRand, .torchRand64, .torchRandn, .torchRandint, .torchRandperm, .torchBernoulli, .torchRandomSampler:
            // torch.Generator().manual_seed(s); range checked by validate.
            var g = TorchGenerator(seed: seed.torchSeed!)
            do {
                switch self {
                case .torchRand: return try g.rand(count: count).map { .float32($0) }
                case .torchRand64: return try g.rand(count: count, as: Double.self).map { .float64($0) }
                case .torchRandn: return try g.randn(count: count).map { .float32($0) }
                case let .torchRandint(low, high): return try g.randint(low: low, high: high, count: count).map { .signed($0) }
                case let .torchRandperm(n): return try g.randperm(n).prefix(count).map { .signed($0) }
                case let .torchBernoulli(p): return try g.bernoulli(count: count, probability: p).map { .float32($0) }
                case let .torchRandomSampler(n):
                    // RandomSampler(range(n), generator=torch.Generator().manual_seed(s)): one epoch.
                    var sampler = try TorchRandomSampler(count: n, generator: g)
                    var unused = TorchGenerator()
                    return sampler.epoch(defaultGenerator: &unused).prefix(count).map { .signed(Int64($0)) }
                default: return []
                }
            } catch {
                throw .invalidParameter(name, parameter: "parameters", detail: "\(error)")
            }

        case .numpyLegacyRandomSample, .numpyLegacyStandardNormal, .numpyLegacyRandint, .numpyLegacyPermutation:
            var rs = NumPyRandomState(seed: UInt32(seed.uint64!))  // range checked by validate
            return try numpy { () throws(NumPyRandomError) -> [RandomValue] in
                switch self {
                case .numpyLegacyRandomSample: return try rs.randomSample(count: count).map { .float64($0) }
                case .numpyLegacyStandardNormal: return try rs.standardNormal(count: count).map { .float64($0) }
                case let .numpyLegacyRandint(low, high): return try rs.randint(low: low, high: high, count: count).map { .signed($0) }
                case let .numpyLegacyPermutation(n): return rs.permutation(n).prefix(count).map { .signed(Int64($0)) }
                default: return []
                }
            }
        case .numpyDefaultRNGRandom, .numpyDefaultRNGStandardNormal, .numpyDefaultRNGIntegers, .numpyDefaultRNGPermutation:
            var g = NumPyGenerator<PCG64>(seedSequence: SeedSequence(bigEntropy: seed.magnitudeWords))
            return try numpy { () throws(NumPyRandomError) -> [RandomValue] in
                switch self {
                case .numpyDefaultRNGRandom: return try g.random(count: count).map { .float64($0) }
                case .numpyDefaultRNGStandardNormal: return try g.standardNormal(count: count).map { .float64($0) }
                case let .numpyDefaultRNGIntegers(low, high): return try g.integers(low: low, high: high, count: count).map { .signed($0) }
                case let .numpyDefaultRNGPermutation(n): return g.permutation(n).prefix(count).map { .signed(Int64($0)) }
                default: return []
                }
            }
        case .numpyMT19937Raw, .numpyPCG64Raw, .numpyPCG64DXSMRaw, .numpyPhiloxRaw, .numpySFC64Raw:
            let ss = SeedSequence(bigEntropy: seed.magnitudeWords)
            return try numpy { () throws(NumPyRandomError) -> [RandomValue] in
                let raw: [UInt64]
                switch self {
                case .numpyMT19937Raw: var b = MT19937(seedSequence: ss); raw = try b.randomRaw(count: count)
                case .numpyPCG64Raw: var b = PCG64(seedSequence: ss); raw = try b.randomRaw(count: count)
                case .numpyPCG64DXSMRaw: var b = PCG64DXSM(seedSequence: ss); raw = try b.randomRaw(count: count)
                case .numpyPhiloxRaw: var b = NumPyPhilox(seedSequence: ss); raw = try b.randomRaw(count: count)
                default: var b = SFC64(seedSequence: ss); raw = try b.randomRaw(count: count)
                }
                return raw.map { .unsigned($0) }
            }
        }
    }

    /// Runs a NumPy draw, turning its error into a stream error naming this stream.
    private func numpy(_ body: () throws(NumPyRandomError) -> [RandomValue]) throws(RandomStreamError) -> [RandomValue] {
        do { return try body() } catch { throw .invalidParameter(name, parameter: "LOW:HIGH", detail: "\(error)") }
    }

    /// The whole `repro random` output for this stream: one value per line (each
    /// line ending in a newline) for `hex` and `decimal`; for `json`, one line
    /// holding an object with sorted keys:
    ///
    /// ```json
    /// {"bits":["0x3fe4762f307200c5"],"count":1,"dtype":"float64","seed":"42","stream":"python.random","values":[0.6394267984578837]}
    /// ```
    ///
    /// `values` are JSON numbers (floats in shortest round-trip form, integers
    /// exact, possibly above 2^53); `bits` (float streams only) are the IEEE bit
    /// patterns; `seed` is a decimal string since it may exceed 64 bits.
    public func output(seed: IntegerSeed, count: Int, format: RandomOutputFormat) throws(RandomStreamError) -> String {
        let values = try values(seed: seed, count: count)
        guard format == .json else {
            return values.map { $0.formatted(format) + "\n" }.joined()
        }
        var fields: [String] = []
        let bits = values.compactMap(\.bitPatternHex)
        if bits.count == values.count, !bits.isEmpty || dtype.hasPrefix("float") {
            fields.append("\"bits\":[" + bits.map { "\"\($0)\"" }.joined(separator: ",") + "]")
        }
        fields.append("\"count\":\(values.count)")
        fields.append("\"dtype\":\"\(dtype)\"")
        fields.append("\"seed\":\"\(seed)\"")
        fields.append("\"stream\":\"\(name)\"")
        fields.append("\"values\":[" + values.map(\.jsonNumber).joined(separator: ",") + "]")
        return "{" + fields.joined(separator: ",") + "}\n"
    }
}
