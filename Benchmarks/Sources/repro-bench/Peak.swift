import Foundation
@_spi(Kernels) import ReproTensor

/// Measures the FP32 peak: twelve independent SIMD8 FMA chains per thread
/// (latency 4 cycles × 2 pipes needs ≥ 8 chains in flight), as kernels.md describes.
enum Peak {
    @inline(never)
    static func chains(_ iterations: Int, _ out: UnsafeMutablePointer<Float>) {
        typealias V = SIMD8<Float>
        var c0 = V(repeating: 0.1), c1 = V(repeating: 0.2), c2 = V(repeating: 0.3), c3 = V(repeating: 0.4)
        var c4 = V(repeating: 0.5), c5 = V(repeating: 0.6), c6 = V(repeating: 0.7), c7 = V(repeating: 0.8)
        var c8 = V(repeating: 0.9), c9 = V(repeating: 1.0), c10 = V(repeating: 1.1), c11 = V(repeating: 1.2)
        let a = V(repeating: 0.999999), b = V(repeating: 1e-7)
        for _ in 0..<iterations {
            c0 = c0.addingProduct(a, b); c1 = c1.addingProduct(a, b); c2 = c2.addingProduct(a, b)
            c3 = c3.addingProduct(a, b); c4 = c4.addingProduct(a, b); c5 = c5.addingProduct(a, b)
            c6 = c6.addingProduct(a, b); c7 = c7.addingProduct(a, b); c8 = c8.addingProduct(a, b)
            c9 = c9.addingProduct(a, b); c10 = c10.addingProduct(a, b); c11 = c11.addingProduct(a, b)
        }
        let s = c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11
        out.pointee = s.sum()
    }

    /// GFLOP/s with `threads` threads (best of 5).
    static func measure(threads: Int) -> Double {
        let iters = 50_000_000
        let sink = UnsafeMutablePointer<Float>.allocate(capacity: 64)
        defer { sink.deallocate() }
        var best = 0.0
        for _ in 0..<5 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            ThreadPool.shared.run(participants: threads) { p in chains(iters, sink + p * 16) }
            let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
            best = max(best, Double(threads) * Double(iters) * 12 * 8 * 2 / dt / 1e9)
        }
        return best
    }
}
