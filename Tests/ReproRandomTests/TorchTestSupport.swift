import Testing
import _ReproTestSupport
@testable import ReproRandom

/// Values a torch recipe produced, for bit-exact comparison with a vector.
enum TorchValues {
    case f32([Float])
    case f64([Double])
    case ints([Int64])

    /// Compares bit for bit with a vector object of the reference files (docs/random.md, "Reference vectors"); records an
    /// issue naming `context` on any difference.
    func expectEqual(_ vector: JSON, _ context: String) throws {
        switch self {
        case .f32(let v):
            let want = try vector.f32Bits
            #expect(v.map(\.bitPattern) == want, "\(context)")
        case .f64(let v):
            let want = try vector.f64Bits
            #expect(v.map(\.bitPattern) == want, "\(context)")
        case .ints(let v):
            let want = try vector.ints
            #expect(v == want, "\(context)")
        }
    }
}

enum TorchFixtures {
    static func cpu() throws -> JSON { try Fixtures.json("rng/torch_cpu.json") }
    static func data() throws -> JSON { try Fixtures.json("rng/torch_data.json") }

    /// The six seeds of the per-seed sections, as the decimal keys.
    static let seedKeys = ["0", "1", "3407", "42", "4294967301", "9223372036854775807"]

    static func seed(_ key: String) -> UInt64 { UInt64(key)! }
}

extension Array where Element == Int64 {
    var asInts: TorchValues { .ints(self) }
}
