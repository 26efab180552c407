import Foundation
import Testing
@_spi(Kernels) @testable import ReproTensor

/// Repro guarantees the floating-point mode its kernels assume: a host thread left in
/// flush-to-zero/denormals-are-zero is detected, and the thread pool's jobs still run in the
/// standard mode (subnormal results kept), on the caller and on the workers.
@Suite(.serialized) struct FloatingPointEnvironmentTests {
    /// A flush-to-zero mode that `current` must report (x86: FTZ|DAZ, arm64: FZ).
    static let flushing = FloatingPointEnvironment(
        controlWord: FloatingPointEnvironment.standard.controlWord
            | FloatingPointEnvironment.flushToZeroBit | FloatingPointEnvironment.denormalsAreZeroBit)

    /// Half the smallest normal float, computed at run time (a subnormal unless flushed).
    @inline(never) static func halfOfSmallestNormal(_ values: [Float]) -> Float { values[0] * values[1] }

    @Test func standardModeIsReportedAndAChangedModeIsDetected() {
        let start = FloatingPointEnvironment.current
        #expect(start.isStandard, "the test thread starts in \(start)")
        #expect(start.roundingMode == .toNearestEven && !start.flushesSubnormalResults)
        FloatingPointEnvironment.set(Self.flushing)
        let changed = FloatingPointEnvironment.current
        FloatingPointEnvironment.set(.standard)
        #expect(changed.flushesSubnormalResults && changed.treatsSubnormalInputsAsZero && !changed.isStandard)
        #expect(changed.description.contains("flush-to-zero"))
        #expect(FloatingPointEnvironment.current.isStandard)
    }

    @Test func poolJobsRunInTheStandardModeWhateverTheCallerLeft() throws {
        let operands: [Float] = [Float.leastNormalMagnitude, 0.5]
        FloatingPointEnvironment.set(Self.flushing)
        // The mode really changes arithmetic on this thread (so the checks below can fail)…
        let flushed = Self.halfOfSmallestNormal(operands)
        // …but not inside the pool's jobs: the serial path and a job on two threads.
        let pool = ThreadPool()
        var serial: Float = -1
        let results = UnsafeMutableBufferPointer<Float>.allocate(capacity: 4)
        results.initialize(repeating: -1)
        defer { results.deallocate() }
        Runtime.withThreadPool(pool) {
            ThreadPool.current.forEachChunk(1, threads: 1) { _ in serial = Self.halfOfSmallestNormal(operands) }
            ThreadPool.current.run(participants: 4) { p in results[p] = Self.halfOfSmallestNormal(operands) }
        }
        let after = FloatingPointEnvironment.current
        FloatingPointEnvironment.set(.standard)
        #expect(flushed == 0, "FTZ did not flush: the mode was not set")
        #expect(after == Self.flushing, "the caller's mode was not restored")
        let subnormal = Float.leastNormalMagnitude / 2
        #expect(serial == subnormal)
        #expect(Array(results) == [Float](repeating: subnormal, count: 4))
        #expect(pool.statistics.largestTeam >= 2, "the job did not run on several threads")
    }
}
