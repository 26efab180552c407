import Foundation

/// Process CPU time in seconds (all threads).
func cpuSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Best and median wall-clock seconds of `body` over `reps` runs after one
/// warm-up, and the smallest process CPU time of a run (all threads summed).
func time(reps: Int, _ body: () -> Void) -> (best: Double, median: Double, cpu: Double) {
    body()
    var ts: [Double] = []
    var cpu = Double.infinity
    for _ in 0..<reps {
        let c0 = cpuSeconds()
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        ts.append(Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9)
        cpu = min(cpu, cpuSeconds() - c0)
    }
    ts.sort()
    return (ts[0], ts[ts.count / 2], cpu)
}

/// Deterministic inputs in [-1, 1) from a 64-bit LCG (no system randomness).
func seeded(_ n: Int, seed: UInt64) -> [Float] {
    var s = seed &* 6364136223846793005 &+ 1442695040888963407
    return (0..<n).map { _ in
        s = s &* 6364136223846793005 &+ 1442695040888963407
        return Float(s >> 40) * 0x1p-23 - 1
    }
}

/// A copy of `values` in 2 MB-aligned memory marked for transparent huge pages on
/// Linux (as ReproTensor allocates large tensors), so that the operands' cache-set
/// layout does not change from run to run with the physical placement of 4 KB pages.
func alignedBuffer(_ values: [Float]) -> UnsafeMutableBufferPointer<Float> {
    let bytes = max(values.count * 4, 4)
    let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 2 << 20)
    #if os(Linux)
    _ = madvise(raw, (bytes + 4095) & ~4095, MADV_HUGEPAGE)
    #endif
    let p = raw.bindMemory(to: Float.self, capacity: values.count)
    p.initialize(from: values, count: values.count)
    return UnsafeMutableBufferPointer(start: p, count: values.count)
}
