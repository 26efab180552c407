import Foundation

/// The gate every nondeterministic algorithm passes through.
///
/// An algorithm is *nondeterministic* when its bits depend on timing, thread
/// count or batch composition. While ``Runtime/deterministicAlgorithms`` is on
/// it is refused with ``TensorError/nondeterministicAlgorithm(op:algorithm:reason:)``;
/// with ``Runtime/warnOnly`` on it runs and is reported once per operation on
/// standard error (and in ``Runtime/warnedOperations``).
///
/// ```swift
/// try Nondeterminism.check(op: "matmul", algorithm: "splitK", reason: "partial sums follow the thread count")
/// ```
public enum Nondeterminism {
    /// Throws, warns or passes according to the current ``Runtime/settings``.
    public static func check(op: String, algorithm: String, reason: String) throws(TensorError) {
        let s = Runtime.settings
        guard s.deterministicAlgorithms else { return }
        let error = TensorError.nondeterministicAlgorithm(op: op, algorithm: algorithm, reason: reason)
        guard s.warnOnly else { throw error }
        if Runtime.markWarned(op) {
            FileHandle.standardError.write(Data("warning: \(error.description) (running it because Runtime.warnOnly is on)\n".utf8))
        }
    }
}

/// Timing-based choice among *deterministic* algorithms, used only while
/// ``Runtime/benchmark`` is on. The first choice per key is recorded in
/// ``Runtime/autotuneChoices`` and reused, and the call's result is always the
/// chosen candidate's. Matmul's thread splits give identical bits; direct and
/// Winograd convolution do not (each is deterministic, their bits differ).
enum Autotuner {
    /// Returns the recorded choice for `key`, or times each candidate once
    /// (each run does the real work) and records the fastest.
    static func choose<C: RawRepresentable>(key: String, candidates: [C], run: (C) -> Void) -> C where C.RawValue == String {
        if let old = Runtime.recordedChoice(key: key), let c = C(rawValue: old) {
            run(c)
            return c
        }
        var best = candidates[0], bestTime = UInt64.max
        for c in candidates {
            let t0 = DispatchTime.now().uptimeNanoseconds
            run(c)
            let dt = DispatchTime.now().uptimeNanoseconds - t0
            if dt < bestTime { bestTime = dt; best = c }
        }
        let chosen = C(rawValue: Runtime.recordChoice(key: key, choice: best.rawValue)) ?? best
        // The caller keeps the last run's output: make it the chosen candidate's
        // (candidates may differ in bits, e.g. direct vs Winograd convolution).
        if chosen.rawValue != candidates[candidates.count - 1].rawValue { run(chosen) }
        return chosen
    }
}
