import SwiftSyntax

/// An inline suppression: `// repro-lint: allow <rule> — <reason>` on the line of a finding, or
/// alone on the line just above it. The reason is required (after `—`, `–`, `--`, `-` or `:`);
/// a suppression without one, or naming no known rule, suppresses nothing and is itself reported
/// (``LintRule/invalidSuppression``).
struct Suppression: Equatable {
    /// The marker every suppression starts with, inside a `//` or `/*` comment.
    static let marker = "repro-lint:"

    var rule: LintRule
    var reason: String

    /// The outcome of reading one comment.
    enum Parsed: Equatable {
        case valid(Suppression)
        case invalid(String)
    }

    /// Reads the suppression in a comment's text (after `//` or `/*`), if it has the marker.
    static func parse(comment: Substring) -> Parsed? {
        guard let at = comment.range(of: marker) else { return nil }
        var rest = comment[at.upperBound...].drop { $0 == " " }
        if rest.hasSuffix("*/") { rest = rest.dropLast(2) }
        guard rest.hasPrefix("allow") else {
            return .invalid("expected `repro-lint: allow <rule> — <reason>`")
        }
        rest = rest.dropFirst("allow".count).drop { $0 == " " }
        let name = rest.prefix { $0.isLetter || $0 == "-" || $0.isNumber }
        var tail = rest.dropFirst(name.count)
        let id = String(name)
        guard let rule = LintRule(rawValue: id), rule != .invalidSuppression else {
            let known = LintRule.allCases.filter { $0 != .invalidSuppression }.map(\.rawValue).joined(separator: ", ")
            return .invalid("unknown rule '\(id)' (known: \(known))")
        }
        tail = tail.drop { $0 == " " }
        for separator in ["—", "–", "--", "-", ":"] where tail.hasPrefix(separator) {
            tail = tail.dropFirst(separator.count)
            break
        }
        let reason = tail.trimmingSpaces()
        guard !reason.isEmpty else {
            return .invalid("a suppression of \(rule.rawValue) needs a reason: `// repro-lint: allow \(rule.rawValue) — <why this is safe>`")
        }
        return .valid(Suppression(rule: rule, reason: reason))
    }
}

/// The suppressions of one file, by line, and the comments that failed to parse.
struct SuppressionTable {
    /// Valid suppressions by 1-based line, and whether that line holds only the comment.
    private var byLine: [Int: (rules: [LintRule], commentOnly: Bool)] = [:]
    /// Malformed suppressions: 1-based line, column, message.
    private(set) var invalid: [(line: Int, column: Int, message: String)] = []

    /// Reads every `//` and `/* */` comment of the file (doc comments are documentation, never
    /// suppressions) that starts with the marker.
    init(tree: SourceFileSyntax, converter: SourceLocationConverter, lines: [Substring]) {
        for token in tree.tokens(viewMode: .sourceAccurate) {
            var position = token.position
            for piece in token.leadingTrivia {
                record(piece, at: position, converter: converter, lines: lines)
                position += piece.sourceLength
            }
            position = token.endPositionBeforeTrailingTrivia
            for piece in token.trailingTrivia {
                record(piece, at: position, converter: converter, lines: lines)
                position += piece.sourceLength
            }
        }
    }

    private mutating func record(_ piece: TriviaPiece, at position: AbsolutePosition, converter: SourceLocationConverter,
                                 lines: [Substring]) {
        let body: Substring
        switch piece {
        case .lineComment(let text): body = text.dropFirst(2)
        case .blockComment(let text): body = text.dropFirst(2)
        default: return
        }
        guard body.drop(while: { $0 == " " }).hasPrefix(Suppression.marker) else { return }
        let location = converter.location(for: position)
        let line = location.line <= lines.count ? lines[location.line - 1] : ""
        let code = line.utf8.prefix(max(0, location.column - 1))
        let commentOnly = String(decoding: code, as: UTF8.self).trimmingSpaces().isEmpty
        switch Suppression.parse(comment: body) {
        case .valid(let s)?:
            byLine[location.line, default: ([], commentOnly)].rules.append(s.rule)
        case .invalid(let message)?:
            invalid.append((location.line, location.column, message))
        case nil:
            break
        }
    }

    /// Whether a finding of `rule` on `line` is suppressed: by a suppression on that line, or by one
    /// alone on the line above.
    func suppresses(_ rule: LintRule, line: Int) -> Bool {
        if let entry = byLine[line], entry.rules.contains(rule) { return true }
        if let above = byLine[line - 1], above.commentOnly, above.rules.contains(rule) { return true }
        return false
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs.
    func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
