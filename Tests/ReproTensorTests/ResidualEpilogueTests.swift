import Testing
@_spi(Kernels) @testable import ReproTensor

/// The residual add + ReLU fused into the GEMM's epilogue (`GEMM+Residual.swift`) against the
/// unfused form — the multiply, then `relu(c + r)` in a second pass — bit for bit, on sizes
/// that span several cache blocks in every dimension, on every thread count and kernel path.
@Suite struct ResidualEpilogueTests {
    /// `(fused, unfused)` results of `relu(epilogue(A·B) + R)` with a folded-norm epilogue.
    static func both(m: Int, n: Int, k: Int, seed: UInt64, threads: Int, packed: Bool = true) -> (fused: [Float], unfused: [Float]) {
        let a = seededFloats(m * k, seed: seed), b = seededFloats(k * n, seed: seed + 1)
        let scale = seededFloats(n, seed: seed + 2), shift = seededFloats(n, seed: seed + 3)
        var r = seededFloats(m * n, seed: seed + 4, scale: 4)
        // Values the ReLU must pass through unchanged: −0 and NaN.
        if r.count > 2 { r[1] = -0.0; r[r.count / 2] = .nan }
        var fused = [Float](repeating: .nan, count: m * n), unfused = fused
        a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in r.withUnsafeBufferPointer { rp in
            scale.withUnsafeBufferPointer { sc in shift.withUnsafeBufferPointer { sh in
                let e = Epilogue(scale: sc.baseAddress, shift: sh.baseAddress)
                let A = GEMM.Operand(ap.baseAddress!, rowStride: k), B = GEMM.Operand(bp.baseAddress!, rowStride: n)
                let R = GEMM.Operand(rp.baseAddress!, rowStride: n)
                fused.withUnsafeMutableBufferPointer { c in
                    if packed {
                        let pb = GEMM.PackedMatrix(B, k: k, n: n, threads: threads)
                        GEMM.multiply(m: m, a: A, packedB: pb, c: c.baseAddress!, ldc: n, epilogue: e, addingReLU: R, threads: threads)
                    } else {
                        GEMM.multiply(m: m, n: n, k: k, a: A, b: B, c: c.baseAddress!, ldc: n, epilogue: e, addingReLU: R, threads: threads)
                    }
                }
                unfused.withUnsafeMutableBufferPointer { c in
                    GEMM.reference(m: m, n: n, k: k, a: A, b: B, c: c.baseAddress!, ldc: n, epilogue: e)
                    for i in 0..<(m * n) {
                        var v = c[i] + rp[i]
                        if v < 0 { v = 0 }
                        c[i] = v
                    }
                }
            }}
        }}}
        return (fused, unfused)
    }

    /// 300 rows (three MC blocks of 144, the last partial, not a multiple of 6), 530 columns (three NC
    /// blocks of 256, a partial 16-column panel), 600 deep (two KC blocks of 512, the second partial); 2100 deep spans two KS
    /// pieces (the residual must wait for the last); a segmented product; K = 0.
    @Test(arguments: [(300, 530, 600), (157, 203, 2100), (7, 17, 300), (8, 8, GEMM.segmentMinDepth), (5, 9, 0)])
    func fusedEqualsUnfusedBitwise(shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        onEveryKernelPath { isa in
            for packed in k > 0 ? [true, false] : [false] {
                let r = Self.both(m: m, n: n, k: k, seed: UInt64(m + n + k), threads: 2, packed: packed)
                #expect(bits(r.fused) == bits(r.unfused), "\(isa) \(shape) packed \(packed)")
                #expect(r.fused.contains(0) && r.fused.contains { $0 > 0 }, "the ReLU clamps some outputs and not others")
            }
        }
    }

    @Test func threadCountInvariance() throws {
        let reference = Self.both(m: 300, n: 530, k: 600, seed: 3, threads: 1).unfused
        try onEveryKernelPath { isa in
            for t in invarianceThreadCounts {
                let fused = try onOwnPool(threads: t) { Self.both(m: 300, n: 530, k: 600, seed: 3, threads: t).fused }
                #expect(bits(fused) == bits(reference), "\(isa) threads \(t)")
            }
        }
    }

    @Test func convolutionAddingReLUEqualsForwardThenAdd() throws {
        // A pointwise layer (fused in its GEMM) and a 3×3 one (added after); 20 × 30 pixels =
        // 600 GEMM rows, several MC blocks.
        let x = try seededTensor([1, 20, 30, 64], seed: 21)
        let bn = try ChannelAffine(scale: seededFloats(256, seed: 22), shift: seededFloats(256, seed: 23))
        let pointwise = try PreparedConv2d(weight: try seededTensor([256, 64, 1, 1], seed: 24), normalization: bn)
        let threeByThree = try PreparedConv2d(weight: try seededTensor([256, 64, 3, 3], seed: 25), padding: (1, 1), normalization: bn)
        let identity = try seededTensor([1, 20, 30, 256], seed: 26, scale: 8)
        for conv in [pointwise, threeByThree] {
            let expected = try conv.forward(nhwc: x, threads: 1).adding(identity, relu: true)
            for t in [1, 2, 3] {
                let fused = try onOwnPool(threads: t) { try conv.forward(nhwc: x, addingReLU: identity, threads: t) }
                #expect(try bits(fused) == bits(expected), "\(conv.algorithm) threads \(t)")
            }
        }
        // A shortcut of the wrong shape is a typed error, not a crash.
        #expect(throws: TensorError.self) { try pointwise.forward(nhwc: x, addingReLU: try seededTensor([1, 20, 30, 64], seed: 1), threads: 2) }
    }
}
