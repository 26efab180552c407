import Testing
@_spi(Kernels) @testable import ReproTensor

/// Preparing a convolution: the weight transforms run on several threads without changing a bit,
/// and a layer keeps exactly one prepared form of its weights.
@Suite struct PreparationTests {
    /// A Winograd layer transforms its weights at each call, split over output channels on the
    /// call's threads: on 1…7 threads (proved to run) the outputs are the same bits, and they equal
    /// the kernel run with weights transformed once beforehand (``WinogradKernel/PackedWeights``),
    /// for both tile sizes; the layer keeps no transformed copy.
    @Test(arguments: [PreparedConv2d.Algorithm.winograd, .winogradF2x3])
    func perCallWinogradTransformIsThreadInvariantAndEqualsPrepared(algorithm: PreparedConv2d.Algorithm) throws {
        let (o, c) = (40, 33)
        let w = try seededTensor([o, c, 3, 3], seed: 11)
        let x = try seededTensor([1, c, 9, 10], seed: 12)
        let layer = try PreparedConv2d(weight: w, bias: try seededTensor([o], seed: 13), padding: (1, 1), relu: true,
                                       algorithm: algorithm)
        #expect(layer.preparedBytes == 4 * o, "only the bias is kept beside the weight tensor")
        let variant = try #require(algorithm.winogradVariant)
        // The kernel with weights prepared once, on one thread.
        let g = try layer.geometry(for: x.shape)
        let (hp, wp, cp) = WinogradKernel.paddedSize(g, variant: variant)
        let padded = try Tensor.uninitialized([1, hp, wp, cp], op: "test")
        WinogradKernel.pad(g, variant: variant, nchw: x.floatBase, into: padded.floatBase, threads: 1)
        let prepared = WinogradKernel.PackedWeights(oihw: w.floatBase, outChannels: o, inChannels: c, variant: variant)
        let expected = try Tensor.uninitialized([1, o, 9, 10], op: "test")
        layer.bias!.withUnsafeBufferPointer { b in
            WinogradKernel.forward(g, paddedInput: padded.floatBase, weights: prepared, output: expected.floatBase,
                                   layout: .nchw, epilogue: Epilogue(bias: b.baseAddress, relu: true), threads: 1)
        }
        for t in invarianceThreadCounts {
            let y = try onOwnPool(threads: t) { try layer(x) }
            #expect(try bits(y) == bits(expected), "\(algorithm), threads \(t)")
        }
        #expect(try bits(layer.reference(x)) == bits(expected))
    }

    /// The packed Winograd weights (16 filters per SIMD unit) equal the scalar reference
    /// `transformFilter` filter by filter, bit for bit, for both tile sizes and a partial last
    /// panel, whose padding lanes hold +0; on 1…7 threads (proved to run), the same values. The
    /// weights include −0 and zero taps and, in a few filters, ±∞ and NaN (`0·∞` is NaN: no term
    /// of the chain may be skipped).
    @Test(arguments: WinogradTransform.Variant.allCases)
    func winogradPackingEqualsTheScalarTransform(variant: WinogradTransform.Variant) throws {
        let (o, c) = (37, 5)
        var w: [Float] = try seededTensor([o, c, 3, 3], seed: 31).scalars(as: Float.self)
        for i in stride(from: 0, to: w.count, by: 7) { w[i] = i % 2 == 0 ? -0.0 : 0 }
        w[(3 * c + 1) * 9 + 4] = .infinity
        w[(20 * c + 4) * 9 + 0] = -.infinity
        w[(36 * c + 2) * 9 + 8] = .nan
        let t = WinogradTransform(variant), a2 = t.alpha * t.alpha
        var expected = [UInt32](repeating: 0, count: a2 * 48 * c)   // [ξ][c][o padded to 48]
        var u = [Float](repeating: 0, count: a2)
        for oi in 0..<o {
            for ci in 0..<c {
                w.withUnsafeBufferPointer { t.transformFilter($0.baseAddress! + (oi * c + ci) * 9, into: &u) }
                for xi in 0..<a2 { expected[(xi * c + ci) * 48 + oi] = u[xi].bitPattern }
            }
        }
        // On every kernel path: the AVX-512 filter transform (8 doubles per register) where the
        // CPU has it, the Swift one otherwise.
        try onEveryKernelPath { isa in
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
                #expect(values == expected, "\(variant), \(isa), threads \(threads)")
            }
        }
    }

    /// At most one prepared form per layer: a Winograd layer none (it transforms per call), a pointwise layer
    /// its packed transpose, any other its direct packing; the weight tensor itself is shared with
    /// the caller, not copied. The direct path still runs on a Winograd layer (packing on demand)
    /// with the bits of a layer prepared for it.
    @Test func aLayerHoldsOneFormOfItsWeights() throws {
        let w3 = try seededTensor([32, 24, 3, 3], seed: 1)
        let winograd = try PreparedConv2d(weight: w3, padding: (1, 1))
        #expect(winograd.algorithm == .winograd && winograd.packed == nil && winograd.packedTransposed == nil)
        #expect(winograd.weight.sharesStorageForTesting(with: w3))
        #expect(winograd.winogradVariant == .f4x3 && winograd.preparedBytes == 0, "transformed per call, not kept")

        let w1 = try seededTensor([48, 24, 1, 1], seed: 2)
        let pointwise = try PreparedConv2d(weight: w1)
        #expect(pointwise.packed == nil && pointwise.winogradVariant == nil && pointwise.packedTransposed != nil)
        #expect(pointwise.preparedBytes == 3 * 24 * 16 * 4)

        let w5 = try seededTensor([20, 6, 5, 5], seed: 3)
        let direct = try PreparedConv2d(weight: w5, bias: try seededTensor([20], seed: 4), stride: (2, 2), padding: (2, 2))
        #expect(direct.packed != nil && direct.winogradVariant == nil && direct.packedTransposed == nil)
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
