import ReproRandom
@testable import ReproTensor

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
