import Foundation
import Repro

/// The SHA-256 of a checkpoint's bytes, hashed on a thread of its own while the model is built
/// from the same bytes (``StateDict/fileSHA256()``: the mapping that was parsed, never the path
/// read again), and waited for only where it is first needed: recognising torchvision's official
/// v1 file, the provenance record and the manifest — always before any output is written, so no
/// output ever lacks it.
///
/// Hashing memory that is already mapped cannot fail with an I/O error (a file truncated while
/// mapped is the mapping hazard ``StateDict/FileAccess/memoryMapped`` describes, which loading
/// shares); a state dict with no source bytes is reported as an error at ``value()``.
final class CheckpointDigest: @unchecked Sendable {
    private let path: String
    private let condition = NSCondition()
    private var result: String??
    private var hashing: Duration = .zero
    private var waited: Duration = .zero

    /// Starts hashing `dict`'s source bytes on a new thread.
    init(_ dict: StateDict, path: String) {
        self.path = path
        Thread.detachNewThread { [self] in
            let clock = ContinuousClock()
            let start = clock.now
            let hex = dict.fileSHA256()
            let elapsed = clock.now - start
            condition.lock()
            result = .some(hex)
            hashing = elapsed
            condition.broadcast()
            condition.unlock()
        }
    }

    /// The lowercase hex digest, waiting for the hashing thread if it is still running.
    ///
    /// - Throws: ``CLIError`` when the state dict had no source bytes (not read from a file or an array).
    func value() throws(CLIError) -> String {
        let clock = ContinuousClock()
        let start = clock.now
        condition.lock()
        while result == nil { condition.wait() }
        let hex = result!
        waited += clock.now - start
        condition.unlock()
        guard let hex else { throw CLIError("\(path): the checkpoint's bytes are not available to hash") }
        return hex
    }

    /// Seconds the hashing thread took, and seconds callers of ``value()`` spent waiting for it
    /// (`repro detect --profile`; call after ``value()``).
    var seconds: (hashing: Double, waited: Double) {
        condition.lock()
        defer { condition.unlock() }
        return (DetectCommand.seconds(hashing), DetectCommand.seconds(waited))
    }
}
