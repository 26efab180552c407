import SwiftParser
import SwiftSyntax

/// Lints Swift source text for sources of nondeterminism (the rules of ``LintRule``).
///
/// The rules are syntactic — no type checking — so each one is a documented heuristic:
///
/// - ``LintRule/unseededRandom``: the standard library's calls that draw from the system generator —
///   `T.random(in:)`, `Type.random()` (e.g. `Bool.random()`), `shuffle()`, `shuffled()` and
///   `randomElement()` with no arguments (their `using:` forms are fine; other signatures, such as a
///   generator's own `g.random()`, are other functions) — and any mention of `SystemRandomNumberGenerator`.
/// - ``LintRule/runVaryingValue``: `Date()`, `Date.now`, `UUID()`, `getpid()` and any `.processIdentifier`.
///   Whether the value reaches a result cannot be seen from syntax, so every use is flagged; a legitimate
///   one (a timing, a log line) carries a suppression saying so.
/// - ``LintRule/unorderedIteration``: `for … in X` (or `X.forEach`) where `X` — or the base of
///   `X.keys`, `X.values`, `X.enumerated()` — is a name this file declares (a variable, property or
///   parameter, in any scope) with a `Set`/`Dictionary` type, a `[K: V]` type, or a `Set(…)`,
///   `Dictionary(…)` or `[:]`/`[k: v]` initial value; or `X` is itself such a literal or call. Iterating
///   `X.sorted(…)` is not flagged.
/// - ``LintRule/parallelFloatAccumulation``: `+=`, `-=`, `*=`, `/=` on a name declared in this file with a
///   floating-point type (`Float`, `Double`, `Float16`, `Float32`, `Float64`, `Float80`, `CGFloat`) or a
///   floating-point literal as initial value, inside a closure passed to `concurrentPerform`, `addTask`
///   or `addTaskUnlessCancelled`, or in the body of a `for await` loop, when the name is not declared
///   inside that closure or loop (a per-task local accumulator is fine).
/// - ``LintRule/platformMath``: a call of `exp`, `log`, `pow` and their relatives (`expf`, `exp2`, `expm1`,
///   `log2`, `log10`, `log1p`, `powf`, …, and `sin`, `cos`, `tan`, `tanh`, `atan2`) by their bare name, or qualified by `Foundation`, `Glibc`,
///   `Darwin`, `Musl` or `CoreFoundation` — unless an enclosing type declares a function of that name
///   (the bare call then means that function, as in a type providing its own `exp`). Member calls such
///   as `x.exp()` or `ElementaryFunctions.exp(x)` are never flagged.
/// - ``LintRule/unsafeBuildFlag``: in a file named `Package.swift`, a string literal that is (or
///   contains, as a whitespace-separated word) a fast-math or unchecked flag (``unsafeFlags``).
///
/// For example, `Linter().lint(source: "let x = Int.random(in: 0..<10)", file: "a.swift")` returns one
/// ``LintFinding`` of ``LintRule/unseededRandom`` at line 1, column 13.
public struct Linter: Sendable {
    /// Flags refused in a `Package.swift`.
    public static let unsafeFlags = [
        "-Ounchecked", "-Ofast", "-ffast-math", "-funsafe-math-optimizations", "-fassociative-math",
        "-freciprocal-math", "-ffinite-math-only", "-fno-signed-zeros", "-fno-trapping-math", "-ffp-contract=fast",
        "-enable-unsafe-fp-math", "-enable-no-nans-fp-math", "-enable-no-infs-fp-math", "-remove-runtime-asserts",
    ]

    /// C library functions flagged by ``LintRule/platformMath``.
    public static let platformMathFunctions: Set<String> = [
        "exp", "expf", "expl", "exp2", "exp2f", "expm1", "expm1f", "log", "logf", "logl", "log2", "log2f",
        "log10", "log10f", "log1p", "log1pf", "pow", "powf", "powl", "sin", "sinf", "cos", "cosf", "tan", "tanf",
        "tanh", "tanhf", "atan2", "atan2f",
    ]

    /// A linter.
    public init() {}

    /// The findings in one file's text, in source order, suppressions applied. `file` names the file
    /// in the findings (and decides whether the `Package.swift` rule applies).
    public func lint(source: String, file: String) -> [LintFinding] {
        let tree = Parser.parse(source: source)
        let converter = SourceLocationConverter(fileName: file, tree: tree)
        let names = DeclaredNames(viewMode: .sourceAccurate)
        names.walk(tree)
        let isManifest = file == "Package.swift" || file.hasSuffix("/Package.swift")
        let visitor = RuleVisitor(names: names, isManifest: isManifest)
        visitor.walk(tree)
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
        let table = SuppressionTable(tree: tree, converter: converter, lines: lines)
        func finding(line: Int, column: Int, rule: LintRule, message: String) -> LintFinding {
            LintFinding(file: file, line: line, column: column, rule: rule, message: message,
                        utf16Column: Self.utf16Column(line <= lines.count ? lines[line - 1] : "", utf8Column: column))
        }
        var findings: [LintFinding] = []
        for hit in visitor.hits {
            let location = converter.location(for: hit.position)
            guard !table.suppresses(hit.rule, line: location.line) else { continue }
            findings.append(finding(line: location.line, column: location.column, rule: hit.rule, message: hit.message))
        }
        for bad in table.invalid {
            findings.append(finding(line: bad.line, column: bad.column, rule: .invalidSuppression, message: bad.message))
        }
        return findings.sorted { ($0.line, $0.column, $0.rule.rawValue) < ($1.line, $1.column, $1.rule.rawValue) }
    }

    /// The 1-based UTF-16 column of a 1-based UTF-8 column in `line` (SARIF's default column unit).
    static func utf16Column(_ line: Substring, utf8Column: Int) -> Int {
        let bytes = Array(line.utf8)
        let prefix = bytes.prefix(max(0, utf8Column - 1))
        return String(decoding: prefix, as: UTF8.self).utf16.count + 1
    }
}

/// Names this file declares with an unordered-collection type or a floating-point type (first pass).
final class DeclaredNames: SyntaxVisitor {
    private(set) var unordered: Set<String> = []
    private(set) var floating: Set<String> = []

    static let floatTypes: Set<String> = ["Float", "Double", "Float16", "Float32", "Float64", "Float80", "CGFloat"]

    override func visit(_ node: PatternBindingSyntax) -> SyntaxVisitorContinueKind {
        guard let name = node.pattern.as(IdentifierPatternSyntax.self)?.identifier.text else { return .visitChildren }
        if let type = node.typeAnnotation?.type {
            if Self.isUnordered(type) { unordered.insert(name) }
            if Self.isFloat(type) { floating.insert(name) }
        }
        if let value = node.initializer?.value {
            if Self.isUnordered(value) { unordered.insert(name) }
            if Self.isFloat(value) { floating.insert(name) }
        }
        return .visitChildren
    }

    override func visit(_ node: FunctionParameterSyntax) -> SyntaxVisitorContinueKind {
        let name = (node.secondName ?? node.firstName).text
        if Self.isUnordered(node.type) { unordered.insert(name) }
        if Self.isFloat(node.type) { floating.insert(name) }
        return .visitChildren
    }

    static func isUnordered(_ type: TypeSyntax) -> Bool {
        if type.is(DictionaryTypeSyntax.self) { return true }
        if let o = type.as(OptionalTypeSyntax.self) { return isUnordered(o.wrappedType) }
        if let o = type.as(ImplicitlyUnwrappedOptionalTypeSyntax.self) { return isUnordered(o.wrappedType) }
        if let t = type.as(IdentifierTypeSyntax.self) { return ["Set", "Dictionary"].contains(t.name.text) }
        return false
    }

    static func isFloat(_ type: TypeSyntax) -> Bool {
        if let o = type.as(OptionalTypeSyntax.self) { return isFloat(o.wrappedType) }
        if let t = type.as(IdentifierTypeSyntax.self) { return floatTypes.contains(t.name.text) }
        return false
    }

    /// `[:]`, `[k: v]`, `Set(…)`, `Set<T>()`, `Dictionary(…)`.
    static func isUnordered(_ expr: ExprSyntax) -> Bool {
        if expr.is(DictionaryExprSyntax.self) { return true }
        if let call = expr.as(FunctionCallExprSyntax.self) {
            var callee = call.calledExpression
            if let g = callee.as(GenericSpecializationExprSyntax.self) { callee = g.expression }
            if let r = callee.as(DeclReferenceExprSyntax.self) { return ["Set", "Dictionary"].contains(r.baseName.text) }
        }
        return false
    }

    /// A floating-point literal (possibly negated) or a `Float(…)`/`Double(…)` conversion.
    static func isFloat(_ expr: ExprSyntax) -> Bool {
        if expr.is(FloatLiteralExprSyntax.self) { return true }
        if let p = expr.as(PrefixOperatorExprSyntax.self) { return isFloat(p.expression) }
        if let call = expr.as(FunctionCallExprSyntax.self), let r = call.calledExpression.as(DeclReferenceExprSyntax.self) {
            return floatTypes.contains(r.baseName.text)
        }
        return false
    }
}

/// The rules (second pass): positions of rule hits, before suppressions.
final class RuleVisitor: SyntaxVisitor {
    struct Hit {
        var position: AbsolutePosition
        var rule: LintRule
        var message: String
    }

    let names: DeclaredNames
    let isManifest: Bool
    private(set) var hits: [Hit] = []

    init(names: DeclaredNames, isManifest: Bool) {
        self.names = names
        self.isManifest = isManifest
        super.init(viewMode: .sourceAccurate)
    }

    private func hit(_ node: some SyntaxProtocol, _ rule: LintRule, _ message: String) {
        hits.append(Hit(position: node.positionAfterSkippingLeadingTrivia, rule: rule, message: message))
    }

    /// The standard library's forms that use the system generator: `T.random(in:)`, `Type.random()`
    /// (`Bool.random()`), and `shuffle()`, `shuffled()`, `randomElement()` without arguments. Calls
    /// with other labels (a library's own `g.random()`, `rng.shuffle(&x)`) are different functions.
    static func isStandardUnseededRandom(name: String, base: ExprSyntax?, call: FunctionCallExprSyntax) -> Bool {
        let labels = call.arguments.map { $0.label?.text }
        switch name {
        case "random":
            if labels == ["in"] { return true }
            guard labels.isEmpty, call.trailingClosure == nil else { return false }
            // `Bool.random()` (a type), not `generator.random()` (an instance's own method).
            let baseName = base?.as(DeclReferenceExprSyntax.self)?.baseName.text
            return baseName?.first?.isUppercase == true
        case "shuffle", "shuffled", "randomElement":
            return labels.isEmpty && call.trailingClosure == nil
        default:
            return false
        }
    }
    static let mathModules: Set<String> = ["Foundation", "Glibc", "Darwin", "Musl", "CoreFoundation"]
    static let concurrentCalls: Set<String> = ["concurrentPerform", "addTask", "addTaskUnlessCancelled"]

    // MARK: Calls: unseeded randomness, run-varying values, platform math, forEach over unordered collections

    override func visit(_ node: FunctionCallExprSyntax) -> SyntaxVisitorContinueKind {
        let callee = node.calledExpression
        if let member = callee.as(MemberAccessExprSyntax.self) {
            let name = member.declName.baseName.text
            if Self.isStandardUnseededRandom(name: name, base: member.base, call: node) {
                hit(member.declName, .unseededRandom,
                    "`\(name)(\(Self.labels(node)))` draws from the system generator; pass `using:` a seeded generator")
            }
            if let base = member.base?.as(DeclReferenceExprSyntax.self), Self.mathModules.contains(base.baseName.text),
               Linter.platformMathFunctions.contains(name) {
                hit(node, .platformMath, "`\(base.baseName.text).\(name)` is the C library's; use Repro's own elementary functions")
            }
            if name == "forEach", let base = member.base, unorderedDescription(base) != nil {
                hit(node, .unorderedIteration, "`forEach` over \(unorderedDescription(base)!): the order depends on the hash seed; iterate a sorted copy")
            }
        } else if let ref = callee.as(DeclReferenceExprSyntax.self) {
            let name = ref.baseName.text
            if (name == "Date" || name == "UUID") && node.arguments.isEmpty && node.trailingClosure == nil {
                hit(node, .runVaryingValue, "`\(name)()` differs on every run; it must not reach a result")
            } else if name == "getpid" && node.arguments.isEmpty {
                hit(node, .runVaryingValue, "`getpid()` differs on every run; it must not reach a result")
            } else if Linter.platformMathFunctions.contains(name), !enclosingTypeDeclares(function: name, from: Syntax(node)) {
                hit(node, .platformMath, "`\(name)` is the C library's (its last bits vary by platform); use Repro's own elementary functions")
            }
        }
        return .visitChildren
    }

    override func visit(_ node: MemberAccessExprSyntax) -> SyntaxVisitorContinueKind {
        let name = node.declName.baseName.text
        if name == "processIdentifier" {
            hit(node.declName, .runVaryingValue, "the process id differs on every run; it must not reach a result")
        } else if name == "now", node.base?.as(DeclReferenceExprSyntax.self)?.baseName.text == "Date" {
            hit(node, .runVaryingValue, "`Date.now` differs on every run; it must not reach a result")
        }
        return .visitChildren
    }

    override func visit(_ node: DeclReferenceExprSyntax) -> SyntaxVisitorContinueKind {
        if node.baseName.text == "SystemRandomNumberGenerator" {
            hit(node, .unseededRandom, "`SystemRandomNumberGenerator` is unseeded: different on every run")
        }
        return .visitChildren
    }

    override func visit(_ node: IdentifierTypeSyntax) -> SyntaxVisitorContinueKind {
        if node.name.text == "SystemRandomNumberGenerator" {
            hit(node, .unseededRandom, "`SystemRandomNumberGenerator` is unseeded: different on every run")
        }
        return .visitChildren
    }

    // MARK: for-in over unordered collections

    override func visit(_ node: ForStmtSyntax) -> SyntaxVisitorContinueKind {
        if let what = unorderedDescription(node.sequence) {
            hit(node.sequence, .unorderedIteration, "`for … in` over \(what): the order depends on the hash seed; iterate a sorted copy")
        }
        return .visitChildren
    }

    /// What makes `expr` an unordered collection (for the message), or nil.
    private func unorderedDescription(_ expr: ExprSyntax) -> String? {
        if DeclaredNames.isUnordered(expr) { return "a Set/Dictionary value" }
        if let name = Self.referencedName(expr), names.unordered.contains(name) {
            return "`\(name)` (a Set or Dictionary)"
        }
        if let member = expr.as(MemberAccessExprSyntax.self), let base = member.base,
           ["keys", "values"].contains(member.declName.baseName.text),
           let name = Self.referencedName(base), names.unordered.contains(name) {
            return "`\(name).\(member.declName.baseName.text)` (of a Dictionary)"
        }
        if let call = expr.as(FunctionCallExprSyntax.self), let member = call.calledExpression.as(MemberAccessExprSyntax.self),
           ["enumerated", "lazy"].contains(member.declName.baseName.text), let base = member.base {
            return unorderedDescription(base)
        }
        if let member = expr.as(MemberAccessExprSyntax.self), member.declName.baseName.text == "lazy", let base = member.base {
            return unorderedDescription(base)
        }
        return nil
    }

    /// `name` or `self.name`.
    static func referencedName(_ expr: ExprSyntax) -> String? {
        if let r = expr.as(DeclReferenceExprSyntax.self) { return r.baseName.text }
        if let m = expr.as(MemberAccessExprSyntax.self), m.base?.as(DeclReferenceExprSyntax.self)?.baseName.text == "self" {
            return m.declName.baseName.text
        }
        return nil
    }

    // MARK: Floating-point accumulation in concurrent code

    static let compoundOperators: Set<String> = ["+=", "-=", "*=", "/="]

    override func visit(_ node: SequenceExprSyntax) -> SyntaxVisitorContinueKind {
        let elements = Array(node.elements)
        for (i, element) in elements.enumerated() where i > 0 {
            guard let op = element.as(BinaryOperatorExprSyntax.self), Self.compoundOperators.contains(op.operator.text),
                  let name = Self.referencedName(elements[i - 1]), names.floating.contains(name) else { continue }
            if let region = concurrentRegion(of: Syntax(node)), !declares(name, in: region.node) {
                hit(elements[i - 1], .parallelFloatAccumulation,
                    "`\(name) \(op.operator.text)` accumulates a floating-point value \(region.description): "
                    + "the summation order follows thread timing; reduce per task, then combine in a fixed order")
            }
        }
        return .visitChildren
    }

    /// The innermost enclosing closure run concurrently, or `for await` loop body, if any.
    private func concurrentRegion(of node: Syntax) -> (node: Syntax, description: String)? {
        var current = node.parent
        while let n = current {
            if let closure = n.as(ClosureExprSyntax.self), let call = Self.callTaking(closure),
               let name = Self.calleeName(call), Self.concurrentCalls.contains(name) {
                return (Syntax(closure), "inside `\(name)`")
            }
            if let loop = n.as(ForStmtSyntax.self), loop.awaitKeyword != nil {
                return (Syntax(loop.body), "in a `for await` loop (results arrive in completion order)")
            }
            current = n.parent
        }
        return nil
    }

    /// The call a closure is an argument (or trailing closure) of.
    static func callTaking(_ closure: ClosureExprSyntax) -> FunctionCallExprSyntax? {
        var p = closure.parent
        if p?.is(LabeledExprSyntax.self) == true { p = p?.parent?.parent }
        return p?.as(FunctionCallExprSyntax.self)
    }

    static func calleeName(_ call: FunctionCallExprSyntax) -> String? {
        if let m = call.calledExpression.as(MemberAccessExprSyntax.self) { return m.declName.baseName.text }
        return call.calledExpression.as(DeclReferenceExprSyntax.self)?.baseName.text
    }

    /// Whether `region` declares a variable or parameter called `name`.
    private func declares(_ name: String, in region: Syntax) -> Bool {
        final class Finder: SyntaxVisitor {
            let name: String
            var found = false
            init(_ name: String) {
                self.name = name
                super.init(viewMode: .sourceAccurate)
            }
            override func visit(_ node: IdentifierPatternSyntax) -> SyntaxVisitorContinueKind {
                if node.identifier.text == name { found = true }
                return .visitChildren
            }
            override func visit(_ node: ClosureShorthandParameterSyntax) -> SyntaxVisitorContinueKind {
                if node.name.text == name { found = true }
                return .visitChildren
            }
            override func visit(_ node: ClosureParameterSyntax) -> SyntaxVisitorContinueKind {
                if (node.secondName ?? node.firstName).text == name { found = true }
                return .visitChildren
            }
        }
        let finder = Finder(name)
        finder.walk(region)
        return finder.found
    }

    // MARK: Platform math helpers

    /// Whether a type around `node` declares a function called `name` (a bare call then means it).
    private func enclosingTypeDeclares(function name: String, from node: Syntax) -> Bool {
        var current = node.parent
        while let n = current {
            if let group = n.asProtocol((any DeclGroupSyntax).self) {
                for member in group.memberBlock.members {
                    if member.decl.as(FunctionDeclSyntax.self)?.name.text == name { return true }
                }
            }
            current = n.parent
        }
        return false
    }

    static func labels(_ call: FunctionCallExprSyntax) -> String {
        call.arguments.map { ($0.label?.text ?? "_") + ":" }.joined()
    }

    // MARK: Package.swift flags

    override func visit(_ node: StringSegmentSyntax) -> SyntaxVisitorContinueKind {
        guard isManifest else { return .skipChildren }
        let words = node.content.text.split(whereSeparator: { $0 == " " || $0 == "\t" })
        for word in words where Linter.unsafeFlags.contains(String(word)) {
            hit(node, .unsafeBuildFlag, "`\(word)` lets the compiler change floating-point results or drop checks; "
                + "a reproducible build must not use it")
        }
        return .skipChildren
    }
}
