import Testing
@_spi(Kernels) @testable import ReproTensor

/// Long-K products with small outputs: summed in fixed K segments (`GEMM+Segments.swift`).
@Suite struct GEMMSegmentTests {
    /// The segmented order written out independently of the library: one FMA
    /// chain per segment of `GEMM.segmentLength`, partials added left to right,
    /// then the epilogue once (`segmented: false`: one chain over all of k).
    func expected(m: Int, n: Int, k: Int, a: [Float], b: [Float], segmented: Bool, epilogue: (Float, Int) -> Float) -> [Float] {
        let length = segmented ? GEMM.segmentLength : max(k, 1)
        var out = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var partials: [Float] = []
                for k0 in stride(from: 0, to: k, by: length) {
                    var acc: Float = 0
                    for p in k0..<min(k0 + length, k) { acc = acc.addingProduct(a[i * k + p], b[p * n + j]) }
                    partials.append(acc)
                }
                var sum = partials[0]
                for s in partials.dropFirst() { sum = sum + s }
                out[i * n + j] = epilogue(sum, j)
            }
        }
        return out
    }

    /// Runs GEMM (unpacked or prepacked B) with a bias + ReLU epilogue or none.
    func run(m: Int, n: Int, k: Int, a: [Float], b: [Float], bias: [Float]?, threads: Int, prepacked: Bool) -> [Float] {
        var c = [Float](repeating: .nan, count: m * n)
        a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in (bias ?? [0]).withUnsafeBufferPointer { bi in
            let e = bias == nil ? Epilogue.none : Epilogue(bias: bi.baseAddress, relu: true)
            let A = GEMM.Operand(ap.baseAddress!, rowStride: k), B = GEMM.Operand(bp.baseAddress!, rowStride: n)
            c.withUnsafeMutableBufferPointer { cp in
                if prepacked {
                    let packed = GEMM.PackedMatrix(B, k: k, n: n, threads: threads)
                    GEMM.multiply(m: m, a: A, packedB: packed, c: cp.baseAddress!, ldc: n, epilogue: e, threads: threads)
                } else {
                    GEMM.multiply(m: m, n: n, k: k, a: A, b: B, c: cp.baseAddress!, ldc: n, epilogue: e, threads: threads)
                }
            }
        }}}
        return c
    }

    func library(m: Int, n: Int, k: Int, a: [Float], b: [Float]) -> [Float] {
        var c = [Float](repeating: .nan, count: m * n)
        a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
            GEMM.reference(m: m, n: n, k: k, a: .init(ap.baseAddress!, rowStride: k), b: .init(bp.baseAddress!, rowStride: n),
                           c: cp.baseAddress!, ldc: n)
        }}}
        return c
    }

    @Test func ruleDependsOnTheShapeOnly() {
        #expect(GEMM.isSegmented(m: 64, n: 64, k: 65536))
        #expect(GEMM.isSegmented(m: 1, n: 1, k: GEMM.segmentMinDepth))
        #expect(!GEMM.isSegmented(m: 1, n: 1, k: GEMM.segmentMinDepth - 1))
        #expect(GEMM.isSegmented(m: 256, n: 256, k: 20000))        // m·n = segmentMaxOutputs
        #expect(!GEMM.isSegmented(m: 256, n: 257, k: 20000))
        #expect(!GEMM.isSegmented(m: 0, n: 5, k: 20000))
        #expect(!GEMM.isSegmented(m: 64, n: 64, k: 2304))          // RetinaNet-sized K: never segmented
    }

    /// K a multiple of the segment, K not a multiple (short last segment), M/N edges of the 6 × 16 tiles.
    @Test(arguments: [(3, 17, 16384), (7, 33, 16384 + 100), (1, 1, 20000), (13, 5, 4096 * 5 - 1)])
    func matchesTheSegmentedOrderBitwise(shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        let a = seededFloats(m * k, seed: UInt64(k + m)), b = seededFloats(k * n, seed: UInt64(k + n + 1))
        let bias = seededFloats(n, seed: 77)
        let plain = expected(m: m, n: n, k: k, a: a, b: b, segmented: true) { v, _ in v }
        let withEpilogue = expected(m: m, n: n, k: k, a: a, b: b, segmented: true) { v, j in max(v + bias[j], 0) }
        onEveryKernelPath { isa in
            #expect(bits(library(m: m, n: n, k: k, a: a, b: b)) == bits(plain), "\(isa)")
            for prepacked in [false, true] {
                #expect(bits(run(m: m, n: n, k: k, a: a, b: b, bias: nil, threads: 2, prepacked: prepacked)) == bits(plain), "\(isa)")
                // The epilogue is applied once, to the final sum (not per segment).
                #expect(bits(run(m: m, n: n, k: k, a: a, b: b, bias: bias, threads: 2, prepacked: prepacked)) == bits(withEpilogue),
                        "\(isa)")
            }
        }
        // The segmentation is real: some output differs from the one-chain order.
        let oneChain = expected(m: m, n: n, k: k, a: a, b: b, segmented: false) { v, _ in v }
        if m * n > 1 { #expect(bits(oneChain) != bits(plain)) }
    }

    @Test func threadCountInvariance() throws {
        let m = 14, n = 37, k = 4096 * 6 + 123
        let a = seededFloats(m * k, seed: 5), b = seededFloats(k * n, seed: 6), bias = seededFloats(n, seed: 7)
        let base = run(m: m, n: n, k: k, a: a, b: b, bias: bias, threads: 1, prepacked: false)
        try onEveryKernelPath { isa in
            for t in invarianceThreadCounts {
                for prepacked in [false, true] {
                    let c = try onOwnPool(threads: t) { run(m: m, n: n, k: k, a: a, b: b, bias: bias, threads: t, prepacked: prepacked) }
                    #expect(bits(c) == bits(base), "\(isa) threads \(t) prepacked \(prepacked)")
                }
            }
        }
    }

    /// Just below the depth threshold the product is still one chain per output.
    @Test func justBelowTheThresholdIsOneChain() {
        let m = 5, n = 19, k = GEMM.segmentMinDepth - 1
        let a = seededFloats(m * k, seed: 11), b = seededFloats(k * n, seed: 12)
        let oneChain = expected(m: m, n: n, k: k, a: a, b: b, segmented: false) { v, _ in v }
        #expect(bits(library(m: m, n: n, k: k, a: a, b: b)) == bits(oneChain))
        for t in [1, 3] {
            #expect(bits(run(m: m, n: n, k: k, a: a, b: b, bias: nil, threads: t, prepacked: false)) == bits(oneChain))
        }
    }

    @Test func matmulIsThreadInvariantOnSegmentedShapes() throws {
        // 7 full segments and a partial one: a segment per thread at every invariance count.
        let k = 7 * GEMM.segmentLength + 123
        let a = try seededTensor([6, k], seed: 21), b = try seededTensor([k, 17], seed: 22)
        let base = try onOwnPool(threads: 1) { try bits(a.matmul(b)) }
        for t in invarianceThreadCounts where t > 1 {
            #expect(try onOwnPool(threads: t) { try bits(a.matmul(b)) } == base, "threads \(t)")
        }
    }
}
