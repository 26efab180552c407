import Testing
@_spi(Kernels) @testable import ReproTensor

@Suite struct GEMMTests {
    /// Runs the SIMD kernel and the scalar reference on row-major operands.
    func both(m: Int, n: Int, k: Int, seed: UInt64, threads: Int, epilogue: Bool = false,
              split: GEMM.Split = .automatic, reference: Bool = true) -> (fast: [Float], ref: [Float]) {
        let a = seededFloats(m * k, seed: seed), b = seededFloats(k * n, seed: seed + 1)
        let bias = seededFloats(n, seed: seed + 2), scale = seededFloats(n, seed: seed + 3), shift = seededFloats(n, seed: seed + 4)
        var fast = [Float](repeating: .nan, count: m * n), ref = fast
        a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in
            bias.withUnsafeBufferPointer { bi in scale.withUnsafeBufferPointer { sc in shift.withUnsafeBufferPointer { sh in
                let e = epilogue ? Epilogue(bias: bi.baseAddress, scale: sc.baseAddress, shift: sh.baseAddress, relu: true) : .none
                let A = GEMM.Operand(ap.baseAddress!, rowStride: k), B = GEMM.Operand(bp.baseAddress!, rowStride: n)
                fast.withUnsafeMutableBufferPointer { c in
                    let packed = GEMM.PackedMatrix(B, k: k, n: n, threads: threads)
                    GEMM.multiply(m: m, a: A, packedB: packed, c: c.baseAddress!, ldc: n, epilogue: e, threads: threads, split: split)
                }
                if reference { ref.withUnsafeMutableBufferPointer { c in
                    GEMM.reference(m: m, n: n, k: k, a: A, b: B, c: c.baseAddress!, ldc: n, epilogue: e)
                } }
            }}}
        }}
        return (fast, ref)
    }

    @Test(arguments: [(1, 1, 1), (6, 16, 7), (7, 17, 300), (13, 40, 513), (150, 35, 260), (5, 3200, 20), (0, 4, 4), (3, 4, 0)])
    func matchesReferenceBitwise(shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        onEveryKernelPath { isa in
            for ep in [false, true] {
                let r = both(m: m, n: n, k: k, seed: UInt64(m * 1000 + n + k), threads: 2, epilogue: ep)
                #expect(bits(r.fast) == bits(r.ref), "\(isa)")
            }
        }
    }

    @Test func threadCountAndSplitInvariance() throws {
        let base = both(m: 157, n: 203, k: 531, seed: 9, threads: 1, reference: false).fast
        try onEveryKernelPath { isa in
            for t in invarianceThreadCounts {
                for split in GEMM.Split.allCases {
                    let fast = try onOwnPool(threads: t) { both(m: 157, n: 203, k: 531, seed: 9, threads: t, split: split, reference: false).fast }
                    #expect(bits(fast) == bits(base), "\(isa) threads \(t) split \(split)")
                }
            }
        }
    }

    @Test func rowAloneEqualsRowInBatch() {
        let k = 300, n = 50
        let a = seededFloats(3 * k, seed: 5), b = seededFloats(k * n, seed: 6)
        var batch = [Float](repeating: 0, count: 3 * n), alone = [Float](repeating: 0, count: n)
        a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in
            let B = GEMM.Operand(bp.baseAddress!, rowStride: n)
            batch.withUnsafeMutableBufferPointer {
                GEMM.multiply(m: 3, n: n, k: k, a: .init(ap.baseAddress!, rowStride: k), b: B, c: $0.baseAddress!, ldc: n, threads: 3)
            }
            alone.withUnsafeMutableBufferPointer {
                GEMM.multiply(m: 1, n: n, k: k, a: .init(ap.baseAddress! + k, rowStride: k), b: B, c: $0.baseAddress!, ldc: n, threads: 1)
            }
        }}
        #expect(bits(Array(batch[n..<(2 * n)])) == bits(alone))
    }

    @Test func stridedOperandsMatchReference() {
        // A given transposed (column-major), B given transposed.
        let m = 20, n = 33, k = 70
        let at = seededFloats(m * k, seed: 11), bt = seededFloats(k * n, seed: 12)
        var fast = [Float](repeating: 0, count: m * n), ref = fast
        at.withUnsafeBufferPointer { ap in bt.withUnsafeBufferPointer { bp in
            let A = GEMM.Operand(ap.baseAddress!, rowStride: 1, colStride: m)
            let B = GEMM.Operand(bp.baseAddress!, rowStride: 1, colStride: k)
            fast.withUnsafeMutableBufferPointer { GEMM.multiply(m: m, n: n, k: k, a: A, b: B, c: $0.baseAddress!, ldc: n, threads: 2) }
            ref.withUnsafeMutableBufferPointer { GEMM.reference(m: m, n: n, k: k, a: A, b: B, c: $0.baseAddress!, ldc: n) }
        }}
        #expect(bits(fast) == bits(ref))
    }
}
