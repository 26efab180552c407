import Testing
import _ReproTestSupport
import Repro

/// Every `repro random` stream against the real library's values (`rng/streams.json`, written by
/// `scripts/make_random_stream_vectors.py` with torch, NumPy and CPython): bit patterns of floats and
/// exact integers, for seeds 0, 3407, -42, 12345678901234567890 and 2^100 + 3. Where the library
/// refuses a seed (NumPy and negative seeds, torch and seeds beyond 64 bits) repro must refuse it too.
@Suite struct RandomStreamVectorTests {
    static let seeds: Set<String> = ["0", "3407", "-42", "12345678901234567890", "1267650600228229401496703205379"]

    /// The fixture's cases per stream pattern.
    static func fixture() throws -> [String: [JSON]] {
        let streams = try Fixtures.json("rng/streams.json")["streams"]
        var out: [String: [JSON]] = [:]
        for pattern in streams.keys { out[pattern] = try streams[pattern].array }
        return out
    }

    /// A stream added to the library without vectors fails here, and so does a vector for a
    /// stream the library no longer has.
    @Test func everyStreamOfTheLibraryHasVectors() throws {
        let fixture = try Self.fixture()
        #expect(Set(fixture.keys) == Set(RandomStream.acceptedNames),
                "streams without vectors: \(Set(RandomStream.acceptedNames).subtracting(fixture.keys).sorted()); vectors without a stream: \(Set(fixture.keys).subtracting(RandomStream.acceptedNames).sorted())")
        for pattern in RandomStream.acceptedNames {
            let cases = fixture[pattern] ?? []
            let seeds = Set(try cases.map { try $0["seed"].string })
            #expect(seeds == Self.seeds, "\(pattern): seeds \(seeds.sorted())")
            // Each case's stream is an instance of its pattern, and some seed gives values.
            for c in cases {
                let stream = try RandomStream(parsing: c["stream"].string)
                #expect(stream.name.split(separator: ":")[0] == pattern.split(separator: ":")[0], "\(pattern)")
            }
            #expect(cases.contains { !$0.has("refused") }, "\(pattern): no seed with values")
        }
    }

    @Test(arguments: RandomStream.acceptedNames)
    func valuesMatchTheLibrary(pattern: String) throws {
        let cases = try #require(try Self.fixture()[pattern], "no vectors for \(pattern)")
        for c in cases {
            let name = try c["stream"].string, seedText = try c["seed"].string
            let count = Int(try c["count"].int64)
            let stream = try RandomStream(parsing: name)
            let seed = try IntegerSeed(parsing: seedText)
            if c.has("refused") {
                // The library raised (its message is in the fixture): so must we, with a typed error.
                #expect(throws: RandomStreamError.self, "\(name) seed \(seedText)") {
                    try stream.values(seed: seed, count: count)
                }
                continue
            }
            let expected = try c["values"].array.map { try $0.string }
            #expect(expected.count == count)
            let ours = try stream.values(seed: seed, count: count).map { $0.formatted(.hex) }
            #expect(ours == expected, "\(name) seed \(seedText): first difference at \(ours.indices.first { $0 >= expected.count || ours[$0] != expected[$0] } ?? ours.count)")
            // The CLI's text output is the same values, one per line.
            #expect(try stream.output(seed: seed, count: count, format: .hex) == expected.map { $0 + "\n" }.joined())
        }
    }
}
