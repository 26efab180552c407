#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Where the time of a ``TrainingRun``'s steps went, phase by phase (`repro train --profile`).
///
/// The step phases are measured on the thread that calls ``TrainingRun/step()``: wall-clock
/// seconds, and the CPU seconds the whole process used meanwhile (compute threads and loader
/// workers together, so `processCPU / wall` near 2 means two busy cores). The loader stages are
/// the seconds each stage took on the thread that ran it (a loader worker, or the training thread
/// with no workers), summed over samples and threads. Timing never changes a value: the weights
/// are the same with or without anyone reading these.
///
/// ```swift
/// let data = try TrainingData.builtIn(count: 64, imageSize: 16)
/// var run = try TrainingRun(configuration: TrainingConfiguration(architecture: .cnnSmall, numClasses: 10, totalSteps: 2,
///                                                                batchSize: 8), data: data)
/// while !run.isFinished { _ = try run.step() }
/// let times = run.phaseTimes   // times.steps == 2; times.forwardBackward.wall > 0
/// ```
public struct TrainingPhaseTimes: Sendable, Equatable {
    /// One phase of the training thread.
    public struct Phase: Sendable, Equatable {
        /// Wall-clock seconds.
        public var wall: Double = 0
        /// CPU seconds of the whole process during the phase (all threads).
        public var processCPU: Double = 0

        /// A zero record.
        public init() {}
    }

    /// Steps measured.
    public var steps = 0
    /// Waiting for the next batch (with no loader workers: loading it on the training thread).
    public var batchWait = Phase()
    /// Forward passes, losses and backward passes of every micro-batch, and the gradient reduction.
    public var forwardBackward = Phase()
    /// Gradient clipping, the optimizer step (with re-preparing the model) and the schedule.
    public var optimizer = Phase()
    /// The scan of the updated weights for NaN and infinity.
    public var checks = Phase()
    /// Reading and decoding images (loader threads, summed).
    public var decode: Double = 0
    /// Per-sample transforms: cropping, flipping, colour jitter, normalisation (loader threads, summed).
    public var augment: Double = 0
    /// Stacking samples into the NHWC batch tensor (loader threads, summed).
    public var collate: Double = 0

    /// A zero record.
    public init() {}

    /// The training thread's phases together.
    public var stepTotal: Phase {
        var p = Phase()
        for q in [batchWait, forwardBackward, optimizer, checks] {
            p.wall += q.wall
            p.processCPU += q.processCPU
        }
        return p
    }
}

extension TrainingPhaseTimes {
    /// A point in time for phase measurements: the monotonic clock and the process's CPU clock.
    ///
    /// ```swift
    /// var phase = TrainingPhaseTimes.Phase()
    /// let start = TrainingPhaseTimes.Instant.now
    /// _ = start.lap(into: &phase)   // phase.wall: the seconds since `start`
    /// ```
    public struct Instant: Sendable {
        /// The monotonic clock's reading.
        public let wall: ContinuousClock.Instant
        /// CPU seconds the process had used (every thread).
        public let processCPU: Double

        /// A reading of both clocks.
        public init(wall: ContinuousClock.Instant, processCPU: Double) {
            self.wall = wall
            self.processCPU = processCPU
        }

        /// Both clocks now.
        public static var now: Instant { Instant(wall: .now, processCPU: processCPUSeconds()) }

        /// Adds the time since `self` to `phase` and returns the instant it measured to.
        @discardableResult
        public func lap(into phase: inout Phase) -> Instant {
            let end = Instant.now
            phase.wall += Self.seconds(end.wall - wall)
            phase.processCPU += end.processCPU - processCPU
            return end
        }

        /// Seconds of a duration.
        public static func seconds(_ d: Duration) -> Double {
            Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
        }

        /// CPU seconds the process has used (every thread; 0 where the clock is missing).
        public static func processCPUSeconds() -> Double {
            var ts = timespec()
            guard clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) == 0 else { return 0 }
            return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
        }
    }
}

/// The loader stages' times, written by whichever threads load (shared by copies of a run).
final class LoaderStageTimes: Sendable {
    private struct Totals { var decode = 0.0, augment = 0.0, collate = 0.0 }
    private let totals = Mutex(Totals())

    enum Stage { case decode, augment, collate }

    /// Runs `body` and adds its wall time to `stage`.
    func measure<R, E: Error>(_ stage: Stage, _ body: () throws(E) -> R) throws(E) -> R {
        let start = ContinuousClock.now
        defer {
            let s = TrainingPhaseTimes.Instant.seconds(ContinuousClock.now - start)
            totals.withLock {
                switch stage {
                case .decode: $0.decode += s
                case .augment: $0.augment += s
                case .collate: $0.collate += s
                }
            }
        }
        return try body()
    }

    /// Copies the totals into `times`.
    func fill(_ times: inout TrainingPhaseTimes) {
        totals.withLock {
            times.decode = $0.decode
            times.augment = $0.augment
            times.collate = $0.collate
        }
    }
}

extension Optional where Wrapped == LoaderStageTimes {
    /// `body`, timed into `stage` when there is a timer.
    func measure<R, E: Error>(_ stage: LoaderStageTimes.Stage, _ body: () throws(E) -> R) throws(E) -> R {
        guard let self else { return try body() }
        return try self.measure(stage, body)
    }
}
