import Testing
@_spi(Kernels) @testable import ReproTensor

/// `PreparedConv2d.forward(nhwc:batch:height:width:output:threads:)` (raw buffers, what the
/// training forward calls) against the tensor entry point, bit for bit, on every algorithm and kernel path —
/// Winograd F(4×4) and F(2×2), the pointwise GEMM, the direct kernel with stride and groups — and
/// on 1–3 threads proven to run.
@Suite struct ConvRawBufferEntryTests {
    struct Case: Sendable, CustomStringConvertible {
        var weight: [Int], stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0), groups = 1
        var algorithm: PreparedConv2d.Algorithm? = nil, bias = true
        var description: String { "\(weight) stride \(stride) groups \(groups) \(algorithm?.rawValue ?? "rule")" }
    }

    static let cases: [Case] = [
        Case(weight: [32, 32, 3, 3], padding: (1, 1)),                                  // winograd F(4×4) by the rule
        Case(weight: [32, 32, 3, 3], padding: (1, 1), algorithm: .winogradF2x3),        // forced F(2×2)
        Case(weight: [40, 24, 1, 1], bias: false),                                      // pointwise GEMM
        Case(weight: [16, 3, 7, 7], stride: (2, 2), padding: (3, 3)),                   // direct, a stem
        Case(weight: [24, 8, 3, 3], stride: (2, 1), padding: (1, 1), groups: 2),        // direct, groups
    ]

    @Test(arguments: cases)
    func rawBuffersEqualTheTensorEntryPoint(_ c: Case) throws {
        let n = 3, h = 13, w = 11, channels = c.weight[1] * c.groups
        let x = seededFloats(n * h * w * channels, seed: 31)
        let weight = try Tensor(shape: c.weight, scalars: seededFloats(c.weight.reduce(1, *), seed: 32, scale: 0.2))
        let bias = c.bias ? try Tensor(shape: [c.weight[0]], scalars: seededFloats(c.weight[0], seed: 33)) : nil
        let conv = try PreparedConv2d(weight: weight, bias: bias, stride: c.stride, padding: c.padding, groups: c.groups,
                                      algorithm: c.algorithm)
        try onEveryKernelPath { isa in
            let want = try conv.forward(nhwc: Tensor(shape: [n, h, w, channels], scalars: x), threads: 1)
            let wantBits = try want.scalars(as: Float.self).map(\.bitPattern)
            for t in [1, 2, 3] {
                let got = try onOwnPool(threads: t, team: .requested) {
                    try produce(want.count) { y in
                        try withPointers(x) { xp in try conv.forward(nhwc: xp, batch: n, height: h, width: w, output: y, threads: t) }
                    }
                }
                #expect(got.map(\.bitPattern) == wantBits, "\(c), \(isa), threads \(t)")
            }
        }
    }

    @Test func sizesThatDoNotFitTheWeightsAreRefused() throws {
        let conv = try PreparedConv2d(weight: Tensor(zeros: [4, 3, 3, 3]), padding: (1, 1))
        var y = [Float](repeating: 0, count: 64)
        #expect(throws: TensorError.self) {
            try [Float](repeating: 0, count: 8).withUnsafeBufferPointer { x in
                try y.withUnsafeMutableBufferPointer { y in
                    try conv.forward(nhwc: x.baseAddress!, batch: 1, height: 0, width: 2, output: y.baseAddress!, threads: 1)
                }
            }
        }
    }
}
