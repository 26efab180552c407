import Testing
@_spi(Kernels) @testable import ReproTensor

/// Preparing a convolution: the weight transforms run on several threads without changing a bit,
/// and a layer keeps exactly one prepared form of its weights.
@Suite struct PreparationTests {
    /// Winograd weights transformed on 1…7 threads (split over output channels) give the same
    /// transformed values and outputs; each case really ran on its thread count.
    @Test func winogradPreparationIsThreadInvariant() throws {
        let w = try seededTensor([40, 33, 3, 3], seed: 11)
        let x = try seededTensor([1, 33, 9, 10], seed: 12)
        var reference: [UInt32]?
        var transformed: [UInt32]?
        for t in invarianceThreadCounts {
            let layer = try onOwnPool(threads: t) { try PreparedConv2d(weight: w, padding: (1, 1)) }
            let u = try #require(layer.winogradWeights)
            let values = (0..<(u.transform.alpha * u.transform.alpha)).flatMap { xi in
                (0..<33).flatMap { c in (0..<40).map { o in u.value(xi: xi, c: c, o: o).bitPattern } }
            }
            let y = try bits(layer.forward(x, threads: 1))
            if reference == nil { reference = y; transformed = values }
            #expect(y == reference, "threads \(t)")
            #expect(values == transformed, "threads \(t)")
        }
    }

    /// The packed Winograd weights (16 filters per SIMD unit) equal the scalar reference
    /// `transformFilter` filter by filter, bit for bit, for both tile sizes and a partial last
    /// panel, whose padding lanes hold +0; on 1…7 threads (proved to run), the same values.
    @Test(arguments: WinogradTransform.Variant.allCases)
    func winogradPackingEqualsTheScalarTransform(variant: WinogradTransform.Variant) throws {
        let (o, c) = (37, 5)
        let w: [Float] = try seededTensor([o, c, 3, 3], seed: 31).scalars(as: Float.self)
        let t = WinogradTransform(variant), a2 = t.alpha * t.alpha
        var expected = [UInt32](repeating: 0, count: a2 * 48 * c)   // [ξ][c][o padded to 48]
        var u = [Float](repeating: 0, count: a2)
        for oi in 0..<o {
            for ci in 0..<c {
                w.withUnsafeBufferPointer { t.transformFilter($0.baseAddress! + (oi * c + ci) * 9, into: &u) }
                for xi in 0..<a2 { expected[(xi * c + ci) * 48 + oi] = u[xi].bitPattern }
            }
        }
        for threads in invarianceThreadCounts {
            let packed = try onOwnPool(threads: threads) {
                w.withUnsafeBufferPointer {
                    WinogradKernel.PackedWeights(oihw: $0.baseAddress!, outChannels: o, inChannels: c, variant: variant, threads: threads)
                }
            }
            var values = [UInt32](repeating: 1, count: a2 * 48 * c)
            for xi in 0..<a2 {
                for ci in 0..<c {
                    for oi in 0..<48 { values[(xi * c + ci) * 48 + oi] = packed.value(xi: xi, c: ci, o: oi).bitPattern }
                }
            }
            #expect(values == expected, "\(variant), threads \(threads)")
        }
    }

    /// One prepared form per layer: a Winograd layer holds its transform only, a pointwise layer
    /// its packed transpose, any other its direct packing; the weight tensor itself is shared with
    /// the caller, not copied. The direct path still runs on a Winograd layer (packing on demand)
    /// with the bits of a layer prepared for it.
    @Test func aLayerHoldsOneFormOfItsWeights() throws {
        let w3 = try seededTensor([32, 24, 3, 3], seed: 1)
        let winograd = try PreparedConv2d(weight: w3, padding: (1, 1))
        #expect(winograd.algorithm == .winograd && winograd.packed == nil && winograd.packedTransposed == nil)
        #expect(winograd.weight.sharesStorageForTesting(with: w3))
        #expect(winograd.preparedBytes == 36 * 2 * 16 * 24 * 4)

        let w1 = try seededTensor([48, 24, 1, 1], seed: 2)
        let pointwise = try PreparedConv2d(weight: w1)
        #expect(pointwise.packed == nil && pointwise.winogradWeights == nil && pointwise.packedTransposed != nil)
        #expect(pointwise.preparedBytes == 3 * 24 * 16 * 4)

        let w5 = try seededTensor([20, 6, 5, 5], seed: 3)
        let direct = try PreparedConv2d(weight: w5, bias: try seededTensor([20], seed: 4), stride: (2, 2), padding: (2, 2))
        #expect(direct.packed != nil && direct.winogradWeights == nil && direct.packedTransposed == nil)
        #expect(direct.preparedBytes == 2 * 25 * 6 * 16 * 4 + 20 * 4)

        let x = try seededTensor([1, 24, 7, 6], seed: 5)
        let forcedDirect = try PreparedConv2d(weight: w3, padding: (1, 1), algorithm: .direct)
        #expect(try bits(winograd.reference(x, algorithm: .direct)) == bits(forcedDirect(x)))
        #expect(try bits(winograd.forward(x, threads: 2)) == bits(winograd.reference(x)))
    }
}

extension Tensor {
    func sharesStorageForTesting(with other: Tensor) -> Bool { storageIdentity == other.storageIdentity }
}
