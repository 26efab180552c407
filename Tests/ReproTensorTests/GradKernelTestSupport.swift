import Foundation
import ReproRandom
import Testing
import _ReproTestSupport
@_spi(Kernels) @testable import ReproTensor

/// Helpers of the backward-kernel tests: fixtures of `scripts/make_gradkernel_fixtures.py`
/// (floats as float32 bit patterns, activations NHWC), finite differences in Double.
enum GradFixture {
    /// The cases of `Tests/Fixtures/gradkernels/<name>.json`.
    static func cases(_ name: String) throws -> [JSON] {
        let cases = try Fixtures.json("gradkernels/\(name).json")["cases"].array
        #expect(!cases.isEmpty, "\(name): no cases")
        return cases
    }
}

extension JSON {
    /// A float32 vector stored as bit patterns.
    var floats: [Float] { get throws { try array.map { Float(bitPattern: UInt32(try $0.uint64)) } } }
    /// An integer.
    var int: Int { get throws { Int(try int64) } }
    /// A pair of integers.
    var pair: (Int, Int) { get throws { let a = try array; return (Int(try a[0].int64), Int(try a[1].int64)) } }
    /// Whether the value is JSON `null`.
    var isNull: Bool { raw is NSNull }
    /// A number as Double.
    var double: Double {
        get throws {
            if let n = raw as? NSNumber { return n.doubleValue }
            throw FixtureError.malformed("not a number: \(self)")
        }
    }
}

/// `max |got − want| / max(1e-30, max |want|)`: the difference relative to the tensor's largest magnitude.
func relativeToMax(_ got: [Float], _ want: [Float]) -> Float {
    precondition(got.count == want.count)
    let scale = want.map { abs($0) }.max() ?? 0
    var worst: Float = 0
    for (g, w) in zip(got, want) { worst = max(worst, abs(g - w)) }
    return worst / max(scale, 1e-30)
}

/// Runs `body` on mutable copies of `arrays`' buffers.
func withPointers<R>(_ a: [Float], _ body: (UnsafePointer<Float>) throws -> R) rethrows -> R {
    try a.withUnsafeBufferPointer { try body($0.baseAddress!) }
}

/// `[count]` floats written by `body`.
func produce(_ count: Int, _ body: (UnsafeMutablePointer<Float>) throws -> Void) rethrows -> [Float] {
    var out = [Float](repeating: .nan, count: max(count, 1))
    try out.withUnsafeMutableBufferPointer { try body($0.baseAddress!) }
    return Array(out.prefix(count))
}

/// Central finite differences of a Double function at `point` along the coordinates `indices`,
/// compared with `gradient`: `|fd − g| ≤ tol · max(1, max |g|)`.
func expectFiniteDifferences(
    _ f: ([Double]) -> Double, at point: [Float], gradient: [Float], indices: [Int], step: Double = 1e-3,
    tol: Double, _ label: String, sourceLocation: SourceLocation = #_sourceLocation
) {
    let base = point.map(Double.init)
    let scale = max(1, Double(gradient.map { abs($0) }.max() ?? 0))
    var worst = 0.0
    for i in indices {
        var p = base, q = base
        p[i] += step
        q[i] -= step
        let fd = (f(p) - f(q)) / (2 * step)
        worst = max(worst, abs(fd - Double(gradient[i])) / scale)
    }
    #expect(worst <= tol, "\(label): finite differences differ by \(worst) (relative), above \(tol)", sourceLocation: sourceLocation)
}

/// Up to `count` spread-out indices of `0..<n`, seeded.
func probeIndices(_ n: Int, count: Int, seed: UInt64) -> [Int] {
    var g = SplitMix64(seed: seed)
    return (0..<min(count, n)).map { _ in Int(g.next() % UInt64(n)) }
}
