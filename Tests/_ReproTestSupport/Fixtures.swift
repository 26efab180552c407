import Foundation
import _ReproDigest

/// Locates and decodes the test fixtures under `Tests/Fixtures/`.
///
/// Fixtures live in the repository, so the tests pass on a fresh clone without
/// any folder outside it. A missing fixture is a test failure (``FixtureError``), never a skip.
public enum Fixtures {
    /// `Tests/Fixtures`, found from this source file's location.
    public static var root: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // _ReproTestSupport
            .deletingLastPathComponent()  // Tests
            .appendingPathComponent("Fixtures")
    }

    /// The URL of a fixture file, e.g. `url("rng/torch_cpu.json")`.
    public static func url(_ relativePath: String) -> URL {
        root.appendingPathComponent(relativePath)
    }

    /// The bytes of a fixture file.
    public static func data(_ relativePath: String) throws -> Data {
        let u = url(relativePath)
        guard FileManager.default.fileExists(atPath: u.path) else {
            throw FixtureError.missing(u.path)
        }
        return try Data(contentsOf: u)
    }

    /// A JSON fixture parsed into a ``JSON`` value.
    public static func json(_ relativePath: String) throws -> JSON {
        let obj = try JSONSerialization.jsonObject(with: data(relativePath), options: [.fragmentsAllowed])
        return JSON(obj)
    }
}

/// A fixture could not be read.
public enum FixtureError: Error, CustomStringConvertible {
    /// The fixture file does not exist.
    case missing(String)
    /// The fixture exists but a key or value is not where the test expects it.
    case malformed(String)

    public var description: String {
        switch self {
        case .missing(let p): return "fixture missing: \(p)"
        case .malformed(let m): return "fixture malformed: \(m)"
        }
    }
}

/// A thin, throwing view over `JSONSerialization` output, with decoders for the
/// vector encodings of `rng.md` §9.1.
public struct JSON: @unchecked Sendable, CustomStringConvertible {
    /// The underlying Foundation value.
    public let raw: Any

    /// Wraps a Foundation JSON value.
    public init(_ raw: Any) { self.raw = raw }

    public var description: String { String(describing: raw) }

    /// The value under `key` of an object.
    public subscript(key: String) -> JSON {
        get throws {
            guard let d = raw as? [String: Any], let v = d[key] else {
                throw FixtureError.malformed("no key '\(key)' in \(String(describing: raw).prefix(200))")
            }
            return JSON(v)
        }
    }

    /// The element at `index` of an array.
    public subscript(index: Int) -> JSON {
        get throws {
            guard let a = raw as? [Any], a.indices.contains(index) else {
                throw FixtureError.malformed("no index \(index)")
            }
            return JSON(a[index])
        }
    }

    /// Whether an object has `key`.
    public func has(_ key: String) -> Bool { (raw as? [String: Any])?[key] != nil }

    /// The keys of an object, sorted.
    public var keys: [String] { ((raw as? [String: Any])?.keys).map { $0.sorted() } ?? [] }

    /// The elements of an array.
    public var array: [JSON] {
        get throws {
            guard let a = raw as? [Any] else { throw FixtureError.malformed("not an array: \(self)") }
            return a.map(JSON.init)
        }
    }

    /// A string value.
    public var string: String {
        get throws {
            guard let s = raw as? String else { throw FixtureError.malformed("not a string: \(self)") }
            return s
        }
    }

    /// An exact integer from a JSON number (must be integral) or a decimal string.
    public var int64: Int64 {
        get throws {
            if let s = raw as? String, let v = Int64(s) { return v }
            if let n = raw as? NSNumber {
                let d = n.doubleValue
                guard d == d.rounded(), abs(d) <= 9_007_199_254_740_992 else {
                    throw FixtureError.malformed("not an exact integer: \(n)")
                }
                return n.int64Value
            }
            throw FixtureError.malformed("not an integer: \(self)")
        }
    }

    /// An exact unsigned integer: JSON number, decimal string or `0x` hex string (up to 64 bits).
    public var uint64: UInt64 {
        get throws {
            if let s = raw as? String {
                if s.hasPrefix("0x"), let v = UInt64(s.dropFirst(2), radix: 16) { return v }
                if let v = UInt64(s) { return v }
            }
            if let n = raw as? NSNumber, n.doubleValue >= 0 { return n.uint64Value }
            throw FixtureError.malformed("not an unsigned integer: \(self)")
        }
    }

    /// A boolean flag.
    public var bool: Bool {
        get throws {
            guard let b = raw as? Bool else { throw FixtureError.malformed("not a bool: \(self)") }
            return b
        }
    }

    /// The encoding of a vector object (`f32`, `f64`, `int`, `int_str`, `u32`, `u64_hex`).
    public var encoding: String { get throws { try self["encoding"].string } }

    /// The bit patterns of an `f32` vector.
    public var f32Bits: [UInt32] {
        get throws {
            guard try encoding == "f32" else { throw FixtureError.malformed("not f32: \(self)") }
            return try self["bits"].array.map { UInt32(try $0.uint64) }
        }
    }

    /// The bit patterns of an `f64` vector.
    public var f64Bits: [UInt64] {
        get throws {
            guard try encoding == "f64" else { throw FixtureError.malformed("not f64: \(self)") }
            return try self["bits"].array.map { try $0.uint64 }
        }
    }

    /// The values of an integer vector (`int`, `int_str`, `u32`) as Int64.
    public var ints: [Int64] {
        get throws {
            let e = try encoding
            guard ["int", "int_str", "u32"].contains(e) else { throw FixtureError.malformed("not int: \(self)") }
            return try self["values"].array.map { try $0.int64 }
        }
    }

    /// The values of an unsigned vector (`u32`, `u64_hex`, or non-negative `int`/`int_str`).
    public var uints: [UInt64] {
        get throws { try self["values"].array.map { try $0.uint64 } }
    }
}

/// Parses `0x`-prefixed 128-bit hex into (high, low) halves.
public func parseHex128(_ s: String) throws -> (high: UInt64, low: UInt64) {
    guard s.hasPrefix("0x") else { throw FixtureError.malformed("not hex: \(s)") }
    let digits = String(s.dropFirst(2))
    let padded = String(repeating: "0", count: max(0, 32 - digits.count)) + digits
    guard padded.count == 32,
          let hi = UInt64(padded.prefix(16), radix: 16),
          let lo = UInt64(padded.suffix(16), radix: 16)
    else { throw FixtureError.malformed("not 128-bit hex: \(s)") }
    return (hi, lo)
}

/// Decodes a hex byte dump (two digits per byte).
public func parseHexBytes(_ s: String) throws -> [UInt8] {
    let u = Array(s.utf8)
    guard u.count % 2 == 0 else { throw FixtureError.malformed("odd hex length") }
    var out: [UInt8] = []
    out.reserveCapacity(u.count / 2)
    var i = 0
    while i < u.count {
        guard let b = UInt8(String(decoding: u[i..<(i + 2)], as: UTF8.self), radix: 16) else {
            throw FixtureError.malformed("bad hex byte at \(i)")
        }
        out.append(b)
        i += 2
    }
    return out
}

/// Hex string of a SHA-256 over bytes (test convenience).
public func sha256Hex(_ bytes: [UInt8]) -> String { SHA256.hash(bytes).hex }
