import Foundation

/// The one JSON writer of the `repro` tool: Foundation's `JSONEncoder` with sorted keys,
/// snake_case keys (converted from Swift's camelCase property names) and floats in
/// shortest round-trip form (`0.1` for the `Float` nearest 0.1). One value per line.
enum JSONOutput {
    /// `value` as one line of compact JSON (no trailing newline).
    static func line(_ value: some Encodable) throws(CLIError) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        do {
            return String(decoding: try encoder.encode(value), as: UTF8.self)
        } catch {
            throw CLIError("cannot write a result as JSON (\(error)); please report this")
        }
    }
}
