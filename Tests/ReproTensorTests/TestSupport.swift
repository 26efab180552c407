import ReproRandom
import Testing
@_spi(Kernels) @testable import ReproTensor

/// Seeded uniform floats in [-1, 1) (SplitMix64; never system randomness).
func seededFloats(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
    var g = SplitMix64(seed: seed)
    return (0..<count).map { _ in (Float(g.next() >> 40) * 0x1p-23 - 1) * scale }
}

/// Seeded tensor of the given shape.
func seededTensor(_ shape: [Int], seed: UInt64, scale: Float = 1) throws -> Tensor {
    try Tensor(shape: shape, scalars: seededFloats(shape.reduce(1, *), seed: seed, scale: scale))
}

/// Bit patterns, for exact comparisons.
func bits(_ v: [Float]) -> [UInt32] { v.map(\.bitPattern) }

/// Bit patterns of a float tensor.
func bits(_ t: Tensor) throws -> [UInt32] { bits(try t.scalars(as: Float.self)) }

/// Runtime settings with a thread count (everything else default).
func threads(_ n: Int) -> RuntimeSettings { RuntimeSettings(threads: n) }

/// The thread counts every invariance test covers.
let invarianceThreadCounts = [1, 2, 3, 4, 7]

/// Runs `body` with `t` threads on a pool of its own, so that no test running
/// at the same time can make the shared pool busy and the work fall back to
/// the calling thread, and checks that the work really ran on `t` threads:
/// no job fell back, and the largest job had `t` distinct threads (none with
/// `t == 1`). The case must therefore offer its largest kernel call at least
/// `t` work chunks — or, with `team: .requested` (kernel edge-case shapes that
/// cannot use `t` threads), the largest job had every thread it asked for.
@discardableResult
func onOwnPool<R>(
    threads t: Int, team: ExpectedTeam = .threads, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> R
) throws -> R {
    let pool = ThreadPool()
    let result = try Runtime.withSettings(threads(t)) { try Runtime.withThreadPool(pool, body) }
    let s = pool.statistics
    #expect(s.serialFallbacks == 0, "threads \(t): \(s.serialFallbacks) jobs ran on one thread", sourceLocation: sourceLocation)
    let expected = t == 1 ? 0 : team == .threads ? t : s.largestRequest
    #expect(s.largestTeam == expected, "threads \(t): largest job ran on \(s.largestTeam) threads (\(s))",
            sourceLocation: sourceLocation)
    return result
}

/// What ``onOwnPool(threads:team:sourceLocation:_:)`` expects of the largest job.
enum ExpectedTeam {
    /// Exactly the requested thread count.
    case threads
    /// Every participant the largest job asked for, on its own thread.
    case requested
}

/// Runs `body` once on every kernel path this process can run (``Runtime/availableKernelISAs``:
/// the compiled Swift kernels, and the AVX-512 tiles where the CPU has them), each forced with
/// ``Runtime/withKernelISA(_:_:)``, and checks that the path really was in effect.
func onEveryKernelPath(
    sourceLocation: SourceLocation = #_sourceLocation, _ body: (KernelISA) throws -> Void
) rethrows {
    for isa in Runtime.availableKernelISAs {
        try Runtime.withKernelISA(isa) {
            #expect(Runtime.kernelISA == isa, sourceLocation: sourceLocation)
            try body(isa)
        }
    }
}
