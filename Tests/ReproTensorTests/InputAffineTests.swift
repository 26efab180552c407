import Testing
@_spi(Kernels) @testable import ReproTensor

/// A group normalisation held back and applied by the next convolution while it copies its input
/// (``SampleChannelAffine``): the same bits as normalising first, on every algorithm and kernel path.
@Suite struct InputAffineTests {
    /// The affine step by scalar loops: `x · scale + shift` (two roundings), then ReLU.
    static func reference(_ x: Tensor, _ a: SampleChannelAffine) throws -> [UInt32] {
        let v: [Float] = try x.scalars(), s = x.shape
        let plane = s[1] * s[2] * s[3]
        return v.indices.map { i in
            let n = i / plane, c = i % s[3]
            var y = v[i] * a.scale[n * s[3] + c] + a.shift[n * s[3] + c]
            if a.relu && y < 0 { y = 0 }
            return y.bitPattern
        }
    }

    @Test func statisticsThenAffineEqualGroupNorm() throws {
        // Odd spatial sizes (the striped sum's tail), channel counts off the 8-wide vectors, several
        // (image, group) units per thread; [1, 13, 17, 256] is the head's 8 channels per group.
        for (shape, groups) in [([2, 5, 7, 64], 32), ([1, 13, 17, 256], 32), ([3, 1, 1, 12], 4), ([3, 9, 11, 6], 3)] {
            let c = shape[3]
            let x = try seededTensor(shape, seed: UInt64(c), scale: 7)
            let g = try seededTensor([c], seed: 90), b = try seededTensor([c], seed: 91)
            for relu in [false, true] {
                let expected = try bits(x.groupNormNHWC(groups: groups, weight: g, bias: b, relu: relu))
                let affine = try x.groupNormNHWCAffine(groups: groups, weight: g, bias: b, relu: relu)
                #expect(affine.batch == shape[0] && affine.channels == c && affine.relu == relu)
                #expect(try bits(x.applying(affine)) == expected, "\(shape) relu \(relu)")
                #expect(try Self.reference(x, affine) == expected, "scalar reference \(shape) relu \(relu)")
                // The statistics at every thread count (each (image, group) is one unit of work).
                try expectThreadInvariant {
                    let a = try x.groupNormNHWCAffine(groups: groups, weight: g, bias: b, relu: relu)
                    return try Tensor(shape: [2, a.scale.count], scalars: a.scale + a.shift)
                }
                // The affine pass splits pixels into runs of 4096 / C rows: only the 256-channel case
                // (14 runs of 16 rows, the last partial) offers every thread count a chunk.
                if c == 256 { try expectThreadInvariant { try x.applying(affine) } }
            }
        }
        let x = try seededTensor([1, 4, 4, 6], seed: 3)
        #expect(throws: TensorError.self) { try x.groupNormNHWCAffine(groups: 4, weight: nil, bias: nil) }
        let wrong = try SampleChannelAffine(batch: 2, channels: 6, scale: .init(repeating: 1, count: 12),
                                            shift: .init(repeating: 0, count: 12), relu: false)
        #expect(throws: TensorError.self) { try x.applying(wrong) }
        #expect(throws: TensorError.self) {
            try SampleChannelAffine(batch: 1, channels: 6, scale: [1], shift: [0], relu: false)
        }
    }

    /// Winograd (both tile sizes: the affine step in the padding copy), direct 3×3 stride 2 and a
    /// 1×1 GEMM (the affine step first): `forward(nhwc:inputAffine:)` equals normalising first.
    @Test func convolutionWithInputAffineEqualsNormalizingFirst() throws {
        let cases: [(c: Int, o: Int, k: Int, stride: Int, pad: Int, alg: PreparedConv2d.Algorithm?)] = [
            (12, 19, 3, 1, 1, .winograd), (12, 19, 3, 1, 1, .winogradF2x3), (9, 33, 3, 1, 0, .winograd),
            (12, 17, 3, 2, 1, nil), (12, 20, 1, 1, 0, nil),
        ]
        for cs in cases {
            let x = try seededTensor([3, 14, 13, cs.c], seed: UInt64(cs.c + cs.o), scale: 3)
            let groups = cs.c % 4 == 0 ? 4 : 3
            let affine = try x.groupNormNHWCAffine(groups: groups, weight: try seededTensor([cs.c], seed: 5),
                                                   bias: try seededTensor([cs.c], seed: 6), relu: true)
            let normalized = try x.applying(affine)
            let w = try seededTensor([cs.o, cs.c, cs.k, cs.k], seed: 7, scale: 0.5)
            let conv = try PreparedConv2d(weight: w, bias: try seededTensor([cs.o], seed: 8), stride: (cs.stride, cs.stride),
                                          padding: (cs.pad, cs.pad), relu: true, algorithm: cs.alg)
            if let alg = cs.alg { #expect(conv.algorithm == alg) }
            try onEveryKernelPath { isa in
                let expected = try conv.forward(nhwc: normalized, threads: 2).bitsHash
                #expect(try conv.forward(nhwc: x, inputAffine: affine, threads: 2).bitsHash == expected, "\(cs) \(isa)")
                for t in invarianceThreadCounts {
                    let y = try onOwnPool(threads: t, team: .requested) { try conv.forward(nhwc: x, inputAffine: affine, threads: t) }
                    #expect(y.bitsHash == expected, "\(cs) \(isa) threads \(t)")
                }
            }
            #expect(try conv.forward(nhwc: x, inputAffine: nil, threads: 2).bitsHash == conv.forward(nhwc: x, threads: 2).bitsHash)
            let other = try SampleChannelAffine(batch: 1, channels: cs.c, scale: affine.scale.prefix(cs.c).map { $0 },
                                                shift: affine.shift.prefix(cs.c).map { $0 }, relu: true)
            #expect(throws: TensorError.self) { try conv.forward(nhwc: x, inputAffine: other, threads: 2) }
        }
    }

    /// The fused padding itself against normalising then padding, for NHWC inputs whose channels
    /// are not a multiple of 8 (the padded buffer's extra channels stay zero).
    @Test func winogradPaddingWithAffineEqualsAffineThenPadding() throws {
        for (n, h, w, c) in [(2, 7, 9, 5), (1, 10, 6, 16), (3, 1, 1, 12)] {
            let x = try seededTensor([n, h, w, c], seed: UInt64(h * w + c), scale: 4)
            let affine = try x.groupNormNHWCAffine(groups: c % 4 == 0 ? 4 : 1, weight: try seededTensor([c], seed: 1),
                                                   bias: try seededTensor([c], seed: 2), relu: true)
            let normalized = try x.applying(affine)
            let g = try ConvGeometry(batch: n, inChannels: c, height: h, width: w, outChannels: 4, kernelHeight: 3,
                                     kernelWidth: 3, stride: (1, 1), padding: (1, 1), dilation: (1, 1), groups: 1)
            for variant in WinogradTransform.Variant.allCases {
                let (hp, wp, cp) = WinogradKernel.paddedSize(g, variant: variant)
                let count = n * hp * wp * cp
                var fused = [Float](repeating: .nan, count: count), plain = [Float](repeating: 7, count: count)
                try affine.scale.withUnsafeBufferPointer { sp in try affine.shift.withUnsafeBufferPointer { tp in
                    try onOwnPool(threads: 3, team: .requested) {
                        fused.withUnsafeMutableBufferPointer { f in
                            WinogradKernel.pad(g, variant: variant, nhwc: x.floatBase, scales: sp.baseAddress!,
                                               shifts: tp.baseAddress!, relu: true, into: f.baseAddress!, threads: 3)
                        }
                    }
                }}
                plain.withUnsafeMutableBufferPointer { p in
                    WinogradKernel.pad(g, variant: variant, nhwc: normalized.floatBase, into: p.baseAddress!, threads: 1)
                }
                #expect(bits(fused) == bits(plain), "\(n)x\(h)x\(w)x\(c) \(variant)")
            }
        }
    }
}
