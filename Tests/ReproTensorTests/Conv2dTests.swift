import Testing
@_spi(Kernels) @testable import ReproTensor

@Suite struct Conv2dTests {
    struct Case: CustomStringConvertible, Sendable {
        var n = 1, c = 5, h = 9, w = 11, o = 19, k = (3, 3), stride = (1, 1), pad = (1, 1), dil = (1, 1), groups = 1
        var description: String { "n\(n) c\(c) \(h)x\(w) o\(o) k\(k) s\(stride) p\(pad) d\(dil) g\(groups)" }
    }

    static let cases: [Case] = [
        Case(),                                                              // 3×3 pad 1, OC tail
        Case(c: 8, h: 12, w: 13, o: 32, stride: (2, 2)),                    // 3×3 stride 2
        Case(n: 2, c: 3, h: 17, w: 15, o: 16, k: (7, 7), stride: (2, 2), pad: (3, 3)), // stem
        Case(c: 16, h: 7, w: 17, o: 24, k: (1, 1), pad: (0, 0)),            // pointwise → GEMM (8 column panels)
        Case(c: 16, h: 8, w: 9, o: 24, k: (1, 1), stride: (2, 2), pad: (0, 0)), // 1×1 stride 2, few channels → direct
        // 1×1 stride 2 with 64+ channels (ResNet's downsampling) → implicit GEMM: 1 500 output rows
        // (eleven 144-row blocks), an OC tail; then K = 600 over two KC blocks.
        Case(n: 2, c: 64, h: 60, w: 50, o: 40, k: (1, 1), stride: (2, 2), pad: (0, 0)),
        Case(c: 600, h: 14, w: 9, o: 24, k: (1, 1), stride: (2, 2), pad: (0, 0)),
        Case(c: 6, h: 10, w: 10, o: 8, dil: (2, 3)),                        // dilation
        Case(c: 8, h: 9, w: 8, o: 12, groups: 4),                           // groups
        Case(c: 4, h: 3, w: 4, o: 3, k: (2, 3), stride: (1, 2), pad: (0, 2)), // asymmetric
        Case(c: 64, h: 21, w: 15, o: 40, stride: (2, 2)),                   // deep 3×3 s2: 11 rows split unevenly
        Case(n: 2, c: 96, h: 13, w: 10, o: 20, pad: (2, 1), dil: (2, 1)),    // implicit GEMM: dilation, OC tail
        Case(c: 300, h: 7, w: 9, o: 33, stride: (2, 2)),                   // implicit GEMM: K = 2700 > ks, taps split across KC blocks
    ]

    func conv(_ c: Case, bias: Bool, bn: Bool, relu: Bool) throws -> PreparedConv2d {
        let w = try seededTensor([c.o, c.c / c.groups, c.k.0, c.k.1], seed: 3)
        let b = bias ? try seededTensor([c.o], seed: 4) : nil
        let affine = bn ? try ChannelAffine(scale: seededFloats(c.o, seed: 5), shift: seededFloats(c.o, seed: 6)) : nil
        return try PreparedConv2d(weight: w, bias: b, stride: c.stride, padding: c.pad, dilation: c.dil, groups: c.groups,
                          normalization: affine, relu: relu)
    }

    @Test(arguments: cases)
    func matchesScalarReferenceBitwise(_ c: Case) throws {
        let x = try seededTensor([c.n, c.c, c.h, c.w], seed: 7)
        try onEveryKernelPath { isa in
            for (bias, bn, relu) in [(false, false, false), (true, true, true), (true, false, true)] {
                let layer = try conv(c, bias: bias, bn: bn, relu: relu)
                let fast = try layer.forward(x, threads: 2), ref = try layer.reference(x)
                #expect(fast.shape == ref.shape)
                #expect(try bits(fast) == bits(ref))
            }
        }
    }

    @Test(arguments: cases)
    func threadAndBatchInvariance(_ c: Case) throws {
        let layer = try conv(c, bias: true, bn: false, relu: true)
        let batch = try seededTensor([3, c.c, c.h, c.w], seed: 8)
        let base = try onOwnPool(threads: 1) { try layer.forward(batch, threads: 1) }
        try onEveryKernelPath { isa in
            for t in invarianceThreadCounts where t > 1 {
                let hash = try onOwnPool(threads: t) { try layer.forward(batch, threads: t) }.bitsHash
                #expect(hash == base.bitsHash, "\(isa) threads \(t)")
            }
        }
        // Sample 1 alone gives the bits it has inside the batch of 3.
        let alone = try layer.forward(try batch.sliced(dim: 0, range: 1..<2), threads: 3)
        #expect(try bits(alone) == bits(try base.sliced(dim: 0, range: 1..<2)))
    }

    @Test(arguments: cases)
    func nhwcApiEqualsNCHWApi(_ c: Case) throws {
        let layer = try conv(c, bias: true, bn: true, relu: true)
        let x = try seededTensor([2, c.c, c.h, c.w], seed: 30)
        let nchw = try layer.forward(x, threads: 2)
        let nhwc = try layer.forward(nhwc: try x.permuted([0, 2, 3, 1]).contiguous(), threads: 3)
        #expect(try nhwc.permuted([0, 3, 1, 2]).contiguous().bitsHash == nchw.bitsHash)
        if c.w != c.c {  // NCHW given as NHWC: the channel count (last dim) is wrong
            #expect(throws: TensorError.self) { try layer.forward(nhwc: x, threads: 1) }
        }
    }

    /// The NHWC direct kernel (12-pixel AVX-512 tiles where the CPU has them, the 8-wide Swift
    /// kernel otherwise) against the scalar reference on every kernel path and thread count.
    @Test(arguments: cases)
    func nhwcMatchesScalarReferenceOnEveryPath(_ c: Case) throws {
        let layer = try conv(c, bias: true, bn: true, relu: true)
        let x = try seededTensor([2, c.c, c.h, c.w], seed: 31)
        let expected = try layer.reference(x).permuted([0, 2, 3, 1]).contiguous().bitsHash
        let xn = try x.permuted([0, 2, 3, 1]).contiguous()
        try onEveryKernelPath { isa in
            for t in [1, 2, 3] {
                let y = try onOwnPool(threads: t, team: .requested) { try layer.forward(nhwc: xn, threads: t) }
                #expect(y.bitsHash == expected, "\(isa) threads \(t)")
            }
        }
    }

    @Test func nhwcOutputLayoutIsTheTransposeOfNCHW() throws {
        let g = try ConvGeometry(batch: 2, inChannels: 5, height: 9, width: 13, outChannels: 21,
                                 kernelHeight: 3, kernelWidth: 3, padding: (1, 1))
        let x: [Float] = seededFloats(2 * 5 * 9 * 13, seed: 20), w: [Float] = seededFloats(21 * 5 * 9, seed: 21)
        let wp = w.withUnsafeBufferPointer { Conv2dKernel.PackedWeights(oihw: $0.baseAddress!, geometry: g) }
        var padded = [Float](repeating: .nan, count: 2 * 11 * 15 * 5)
        let outCount = 2 * 21 * 9 * 13
        var nhwc = [Float](repeating: .nan, count: outCount), nchw = nhwc, back = nhwc, ref = nhwc
        x.withUnsafeBufferPointer { xp in padded.withUnsafeMutableBufferPointer { pp in
            Conv2dKernel.padToNHWC(g, nchw: xp.baseAddress!, into: pp.baseAddress!, threads: 3)
            nhwc.withUnsafeMutableBufferPointer {
                Conv2dKernel.forward(g, paddedInput: pp.baseAddress!, weights: wp, output: $0.baseAddress!, layout: .nhwc, threads: 2)
            }
            nchw.withUnsafeMutableBufferPointer {
                Conv2dKernel.forward(g, paddedInput: pp.baseAddress!, weights: wp, output: $0.baseAddress!, layout: .nchw, threads: 3)
            }
            w.withUnsafeBufferPointer { wb in ref.withUnsafeMutableBufferPointer {
                Conv2dKernel.reference(g, input: xp.baseAddress!, weight: wb.baseAddress!, output: $0.baseAddress!)
            }}
        }}
        nhwc.withUnsafeBufferPointer { s in back.withUnsafeMutableBufferPointer {
            Layout.nhwcToNCHW(s.baseAddress!, $0.baseAddress!, n: 2, c: 21, hw: 9 * 13, threads: 2)
        }}
        #expect(bits(back) == bits(ref))
        #expect(bits(nchw) == bits(ref))
        var again = [Float](repeating: 0, count: outCount)
        back.withUnsafeBufferPointer { s in again.withUnsafeMutableBufferPointer {
            Layout.nchwToNHWC(s.baseAddress!, $0.baseAddress!, n: 2, c: 21, hw: 9 * 13, threads: 3)
        }}
        #expect(bits(again) == bits(nhwc))
    }

    @Test func implicitGEMMRuleIsOnTheShapeAlone() throws {
        func g(c: Int, k: Int, stride: Int = 2, groups: Int = 1) throws -> ConvGeometry {
            try ConvGeometry(batch: 1, inChannels: c, height: 20, width: 20, outChannels: 64, kernelHeight: k, kernelWidth: k,
                             stride: (stride, stride), padding: (k / 2, k / 2), dilation: (1, 1), groups: groups)
        }
        #expect(Conv2dKernel.usesImplicitGEMM(try g(c: 64, k: 3)))
        #expect(Conv2dKernel.usesImplicitGEMM(try g(c: 2048, k: 3)))
        #expect(!Conv2dKernel.usesImplicitGEMM(try g(c: 63, k: 3)))         // few channels: direct kernel
        #expect(!Conv2dKernel.usesImplicitGEMM(try g(c: 3, k: 7)))          // the stem
        #expect(!Conv2dKernel.usesImplicitGEMM(try g(c: 128, k: 3, groups: 2)))
        #expect(Conv2dKernel.usesImplicitGEMM(try g(c: 128, k: 1)))         // one tap, strided: the im2col gathers
        #expect(!Conv2dKernel.usesImplicitGEMM(try g(c: 63, k: 1)))
        #expect(!Conv2dKernel.usesImplicitGEMM(try g(c: 128, k: 1, stride: 1))) // one tap, every pixel: plain GEMM
    }

    @Test func frozenBatchNormFoldIsLiteral() throws {
        let w = try Tensor(shape: [2], scalars: [Float(0.5), 2]), b = try Tensor(shape: [2], scalars: [Float(1), -1])
        let m = try Tensor(shape: [2], scalars: [Float(0.25), 3]), v = try Tensor(shape: [2], scalars: [Float(4), 0.09])
        let bn = try ChannelAffine.frozenBatchNorm(weight: w, bias: b, runningMean: m, runningVariance: v, eps: 1e-5)
        let s0 = Float(0.5) * (1 / (Float(4) + 1e-5).squareRoot())
        #expect(bn.scale[0].bitPattern == s0.bitPattern)
        #expect(bn.shift[0].bitPattern == (Float(1) - Float(0.25) * s0).bitPattern)
        let x = try Tensor(shape: [1, 2, 1, 1], scalars: [Float(3), -7])
        let y: [Float] = try x.applying(bn).scalars()
        #expect(y[0].bitPattern == (Float(3) * bn.scale[0] + bn.shift[0]).bitPattern)
    }

    @Test func badInputsThrowTypedErrors() throws {
        let w = try seededTensor([4, 3, 3, 3], seed: 1)
        #expect(throws: TensorError.self) { try PreparedConv2d(weight: w, stride: (0, 1)) }
        #expect(throws: TensorError.self) { try PreparedConv2d(weight: w, groups: 3) }  // 4 outputs not divisible by 3
        #expect(throws: TensorError.self) { try PreparedConv2d(weight: w, bias: try seededTensor([3], seed: 1)) }
        let layer = try PreparedConv2d(weight: w)
        #expect(throws: TensorError.self) { try layer(try seededTensor([1, 4, 5, 5], seed: 2)) }
        #expect(throws: TensorError.self) { try layer(try seededTensor([1, 3, 2, 2], seed: 2)) }
        let x = try seededTensor([1, 4, 5, 5], seed: 2)
        do { _ = try layer.forward(x, threads: 1); Issue.record("expected an error") } catch {
            #expect(error.description.contains("conv2d") && error.description.contains("[1, 4, 5, 5]"))
        }
    }
}
