/// An integer seed of any size, as Python code writes one (`random.seed(2**100 + 7)`).
///
/// Each library accepts a different range: PyTorch `[-2^63, 2^64 - 1]`, NumPy's
/// `RandomState` `[0, 2^32 - 1]`, NumPy's `SeedSequence` any non-negative integer,
/// CPython's `random` any integer. `IntegerSeed` carries the exact value so
/// each consumer can check its own range and report a seed it cannot take.
///
/// ```swift
/// let s = try IntegerSeed(parsing: "-42")
/// s.int64        // -42
/// s.uint64       // nil (negative)
/// IntegerSeed(3407).description   // "3407"
/// ```
public struct IntegerSeed: Hashable, Sendable, CustomStringConvertible {
    /// Whether the value is below zero (never true for zero).
    public let isNegative: Bool
    /// The 32-bit words of `|value|`, least significant first, without high zero
    /// words (`[]` for zero).
    public let magnitudeWords: [UInt32]

    /// Creates a seed from any binary integer.
    public init(_ value: some BinaryInteger) {
        var words: [UInt32] = []
        for word in value.magnitude.words {
            var w = UInt64(word)
            for _ in 0..<(UInt.bitWidth / 32) {
                words.append(UInt32(truncatingIfNeeded: w))
                w >>= 32
            }
        }
        self.init(isNegative: value < 0, magnitudeWords: words)
    }

    /// Creates a seed from a sign and the magnitude's 32-bit words (least significant first).
    public init(isNegative: Bool, magnitudeWords: [UInt32]) {
        var words = magnitudeWords
        while words.last == 0 { words.removeLast() }
        self.magnitudeWords = words
        self.isNegative = isNegative && !words.isEmpty
    }

    /// Parses decimal text: an optional `-` or `+`, then one or more ASCII digits
    /// (at most 10,000), e.g. `"3407"`, `"-42"`, `"1267650600228229401496703205383"`.
    ///
    /// - Throws: ``IntegerSeedError/malformed(_:)`` for anything else.
    public init(parsing text: String) throws(IntegerSeedError) {
        var digits = Substring(text)
        var negative = false
        if let first = digits.first, first == "-" || first == "+" {
            negative = first == "-"
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty, digits.count <= 10_000,
              digits.utf8.allSatisfy({ (48...57).contains($0) }) else {
            throw .malformed(text)
        }
        var words: [UInt32] = []
        for ch in digits.utf8 {
            var carry = UInt64(ch - 48)
            for i in words.indices {
                let v = UInt64(words[i]) * 10 + carry
                words[i] = UInt32(truncatingIfNeeded: v)
                carry = v >> 32
            }
            if carry != 0 { words.append(UInt32(carry)) }
        }
        self.init(isNegative: negative, magnitudeWords: words)
    }

    /// The value as `UInt64`, or `nil` when it is negative or needs more than 64 bits.
    public var uint64: UInt64? {
        guard !isNegative, magnitudeWords.count <= 2 else { return nil }
        return magnitude64
    }

    /// The value as `Int64`, or `nil` when it does not fit.
    public var int64: Int64? {
        guard magnitudeWords.count <= 2 else { return nil }
        let m = magnitude64
        if isNegative { return m <= UInt64(Int64.max) + 1 ? Int64(truncatingIfNeeded: 0 &- m) : nil }
        return m <= UInt64(Int64.max) ? Int64(m) : nil
    }

    /// The low 64 bits of `|value|`.
    var magnitude64: UInt64 {
        let lo = magnitudeWords.first.map(UInt64.init) ?? 0
        let hi = magnitudeWords.count > 1 ? UInt64(magnitudeWords[1]) : 0
        return lo | (hi << 32)
    }

    /// The decimal text of the value (`"-42"`, `"0"`).
    public var description: String {
        (isNegative ? "-" : "") + Self.decimal(magnitudeWords)
    }

    /// Decimal digits of a non-negative integer given as 32-bit words, least
    /// significant first (`"0"` for no words).
    ///
    /// ```swift
    /// IntegerSeed.decimal([0, 1])   // "4294967296"
    /// ```
    public static func decimal(_ words: [UInt32]) -> String {
        var w = words
        var chunks: [UInt32] = []   // base 10^9, least significant first
        while w.contains(where: { $0 != 0 }) {
            var rem: UInt64 = 0
            for i in w.indices.reversed() {
                let v = (rem << 32) | UInt64(w[i])
                w[i] = UInt32(v / 1_000_000_000)
                rem = v % 1_000_000_000
            }
            chunks.append(UInt32(rem))
        }
        guard let top = chunks.popLast() else { return "0" }
        var s = String(top)
        for c in chunks.reversed() {
            let part = String(c)
            s += String(repeating: "0", count: 9 - part.count) + part
        }
        return s
    }
}

/// Why a seed's text was refused.
public enum IntegerSeedError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The text is not a decimal integer.
    case malformed(String)

    /// A sentence naming the problem.
    public var description: String {
        switch self {
        case .malformed(let text):
            return "seed '\(text)' is not a decimal integer (an optional '-' then digits)"
        }
    }
}
