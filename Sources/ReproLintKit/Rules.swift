/// A determinism rule of `repro-lint`.
public enum LintRule: String, CaseIterable, Sendable, Codable, Comparable {
    /// `random(in:)`, `random()`, `shuffled()`, `shuffle()`, `randomElement()` without a `using:`
    /// generator, and any mention of `SystemRandomNumberGenerator`.
    case unseededRandom = "unseeded-random"
    /// `Date()`, `Date.now`, `UUID()` and `processIdentifier`: values that change on every run.
    case runVaryingValue = "run-varying-value"
    /// `for … in` over a `Set` or `Dictionary` (or its `keys`/`values`), whose order changes with the hash seed.
    case unorderedIteration = "unordered-iteration"
    /// `+=`-style accumulation into a captured floating-point variable inside `concurrentPerform` or a
    /// task group, or in a `for await` over a task group: the order of the sum follows thread timing.
    case parallelFloatAccumulation = "parallel-float-accumulation"
    /// A call of the C library's `exp`, `log`, `pow` (and relatives, `sin`, `cos`, …): their last bits differ between platforms.
    case platformMath = "platform-math"
    /// Fast-math or unchecked-optimisation flags in a `Package.swift`.
    case unsafeBuildFlag = "unsafe-build-flag"
    /// A `repro-lint: allow` comment without a known rule or without a reason.
    case invalidSuppression = "invalid-suppression"

    /// One line on what the rule finds and why it matters (SARIF `shortDescription`, `--list-rules`).
    public var summary: String {
        switch self {
        case .unseededRandom:
            return "Randomness from the system generator (no `using:` generator): different on every run."
        case .runVaryingValue:
            return "A clock, UUID or process id: a value that differs on every run must not reach a result."
        case .unorderedIteration:
            return "Iterating a Set or Dictionary: the order depends on the per-process hash seed."
        case .parallelFloatAccumulation:
            return "Floating-point accumulation across concurrent tasks: the summation order follows thread timing."
        case .platformMath:
            return "The platform's exp/log/pow: results differ in the last bits between C libraries and versions."
        case .unsafeBuildFlag:
            return "Fast-math or unchecked optimisation flags: the compiler may reorder floating-point arithmetic."
        case .invalidSuppression:
            return "A suppression comment must name a rule and give a reason: `// repro-lint: allow <rule> — <reason>`."
        }
    }

    /// Orders rules by their identifier.
    public static func < (a: LintRule, b: LintRule) -> Bool { a.rawValue < b.rawValue }
}

/// One problem found: where, which rule, and what exactly.
public struct LintFinding: Sendable, Equatable, Codable {
    /// The file as given on the command line (or found under a folder given there).
    public var file: String
    /// 1-based line.
    public var line: Int
    /// 1-based column (UTF-8 bytes from the start of the line, as swift-syntax counts them).
    public var column: Int
    /// The rule broken.
    public var rule: LintRule
    /// What was found.
    public var message: String
    /// The column in UTF-16 code units (SARIF's default unit), 1-based.
    public var utf16Column: Int

    /// A finding from its parts (`utf16Column` defaults to `column`, right for ASCII lines).
    public init(file: String, line: Int, column: Int, rule: LintRule, message: String, utf16Column: Int? = nil) {
        self.file = file
        self.line = line
        self.column = column
        self.rule = rule
        self.message = message
        self.utf16Column = utf16Column ?? column
    }

    enum CodingKeys: String, CodingKey { case file, line, column, rule, message }

    /// Decodes a finding written by `--format json`.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(file: try c.decode(String.self, forKey: .file), line: try c.decode(Int.self, forKey: .line),
                  column: try c.decode(Int.self, forKey: .column), rule: try c.decode(LintRule.self, forKey: .rule),
                  message: try c.decode(String.self, forKey: .message))
    }
}
