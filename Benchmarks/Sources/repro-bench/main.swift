import Foundation
@_spi(Kernels) import ReproTensor

// repro-bench [--threads 1,2] [--only peak,gemm,conv,modes,prepacked,gemmconv,accuracy,rule,dispatch,wgrad] [--reps N]
//             [--algorithms direct,winograd,winogradF2x3,winogradF6x3] [--shapes 3x3_256-256_100x136,…|body] [--no-default]
//             [--sizes 512,1024,2048] (the square SGEMMs of --only gemm)
// Prints one line per measurement:
//   `kind name threads gflops_best gflops_median gflops_per_cpu_second×threads`
// The last column divides by process CPU time (threads summed) instead of wall
// time: on a shared machine it approximates what the code does when it has the
// cores to itself (time spent descheduled is not counted; cache interference is).
var threadList = [1, 2]
var only: Set<String> = ["peak", "gemm", "conv", "modes"]
var reps = 5
var algorithms: Set<String> = []
var shapeFilter: Set<String> = []
var defaultAlgorithm = true
var gemmSizes = [512, 1024, 2048]
var args = CommandLine.arguments.dropFirst()
while let a = args.popFirst() {
    switch a {
    case "--threads": threadList = (args.popFirst() ?? "1").split(separator: ",").compactMap { Int($0) }
    case "--only": only = Set((args.popFirst() ?? "").split(separator: ",").map(String.init))
    case "--reps": reps = Int(args.popFirst() ?? "5") ?? 5
    case "--no-default": defaultAlgorithm = false
    case "--sizes": gemmSizes = (args.popFirst() ?? "").split(separator: ",").compactMap { Int($0) }
    case "--shapes": shapeFilter = Set((args.popFirst() ?? "").split(separator: ",").map(String.init))
    case "--algorithms": algorithms = Set((args.popFirst() ?? "").split(separator: ",").map(String.init))
    default: FileHandle.standardError.write("unknown argument \(a)\n".data(using: .utf8)!); exit(2)
    }
}

func report(_ kind: String, _ name: String, _ threads: Int, _ flops: Double, _ t: (best: Double, median: Double, cpu: Double)) {
    print(String(format: "%@ %@ %d %.2f %.2f %.2f", kind, name, threads, flops / t.best / 1e9, flops / t.median / 1e9,
                 flops / (t.cpu / Double(threads)) / 1e9))
}

if only.contains("peak") {
    for t in threadList {
        let g = Peak.measure(threads: t)
        print(String(format: "peak fma-chains %d %.2f %.2f %.2f", t, g, g, g))
    }
}
if only.contains("gemm") {
    for size in gemmSizes {
        let a = alignedBuffer(seeded(size * size, seed: 1)), b = alignedBuffer(seeded(size * size, seed: 2))
        let c = alignedBuffer([Float](repeating: 0, count: size * size))
        defer { a.deallocate(); b.deallocate(); c.deallocate() }
        for t in threadList {
            do { let ap = UnsafeBufferPointer(a), bp = UnsafeBufferPointer(b), cp = c
                let r = time(reps: reps) {
                    GEMM.multiply(m: size, n: size, k: size, a: .init(ap.baseAddress!, rowStride: size),
                                  b: .init(bp.baseAddress!, rowStride: size), c: cp.baseAddress!, ldc: size, threads: t)
                }
                report("gemm", "\(size)x\(size)x\(size)", t, 2 * Double(size * size * size), r)
                if only.contains("prepacked") {
                    let packed = GEMM.PackedMatrix(.init(bp.baseAddress!, rowStride: size), k: size, n: size, threads: t)
                    let r2 = time(reps: reps) {
                        GEMM.multiply(m: size, a: .init(ap.baseAddress!, rowStride: size), packedB: packed,
                                      c: cp.baseAddress!, ldc: size, threads: t)
                    }
                    report("gemm-prepacked", "\(size)x\(size)x\(size)", t, 2 * Double(size * size * size), r2)
                }
            }
        }
    }
}
if only.contains("wgrad") {
    GradBench.run(threads: threadList, reps: reps)
}
if only.contains("gemmconv") {
    GEMMShapes.run(threads: threadList, reps: reps)
}
if only.contains("conv") {
    ConvBench.run(threads: threadList, reps: reps, algorithms: algorithms, shapes: shapeFilter, includeDefault: defaultAlgorithm)
}
if only.contains("rule") {
    RuleBench.run(threads: threadList, reps: reps)
}
if only.contains("accuracy") {
    AccuracyBench.run()
}
if only.contains("dispatch") {
    // Round trip of one ThreadPool dispatch with a tiny body (µs per call, best of reps).
    for t in threadList where t > 1 {
        var sink = 0
        let calls = 20_000
        let r = time(reps: reps) {
            for i in 0..<calls { ThreadPool.shared.forEachChunk(t, threads: t) { c in if c == i { sink &+= 1 } } }
        }
        print(String(format: "dispatch %d threads %.2f us/call (median %.2f, cpu %.2f)", t, r.best / Double(calls) * 1e6,
                     r.median / Double(calls) * 1e6, r.cpu / Double(calls) * 1e6))
        if sink == -1 { print("") }
    }
}
if only.contains("modes") {
    ModeBench.run(threads: threadList, reps: reps)
}
