import Foundation

/// A one-line progress bar with an ETA, redrawn on standard error (`--progress`/`--no-progress`;
/// default: shown when standard error is a terminal).
final class ProgressBar: @unchecked Sendable {
    let total: Int
    let unit: String
    let enabled: Bool
    private var done = 0
    private let start = ContinuousClock.now
    private let lock = NSLock()

    init(total: Int, unit: String, enabled: Bool?) {
        self.total = total
        self.unit = unit
        self.enabled = enabled ?? (isatty(2) == 1)
    }

    /// Counts `count` more units done and redraws (`note` is appended, e.g. the epoch).
    func advance(by count: Int = 1, note: String = "") {
        guard enabled else { return }
        lock.lock(); defer { lock.unlock() }
        done += count
        let width = 30, filled = total == 0 ? width : width * min(done, total) / total
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        var eta = ""
        if done > 0, done < total {
            let left = Int((seconds / Double(done) * Double(total - done)).rounded())
            eta = String(format: " ETA %d:%02d", left / 60, left % 60)
        }
        let suffix = note.isEmpty ? "" : " (\(note))"
        FileHandle.standardError.write(Data("\r[\(bar)] \(done)/\(total) \(unit)\(suffix)\(eta)   ".utf8))
    }

    /// Ends the bar's line.
    func finish() {
        if enabled { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
