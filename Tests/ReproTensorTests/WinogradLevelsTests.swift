import Testing
@_spi(Kernels) @testable import ReproTensor

/// One Winograd call over several inputs that share the weights (a feature pyramid's levels,
/// `PreparedConv2d.forward(nhwcLevels:inputAffines:threads:)`): one weight transform, the chunks of
/// every level dealt to one team of threads, and every level's output bit-identical to a call on
/// that level alone — on every kernel path and thread count.
@Suite struct WinogradLevelsTests {
    /// Five levels halving in size like RetinaNet's P3–P7 (the smallest is one partial tile; the
    /// largest spans several tile blocks), batch 2, channels off the 16-wide panels.
    static let levelShapes = [[2, 23, 30, 40], [2, 12, 15, 40], [2, 6, 8, 40], [2, 3, 4, 40], [2, 2, 2, 40]]

    static func levels(seed: UInt64) throws -> [Tensor] {
        try levelShapes.enumerated().map { i, s in try seededTensor(s, seed: seed + UInt64(i), scale: 2) }
    }

    /// Per-level affine maps (a held-back group norm + ReLU of each level).
    static func affines(_ xs: [Tensor]) throws -> [SampleChannelAffine?] {
        let c = levelShapes[0][3]
        let weight = try seededTensor([c], seed: 61), bias = try seededTensor([c], seed: 62)
        return try xs.map { x in try x.groupNormNHWCAffine(groups: 4, weight: weight, bias: bias, relu: true) }
    }

    @Test(arguments: [PreparedConv2d.Algorithm.winograd, .winogradF2x3])
    func levelsEqualOneCallPerLevel(algorithm: PreparedConv2d.Algorithm) throws {
        let xs = try Self.levels(seed: 11)
        let c = Self.levelShapes[0][3], o = 37
        let conv = try PreparedConv2d(weight: try seededTensor([o, c, 3, 3], seed: 12, scale: 0.3),
                                      bias: try seededTensor([o], seed: 13), padding: (1, 1), relu: true,
                                      algorithm: algorithm)
        let withAffines = try Self.affines(xs)
        let withoutAffines = [SampleChannelAffine?](repeating: nil, count: xs.count)
        // Mixed: some levels with a held-back step, some without.
        let mixed = withAffines.enumerated().map { $0.offset % 2 == 0 ? $0.element : nil }
        for affines in [withoutAffines, withAffines, mixed] {
            try onEveryKernelPath { isa in
                let expected = try zip(xs, affines).map { x, a in try conv.forward(nhwc: x, inputAffine: a, threads: 2).bitsHash }
                for t in invarianceThreadCounts {
                    let ys = try onOwnPool(threads: t) { try conv.forward(nhwcLevels: xs, inputAffines: affines, threads: t) }
                    #expect(ys.map(\.shape) == xs.map { [$0.shape[0], $0.shape[1], $0.shape[2], o] })
                    #expect(ys.map(\.bitsHash) == expected, "\(algorithm) \(isa) threads \(t)")
                }
            }
        }
        // The levels may come in any order, and one level alone is the single call.
        let reversed = try conv.forward(nhwcLevels: xs.reversed(), inputAffines: withAffines.reversed(), threads: 3)
        #expect(reversed.reversed().map(\.bitsHash) ==
                (try zip(xs, withAffines).map { x, a in try conv.forward(nhwc: x, inputAffine: a, threads: 1).bitsHash }))
        #expect(try conv.forward(nhwcLevels: [xs[0]], inputAffines: [nil], threads: 2).map(\.bitsHash) ==
                [conv.forward(nhwc: xs[0], threads: 2).bitsHash])
        #expect(try conv.forward(nhwcLevels: [], inputAffines: [], threads: 2).isEmpty)
    }

    /// The kernel's own entry point against the scalar reference, level by level (so a chunk dealt to
    /// the wrong level's plan, or a level left out, fails even if the single-level path shared the bug).
    @Test func kernelLevelsEqualScalarReference() throws {
        let xs = try Self.levels(seed: 21)
        let c = Self.levelShapes[0][3], o = 20
        let w = try seededTensor([o, c, 3, 3], seed: 22, scale: 0.3)
        let conv = try PreparedConv2d(weight: w, padding: (1, 1), algorithm: .winograd)
        let expected = try xs.map { x in
            try conv.reference(x.permuted([0, 3, 1, 2]).contiguous()).permuted([0, 2, 3, 1]).contiguous().bitsHash
        }
        try onEveryKernelPath { isa in
            let ys = try onOwnPool(threads: 3) { try conv.forward(nhwcLevels: xs, inputAffines: [nil, nil, nil, nil, nil], threads: 3) }
            #expect(ys.map(\.bitsHash) == expected, "\(isa)")
        }
    }

    @Test func badLevelsAreTypedErrors() throws {
        let xs = try Self.levels(seed: 31)
        let conv = try PreparedConv2d(weight: try seededTensor([24, 40, 3, 3], seed: 32), padding: (1, 1))
        #expect(conv.algorithm == .winograd)
        #expect(throws: TensorError.self) { try conv.forward(nhwcLevels: xs, inputAffines: [nil], threads: 2) }
        let wrongChannels = try seededTensor([1, 5, 5, 16], seed: 33)
        #expect(throws: TensorError.self) {
            try conv.forward(nhwcLevels: [xs[0], wrongChannels], inputAffines: [nil, nil], threads: 2)
        }
        let oneSample = try SampleChannelAffine(batch: 1, channels: 40, scale: .init(repeating: 1, count: 40),
                                                shift: .init(repeating: 0, count: 40), relu: false)
        #expect(throws: TensorError.self) {
            try conv.forward(nhwcLevels: [xs[0], xs[1]], inputAffines: [nil, oneSample], threads: 2)
        }
    }
}
