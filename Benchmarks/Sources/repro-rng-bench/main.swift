// Generator throughput timings, printed as JSON, for the side-by-side
// scripts in ../bench. Each case reports the best of `--repeats` runs.
import Foundation
import Repro

/// Monotonic seconds.
func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Runs `body` `repeats` times and returns the best wall time in seconds.
func best(_ repeats: Int, _ body: () -> Void) -> Double {
    var b = Double.infinity
    for _ in 0..<repeats {
        let t0 = now()
        body()
        b = min(b, now() - t0)
    }
    return b
}

/// Keeps a value observable so the optimiser cannot drop the work.
@inline(never) func sink<T>(_ x: T) { withExtendedLifetime(x) {} }

let args = CommandLine.arguments.dropFirst()
let suite = args.first ?? "rng"
var repeats = 7
var count = 10_000_000
var it = args.dropFirst().makeIterator()
while let a = it.next() {
    switch a {
    case "--repeats": repeats = Int(it.next() ?? "") ?? repeats
    case "--count": count = Int(it.next() ?? "") ?? count
    default: FileHandle.standardError.write(Data("unknown option \(a)\n".utf8)); exit(2)
    }
}

var results: [(String, Double)] = []
switch suite {
case "rng":
    var buffer = [Float](repeating: 0, count: count)
    var philox = Philox4x32(seed: 42)
    results.append(("philox_uniform", best(repeats) {
        buffer.withUnsafeMutableBufferPointer { philox.fillUniform($0) }
        sink(buffer[count - 1])
    }))
    rngTorchCases(count: count, repeats: repeats, into: &results)
default:
    FileHandle.standardError.write(Data("unknown suite \(suite); known: rng\n".utf8))
    exit(2)
}

var json = "{\"count\": \(count), \"repeats\": \(repeats), \"seconds\": {"
json += results.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ")
json += "}}"
print(json)
