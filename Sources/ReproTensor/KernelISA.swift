import Foundation
import _ReproKernelsAVX512

/// The instruction-set path ReproTensor's kernels take.
///
/// Every path computes the same bits: a wider vector changes which outputs are
/// computed together, never the order of one output's sum (docs/architecture.md,
/// "The contract"). The path only changes speed.
///
/// ```swift
/// print(Runtime.kernelISA)   // avx512 on a CPU with AVX-512F, else avx2 (x86-64) or neon (arm64)
/// ```
public enum KernelISA: String, Sendable, CaseIterable, Codable {
    /// Portable code generation: x86-64 built without the AVX2/FMA flags (`REPRO_NO_ISA_FLAGS=1`),
    /// or an architecture other than x86-64 and arm64.
    case baseline
    /// The Swift SIMD kernels compiled for AVX2 and FMA (the default x86-64 build).
    case avx2
    /// The Swift SIMD kernels on arm64 (NEON, fused multiply-add native).
    case neon
    /// The build's Swift kernels plus the 16-wide AVX-512F GEMM micro-kernels, Winograd F(4×4, 3×3)
    /// transforms and direct-convolution tiles, chosen at run time when the CPU has AVX-512F and the
    /// operating system saves the ZMM registers.
    case avx512
}

extension Runtime {
    /// The path the kernels take in the calling task: ``KernelISA/avx512`` when the CPU and
    /// operating system support it, otherwise what the build was compiled for
    /// (``compiledKernelISA``).
    ///
    /// `REPRO_ISA=avx2` or `REPRO_ISA=baseline` in the environment (read once, at the first use)
    /// forces the compiled Swift kernels on an AVX-512 machine; `REPRO_ISA=avx512` (or unset)
    /// allows the AVX-512 path. Compiler flags cannot be undone at run time, so `avx2` and
    /// `baseline` both select the compiled kernels, and the value reported here is the path that
    /// really runs. Any other value is ignored (``requestedKernelISA`` shows it). Results never
    /// depend on the path.
    ///
    /// ```swift
    /// let isa = Runtime.kernelISA   // e.g. .avx512
    /// ```
    public static var kernelISA: KernelISA { scopedKernelISA ?? processKernelISA }

    /// The path the Swift kernels were compiled for: ``KernelISA/avx2`` on x86-64 with
    /// Package.swift's flags, ``KernelISA/baseline`` without them, ``KernelISA/neon`` on arm64.
    public static let compiledKernelISA: KernelISA = {
        switch repro_compiled_isa_level() {
        case 2: return .avx2
        case 3: return .neon
        default: return .baseline
        }
    }()

    /// Whether this CPU and operating system can run the AVX-512F kernels (CPUID and XCR0).
    public static let cpuSupportsAVX512: Bool = repro_avx512_usable() != 0

    /// The raw value of `REPRO_ISA` when this process started, or `nil` when unset.
    public static let requestedKernelISA: String? = ProcessInfo.processInfo.environment["REPRO_ISA"]

    /// The process-wide path: the best available, lowered by `REPRO_ISA`.
    static let processKernelISA: KernelISA = {
        let request = requestedKernelISA.flatMap(KernelISA.init(rawValue:))
        switch request {
        case .avx2?, .baseline?, .neon?: return compiledKernelISA
        case .avx512?, nil: return cpuSupportsAVX512 ? .avx512 : compiledKernelISA
        }
    }()

    /// The paths this process can run, lowest first (the compiled one, then AVX-512 when supported).
    @_spi(Kernels) public static var availableKernelISAs: [KernelISA] {
        cpuSupportsAVX512 ? [compiledKernelISA, .avx512] : [compiledKernelISA]
    }

    /// Runs `body` with the kernels on path `isa` for the calling task and every thread-pool job
    /// it starts (a task-local choice; tests use it to run one kernel on both paths in one
    /// process). A path this process cannot run (see ``availableKernelISAs``) selects the
    /// compiled one.
    ///
    /// ```swift
    /// let forced = Runtime.withKernelISA(.avx2) { Runtime.kernelISA }   // the compiled kernels (.avx2 on x86-64)
    /// ```
    @_spi(Kernels) public static func withKernelISA<R>(_ isa: KernelISA, _ body: () throws -> R) rethrows -> R {
        let effective = isa == .avx512 && cpuSupportsAVX512 ? KernelISA.avx512 : compiledKernelISA
        return try $scopedKernelISA.withValue(effective, operation: body)
    }

    /// The override of ``withKernelISA(_:_:)`` (task-local; ``ThreadPool`` carries it into its jobs).
    @TaskLocal static var scopedKernelISA: KernelISA?

    /// Whether the GEMM tiles run on the AVX-512 micro-kernels in the calling task.
    static var usesAVX512: Bool { kernelISA == .avx512 }
}
