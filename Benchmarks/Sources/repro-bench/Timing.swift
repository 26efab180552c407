import Foundation

/// Best and median seconds of `body` over `reps` runs after one warm-up.
func time(reps: Int, _ body: () -> Void) -> (best: Double, median: Double) {
    body()
    var ts: [Double] = []
    for _ in 0..<reps {
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        ts.append(Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9)
    }
    ts.sort()
    return (ts[0], ts[ts.count / 2])
}

/// Deterministic inputs in [-1, 1) from a 64-bit LCG (no system randomness).
func seeded(_ n: Int, seed: UInt64) -> [Float] {
    var s = seed &* 6364136223846793005 &+ 1442695040888963407
    return (0..<n).map { _ in
        s = s &* 6364136223846793005 &+ 1442695040888963407
        return Float(s >> 40) * 0x1p-23 - 1
    }
}
