import Foundation
import ReproRandom
import Testing
@_spi(Kernels) @testable import ReproTensor

/// The run-time kernel path (``Runtime/kernelISA``): CPU detection, the scoped override the
/// other kernel tests use to run on every path, and random GEMM shapes on every path against
/// the scalar reference.
@Suite struct KernelISATests {
    @Test func detectionAgreesWithTheKernelsCPUFlags() throws {
        #if os(Linux) && arch(x86_64)
        // Linux lists `avx512f` only when the CPU has it and the kernel saves the ZMM state.
        let info = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let flags = info.split(separator: "\n").first { $0.hasPrefix("flags") }.map { $0.split(separator: " ").map(String.init) } ?? []
        #expect(Runtime.cpuSupportsAVX512 == flags.contains("avx512f"))
        #expect(Runtime.compiledKernelISA == .avx2 || Runtime.compiledKernelISA == .baseline)
        #elseif arch(arm64)
        #expect(!Runtime.cpuSupportsAVX512)
        #expect(Runtime.compiledKernelISA == .neon)
        #endif
        #expect(Runtime.availableKernelISAs.first == Runtime.compiledKernelISA)
        #expect(Runtime.availableKernelISAs.contains(.avx512) == Runtime.cpuSupportsAVX512)
    }

    @Test func theOverrideReachesEveryThreadOfAJob() throws {
        for isa in Runtime.availableKernelISAs {
            let seen = Locked([KernelISA?](repeating: nil, count: 3))
            try Runtime.withKernelISA(isa) {
                try onOwnPool(threads: 3) {
                    ThreadPool.current.run(participants: 3) { p in
                        let here = Runtime.kernelISA
                        seen.withLock { $0[p] = here }
                    }
                }
            }
            #expect(seen.withLock { $0 } == [isa, isa, isa])
        }
        // A path the CPU lacks falls back to the compiled one.
        if !Runtime.cpuSupportsAVX512 {
            #expect(Runtime.withKernelISA(.avx512) { Runtime.kernelISA } == Runtime.compiledKernelISA)
        }
    }

    /// Random shapes: M, N, K mostly not multiples of 6 or 16, odd and even numbers of row
    /// panels (the AVX-512 path pairs them), several KC blocks and K pieces, both epilogue
    /// axes, prepacked and strided operands — every path bit-identical to the scalar reference
    /// and to each other.
    @Test func randomShapesGiveTheReferenceBitsOnEveryPath() throws {
        var g = SplitMix64(seed: 2026)
        func draw(_ r: ClosedRange<Int>) -> Int { r.lowerBound + Int(g.next() % UInt64(r.count)) }
        for trial in 0..<24 {
            let big = trial % 6 == 5
            let c = GEMMBlockingTests.Case(
                m: big ? draw(140...310) : draw(1...75), n: big ? draw(200...300) : draw(1...70),
                k: trial % 4 == 3 ? draw(2049...2400) : draw(1...800),
                transposedA: g.next() % 4 == 0, transposedB: g.next() % 3 == 0,
                prepacked: g.next() % 2 == 0, rowsEpilogue: g.next() % 2 == 0)
            var outputs: [[UInt32]] = []
            try onEveryKernelPath { isa in
                let threads = 1 + trial % 3
                let r = try onOwnPool(threads: threads, team: .requested) {
                    GEMMBlockingTests.run(c, threads: threads, split: .automatic, seed: UInt64(trial))
                }
                #expect(bits(r.fast) == bits(r.ref), "\(isa) \(c)")
                outputs.append(bits(r.fast))
            }
            #expect(Set(outputs).count == 1, "\(c): the paths disagree")
        }
    }

    @Test func environmentRequestIsParsedOnce() {
        // The process-wide path follows REPRO_ISA as read at start-up.
        switch Runtime.requestedKernelISA.flatMap(KernelISA.init(rawValue:)) {
        case .avx2?, .baseline?, .neon?: #expect(Runtime.processKernelISA == Runtime.compiledKernelISA)
        default: #expect(Runtime.processKernelISA == (Runtime.cpuSupportsAVX512 ? .avx512 : Runtime.compiledKernelISA))
        }
    }
}
