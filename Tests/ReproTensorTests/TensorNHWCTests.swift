import Testing
@_spi(Kernels) @testable import ReproTensor

/// The NHWC operations give the NCHW operations' bits after permuting, at every thread count.
@Suite struct TensorNHWCTests {
    /// `[N, C, H, W]` seeded data with a few NaNs and ±∞ sprinkled in (for the pooling NaN rule).
    func hostile(_ shape: [Int], seed: UInt64) throws -> Tensor {
        var v = seededFloats(shape.reduce(1, *), seed: seed, scale: 5)
        for i in stride(from: 37, to: v.count, by: 211) { v[i] = .nan }
        for i in stride(from: 11, to: v.count, by: 173) { v[i] = i % 2 == 0 ? .infinity : -.infinity }
        return try Tensor(shape: shape, scalars: v)
    }

    @Test func layoutRoundTripIsExact() throws {
        let x = try seededTensor([2, 21, 9, 13], seed: 1)
        let nhwc = try x.nhwcFromNCHW()
        #expect(nhwc.shape == [2, 9, 13, 21])
        #expect(try bits(nhwc) == bits(x.permuted([0, 2, 3, 1]).contiguous()))
        #expect(try bits(nhwc.nchwFromNHWC()) == bits(x))
        #expect(throws: TensorError.self) { try Tensor(zeros: [3, 4]).nchwFromNHWC() }
    }

    @Test func maxPoolEqualsNCHWBits() throws {
        // 19 channels: two SIMD8 blocks and a scalar tail. At least 7 output rows (the work chunks).
        for (shape, k, s, p) in [([2, 19, 11, 14], 3, 2, 1), ([1, 8, 14, 7], 2, 2, 0), ([1, 5, 7, 9], 3, 1, 1)] {
            let x = try hostile(shape, seed: UInt64(shape[1]))
            let expected = try bits(x.maxPool2d(kernel: k, stride: s, padding: p).nhwcFromNCHW())
            let nhwc = try x.nhwcFromNCHW()
            #expect(try bits(nhwc.maxPool2dNHWC(kernel: k, stride: s, padding: p)) == expected)
            try expectThreadInvariant { try nhwc.maxPool2dNHWC(kernel: k, stride: s, padding: p) }
        }
        let x = try seededTensor([1, 4, 4, 3], seed: 2)
        #expect(throws: TensorError.self) { try x.maxPool2dNHWC(kernel: 3, stride: 0, padding: 1) }
        #expect(throws: TensorError.self) { try x.maxPool2dNHWC(kernel: 9, stride: 1, padding: 0) }
        #expect(throws: TensorError.self) { try Tensor(zeros: [4, 4, 3]).maxPool2dNHWC(kernel: 3, stride: 2, padding: 1) }
    }

    @Test func nearestUpsampleEqualsNCHWBits() throws {
        // At least 7 output rows (the work chunks) in every case.
        for (shape, oh, ow) in [([2, 13, 7, 9], 14, 18), ([1, 5, 13, 17], 25, 34), ([1, 3, 8, 6], 8, 6), ([1, 3, 3, 5], 7, 4)] {
            let x = try seededTensor(shape, seed: UInt64(oh))
            let expected = try bits(x.upsampled(toHeight: oh, width: ow, mode: .nearest).nhwcFromNCHW())
            let nhwc = try x.nhwcFromNCHW()
            #expect(try bits(nhwc.upsampledNearestNHWC(toHeight: oh, width: ow)) == expected)
            try expectThreadInvariant { try nhwc.upsampledNearestNHWC(toHeight: oh, width: ow) }
        }
        #expect(throws: TensorError.self) { try seededTensor([1, 2, 2, 3], seed: 1).upsampledNearestNHWC(toHeight: 0, width: 4) }
    }

    @Test func groupNormEqualsNCHWBits() throws {
        // 2 channels per group (mini head), 8 per group (full head), odd spatial sizes (tail of the striped sum).
        // Every case has at least 7 (image, group) chunks; [1, 256, 13, 17] spans 14 pixel chunks of the
        // affine pass (16 rows each at 256 channels), the last one partial. [1, 64, 24, 23] (8 channels per
        // group) spans 8 full pixel blocks of the gather and a partial ninth.
        #expect(24 * 23 == 8 * GroupNormKernel.gatherBlock + 40)
        for (shape, groups) in [([2, 64, 5, 7], 32), ([1, 256, 13, 17], 32), ([3, 12, 1, 1], 4), ([3, 6, 9, 11], 3),
                                ([1, 64, 24, 23], 8)] {
            let c = shape[1]
            let x = try seededTensor(shape, seed: UInt64(c), scale: 7)
            let g = try seededTensor([c], seed: 90), b = try seededTensor([c], seed: 91)
            for relu in [false, true] {
                let expected = try bits(x.groupNorm(groups: groups, weight: g, bias: b, eps: 1e-5, relu: relu).nhwcFromNCHW())
                let nhwc = try x.nhwcFromNCHW()
                #expect(try bits(nhwc.groupNormNHWC(groups: groups, weight: g, bias: b, eps: 1e-5, relu: relu)) == expected)
                try expectThreadInvariant { try nhwc.groupNormNHWC(groups: groups, weight: g, bias: b, relu: relu) }
            }
            let plain = try bits(x.groupNorm(groups: groups, weight: nil, bias: nil).nhwcFromNCHW())
            #expect(try bits(x.nhwcFromNCHW().groupNormNHWC(groups: groups, weight: nil, bias: nil)) == plain)
        }
        let x = try seededTensor([1, 4, 4, 6], seed: 3)
        #expect(throws: TensorError.self) { try x.groupNormNHWC(groups: 4, weight: nil, bias: nil) }
        #expect(throws: TensorError.self) { try x.groupNormNHWC(groups: 3, weight: try seededTensor([5], seed: 1), bias: nil) }
    }

    @Test func addReluIsLayoutAgnostic() throws {
        let a = try seededTensor([1, 6, 5, 7], seed: 4), b = try seededTensor([1, 6, 5, 7], seed: 5)
        let expected = try bits(a.adding(b, relu: true).nhwcFromNCHW())
        #expect(try bits(a.nhwcFromNCHW().adding(b.nhwcFromNCHW(), relu: true)) == expected)
    }
}

/// The in-place forms give the out-of-place bits and respect copy-on-write.
@Suite struct TensorInPlaceTests {
    @Test func inPlaceAddEqualsAddingAndCopiesOnWrite() throws {
        let a = try seededTensor([1, 5, 7, 9], seed: 11), b = try seededTensor([1, 5, 7, 9], seed: 12)
        for relu in [false, true] {
            var y = a
            try y.add(b, relu: relu)
            #expect(try bits(y) == bits(a.adding(b, relu: relu)))
            #expect(try bits(a) == bits(seededTensor([1, 5, 7, 9], seed: 11)), "the shared original changed")
        }
        // 7.5 element-wise work chunks: every thread count splits the work, with a partial last chunk.
        let shape = [2, 60, 64, 64]
        #expect(shape.reduce(1, *) == 7 * Tensor.elementwiseChunk + Tensor.elementwiseChunk / 2)
        let big = try seededTensor(shape, seed: 17)
        try expectThreadInvariant { var y = try seededTensor(shape, seed: 13); try y.add(big, relu: true); return y }
        var wrong = a
        #expect(throws: TensorError.self) { try wrong.add(try seededTensor([5, 7, 9], seed: 1)) }
    }

    @Test func inPlaceGroupNormEqualsOutOfPlace() throws {
        let x = try seededTensor([1, 9, 11, 64], seed: 14, scale: 6)
        let g = try seededTensor([64], seed: 15), b = try seededTensor([64], seed: 16)
        var y = x
        try y.formGroupNormNHWC(groups: 32, weight: g, bias: b, relu: true)
        #expect(try bits(y) == bits(x.groupNormNHWC(groups: 32, weight: g, bias: b, relu: true)))
        #expect(try bits(x) == bits(seededTensor([1, 9, 11, 64], seed: 14, scale: 6)))
        try expectThreadInvariant { var t = x; try t.formGroupNormNHWC(groups: 32, weight: g, bias: b); return t }
        #expect(throws: TensorError.self) { var t = x; try t.formGroupNormNHWC(groups: 5, weight: nil, bias: nil) }
    }
}
