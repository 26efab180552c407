import Testing
import _ReproTestSupport
@_spi(Kernels) @testable import ReproTensor

/// BatchNorm2d (training, eval, frozen) and GroupNorm for training: PyTorch's outputs and
/// gradients (tolerances stated per check), finite differences in Double, and invariance.
@Suite struct NormalizationBackwardTests {
    struct Shape { var n, s, c: Int }

    // MARK: BatchNorm

    struct BNResult: Equatable {
        var y: [Float], dx: [Float], dGamma: [Float], dBeta: [Float], stats: BatchNormKernel.Statistics
    }

    static func batchNorm(_ sh: Shape, x: [Float], dy: [Float], gamma: [Float], beta: [Float], eps: Float, threads: Int) throws -> BNResult {
        var stats: BatchNormKernel.Statistics?
        let y = try produce(x.count) { y in
            stats = try withPointers(x) { xp in try withPointers(gamma) { g in try withPointers(beta) { b in
                try BatchNormKernel.trainingForward(xp, y, batch: sh.n, spatial: sh.s, channels: sh.c, gamma: g, beta: b,
                                                    eps: eps, threads: threads) } } }
        }
        var dGamma = [Float](repeating: .nan, count: sh.n * sh.c), dBeta = dGamma
        let dx = produce(x.count) { dx in
            withPointers(x) { xp in withPointers(dy) { d in withPointers(gamma) { g in
                BatchNormKernel.trainingBackward(xp, outputGradient: d, inputGradient: dx, batch: sh.n, spatial: sh.s,
                                                 channels: sh.c, statistics: stats!, gamma: g, gammaGradients: &dGamma,
                                                 betaGradients: &dBeta, threads: threads) } } }
        }
        return BNResult(y: y, dx: dx, dGamma: dGamma, dBeta: dBeta, stats: stats!)
    }

    /// `Σ dy·BN(x)` with batch statistics, all in Double.
    static func batchNormLoss(_ sh: Shape, x: [Double], dy: [Float], gamma: [Float], beta: [Float], eps: Float) -> Double {
        var total = 0.0
        let m = Double(sh.n * sh.s)
        for c in 0..<sh.c {
            var mean = 0.0, v = 0.0
            for i in 0..<(sh.n * sh.s) { mean += x[i * sh.c + c] }
            mean /= m
            for i in 0..<(sh.n * sh.s) { v += (x[i * sh.c + c] - mean) * (x[i * sh.c + c] - mean) }
            let r = 1 / (v / m + Double(eps)).squareRoot()
            for i in 0..<(sh.n * sh.s) {
                total += ((x[i * sh.c + c] - mean) * r * Double(gamma[c]) + Double(beta[c])) * Double(dy[i * sh.c + c])
            }
        }
        return total
    }

    static func shape(_ c: JSON) throws -> Shape {
        Shape(n: try c["batch"].int, s: try c["height"].int * c["width"].int, c: try c["channels"].int)
    }

    /// PyTorch 2.13's `BatchNorm2d` in training mode, then eval mode and torchvision's frozen form.
    /// Tolerances (relative to the tensor's largest magnitude): 2e-6 for outputs, 1e-5 for gradients
    /// (PyTorch sums in float32 in another order), 1e-6 for the running statistics.
    @Test func batchNormMatchesPyTorch() throws {
        for (i, c) in try GradFixture.cases("batchnorm2d").enumerated() {
            let sh = try Self.shape(c)
            let gamma = try c["weight"].floats, beta = try c["bias"].floats, eps = Float(try c["eps"].double)
            let x = try c["x"].floats, dy = try c["dy"].floats
            let r = try Self.batchNorm(sh, x: x, dy: dy, gamma: gamma, beta: beta, eps: eps, threads: 2)
            #expect(relativeToMax(r.y, try c["y"].floats) <= 2e-6, "case \(i) y")
            #expect(relativeToMax(r.dx, try c["dx"].floats) <= 1e-5, "case \(i) dx")
            #expect(relativeToMax(SampleGradients.treeSum(r.dGamma, samples: sh.n, count: sh.c), try c["dweight"].floats) <= 1e-5, "case \(i) dγ")
            #expect(relativeToMax(SampleGradients.treeSum(r.dBeta, samples: sh.n, count: sh.c), try c["dbias"].floats) <= 1e-5, "case \(i) dβ")
            // Running statistics with momentum (or the cumulative average when it is None).
            let tracked = try c["batchesTracked"].int + 1
            #expect(tracked == (try c["newBatchesTracked"].int))
            let momentum: Double? = try c["momentum"].isNull ? nil : try c["momentum"].double
            var rm = try c["runningMean"].floats, rv = try c["runningVariance"].floats
            try BatchNormKernel.updateRunningStatistics(
                mean: &rm, variance: &rv, with: r.stats,
                factor: BatchNormKernel.momentumFactor(momentum: momentum, batchesTracked: tracked))
            #expect(relativeToMax(rm, try c["newRunningMean"].floats) <= 1e-6, "case \(i) running mean")
            #expect(relativeToMax(rv, try c["newRunningVariance"].floats) <= 1e-6, "case \(i) running var")
            // Eval mode with the updated running statistics: dx = dy·scale, per-sample dγ/dβ.
            let affine = try ChannelAffine.frozenBatchNorm(
                weight: Tensor(shape: [sh.c], scalars: gamma), bias: Tensor(shape: [sh.c], scalars: beta),
                runningMean: Tensor(shape: [sh.c], scalars: rm), runningVariance: Tensor(shape: [sh.c], scalars: rv), eps: eps)
            let dx = produce(x.count) { dx in withPointers(dy) { d in withPointers(affine.scale) { s in
                BatchNormKernel.affineBackward(outputGradient: d, inputGradient: dx, pixels: sh.n * sh.s, channels: sh.c, scale: s, threads: 2) } } }
            #expect(relativeToMax(dx, try c["evalDx"].floats) <= 1e-6, "case \(i) eval dx")
            #expect(relativeToMax(dx, try c["frozenDx"].floats) <= 1e-6, "case \(i) frozen dx")
            let rstd = rv.map { 1 / ($0 + eps).squareRoot() }
            var dg = [Float](repeating: 0, count: sh.n * sh.c), db = dg
            withPointers(x) { xp in withPointers(dy) { d in withPointers(rm) { m in withPointers(rstd) { rs in
                BatchNormKernel.parameterGradients(xp, outputGradient: d, batch: sh.n, spatial: sh.s, channels: sh.c, mean: m,
                                                   rstd: rs, gammaGradients: &dg, betaGradients: &db, threads: 2) } } } }
            #expect(relativeToMax(SampleGradients.treeSum(dg, samples: sh.n, count: sh.c), try c["evalDweight"].floats) <= 1e-5, "case \(i) eval dγ")
            #expect(relativeToMax(SampleGradients.treeSum(db, samples: sh.n, count: sh.c), try c["evalDbias"].floats) <= 1e-5, "case \(i) eval dβ")
        }
    }

    @Test func batchNormAgreesWithFiniteDifferences() throws {
        let sh = Shape(n: 3, s: 7, c: 5)
        let x = seededFloats(sh.n * sh.s * sh.c, seed: 1, scale: 2), dy = seededFloats(x.count, seed: 2)
        let gamma = seededFloats(sh.c, seed: 3).map { $0 + 1.5 }, beta = seededFloats(sh.c, seed: 4)
        let r = try Self.batchNorm(sh, x: x, dy: dy, gamma: gamma, beta: beta, eps: 1e-5, threads: 1)
        // Step 1e-4 in Double: truncation ~1e-8; 1e-4 covers the float32 gradient.
        expectFiniteDifferences({ Self.batchNormLoss(sh, x: $0, dy: dy, gamma: gamma, beta: beta, eps: 1e-5) }, at: x,
                                gradient: r.dx, indices: probeIndices(x.count, count: 25, seed: 6), step: 1e-4, tol: 1e-4, "BN dx")
        let xd = x.map(Double.init)
        let dg = SampleGradients.treeSum(r.dGamma, samples: sh.n, count: sh.c)
        let db = SampleGradients.treeSum(r.dBeta, samples: sh.n, count: sh.c)
        expectFiniteDifferences({ g in Self.batchNormLoss(sh, x: xd, dy: dy, gamma: g.map { Float($0) }, beta: beta, eps: 1e-5) },
                                at: gamma, gradient: dg, indices: Array(0..<sh.c), step: 1e-2, tol: 1e-4, "BN dγ")
        expectFiniteDifferences({ b in Self.batchNormLoss(sh, x: xd, dy: dy, gamma: gamma, beta: b.map { Float($0) }, eps: 1e-5) },
                                at: beta, gradient: db, indices: Array(0..<sh.c), step: 1e-2, tol: 1e-4, "BN dβ")
    }

    @Test func batchNormInvariantToThreads() throws {
        let sh = Shape(n: 3, s: 50, c: 40)
        let x = seededFloats(sh.n * sh.s * sh.c, seed: 9), dy = seededFloats(x.count, seed: 10)
        let gamma = seededFloats(sh.c, seed: 11), beta = seededFloats(sh.c, seed: 12)
        let one = try onOwnPool(threads: 1) { try Self.batchNorm(sh, x: x, dy: dy, gamma: gamma, beta: beta, eps: 1e-5, threads: 1) }
        for t in [2, 3] {
            let got = try onOwnPool(threads: t) { try Self.batchNorm(sh, x: x, dy: dy, gamma: gamma, beta: beta, eps: 1e-5, threads: t) }
            #expect(got == one, "threads \(t)")
        }
    }

    @Test func batchNormRejectsSingleValuePerChannel() {
        var y = [Float](repeating: 0, count: 3)
        #expect(throws: TensorError.self) {
            try BatchNormKernel.trainingForward([1, 2, 3], &y, batch: 1, spatial: 1, channels: 3, gamma: nil, beta: nil, eps: 1e-5, threads: 1)
        }
    }

    // MARK: GroupNorm

    struct GNResult: Equatable {
        var y: [Float], mean: [Float], rstd: [Float], dx: [Float], dGamma: [Float], dBeta: [Float]
    }

    static func groupNorm(_ sh: Shape, groups: Int, x: [Float], dy: [Float], gamma: [Float], beta: [Float], threads: Int) -> GNResult {
        var mean = [Float](repeating: .nan, count: sh.n * groups), rstd = mean
        let y = produce(x.count) { y in withPointers(x) { xp in withPointers(gamma) { g in withPointers(beta) { b in
            GroupNormKernel.trainingForwardNHWC(xp, y, batch: sh.n, spatial: sh.s, channels: sh.c, groups: groups, gamma: g,
                                                beta: b, eps: 1e-5, mean: &mean, rstd: &rstd, threads: threads) } } } }
        var dGamma = [Float](repeating: .nan, count: sh.n * sh.c), dBeta = dGamma
        let dx = produce(x.count) { dx in withPointers(x) { xp in withPointers(dy) { d in withPointers(gamma) { g in
            GroupNormKernel.backwardNHWC(xp, outputGradient: d, inputGradient: dx, batch: sh.n, spatial: sh.s, channels: sh.c,
                                         groups: groups, gamma: g, mean: mean, rstd: rstd, gammaGradients: &dGamma,
                                         betaGradients: &dBeta, threads: threads) } } } }
        return GNResult(y: y, mean: mean, rstd: rstd, dx: dx, dGamma: dGamma, dBeta: dBeta)
    }

    static func groupNormLoss(_ sh: Shape, groups: Int, x: [Double], dy: [Float], gamma: [Float], beta: [Float]) -> Double {
        let cg = sh.c / groups, m = Double(cg * sh.s)
        var total = 0.0
        for n in 0..<sh.n { for g in 0..<groups {
            var mean = 0.0, v = 0.0
            for p in 0..<sh.s { for cc in 0..<cg { mean += x[(n * sh.s + p) * sh.c + g * cg + cc] } }
            mean /= m
            for p in 0..<sh.s { for cc in 0..<cg { let d = x[(n * sh.s + p) * sh.c + g * cg + cc] - mean; v += d * d } }
            let r = 1 / (v / m + 1e-5).squareRoot()
            for p in 0..<sh.s { for cc in 0..<cg {
                let i = (n * sh.s + p) * sh.c + g * cg + cc, c = g * cg + cc
                total += ((x[i] - mean) * r * Double(gamma[c]) + Double(beta[c])) * Double(dy[i])
            }}
        }}
        return total
    }

    /// The training forward is the inference kernel, bit for bit.
    @Test func groupNormTrainingForwardEqualsInference() {
        let sh = Shape(n: 2, s: 30, c: 12)
        let x = seededFloats(sh.n * sh.s * sh.c, seed: 20), gamma = seededFloats(sh.c, seed: 21), beta = seededFloats(sh.c, seed: 22)
        let r = Self.groupNorm(sh, groups: 4, x: x, dy: x, gamma: gamma, beta: beta, threads: 2)
        let y = produce(x.count) { y in withPointers(x) { xp in withPointers(gamma) { g in withPointers(beta) { b in
            GroupNormKernel.forwardNHWC(xp, y, batch: sh.n, spatial: sh.s, channels: sh.c, groups: 4, gamma: g, beta: b,
                                        eps: 1e-5, relu: false, threads: 2) } } } }
        #expect(bits(r.y) == bits(y))
    }

    /// PyTorch 2.13's `native_group_norm` and its backward. Tolerances relative to the largest
    /// magnitude: 2e-6 for y, mean and rstd; 1e-5 for gradients (float32 sums in another order).
    @Test func groupNormMatchesPyTorch() throws {
        for (i, c) in try GradFixture.cases("groupnorm").enumerated() {
            let sh = try Self.shape(c), groups = try c["groups"].int
            let r = Self.groupNorm(sh, groups: groups, x: try c["x"].floats, dy: try c["dy"].floats, gamma: try c["weight"].floats,
                                   beta: try c["bias"].floats, threads: 2)
            #expect(relativeToMax(r.y, try c["y"].floats) <= 2e-6, "case \(i) y")
            #expect(relativeToMax(r.mean, try c["mean"].floats) <= 2e-6, "case \(i) mean")
            #expect(relativeToMax(r.rstd, try c["rstd"].floats) <= 2e-6, "case \(i) rstd")
            #expect(relativeToMax(r.dx, try c["dx"].floats) <= 1e-5, "case \(i) dx")
            #expect(relativeToMax(SampleGradients.treeSum(r.dGamma, samples: sh.n, count: sh.c), try c["dweight"].floats) <= 1e-5, "case \(i) dγ")
            #expect(relativeToMax(SampleGradients.treeSum(r.dBeta, samples: sh.n, count: sh.c), try c["dbias"].floats) <= 1e-5, "case \(i) dβ")
        }
    }

    @Test func groupNormAgreesWithFiniteDifferences() {
        let sh = Shape(n: 2, s: 6, c: 6)
        let x = seededFloats(sh.n * sh.s * sh.c, seed: 30, scale: 2), dy = seededFloats(x.count, seed: 31)
        let gamma = seededFloats(sh.c, seed: 32).map { $0 + 1.5 }, beta = seededFloats(sh.c, seed: 33)
        let r = Self.groupNorm(sh, groups: 3, x: x, dy: dy, gamma: gamma, beta: beta, threads: 1)
        expectFiniteDifferences({ Self.groupNormLoss(sh, groups: 3, x: $0, dy: dy, gamma: gamma, beta: beta) }, at: x,
                                gradient: r.dx, indices: probeIndices(x.count, count: 25, seed: 7), step: 1e-4, tol: 1e-4, "GN dx")
        let xd = x.map(Double.init)
        expectFiniteDifferences({ g in Self.groupNormLoss(sh, groups: 3, x: xd, dy: dy, gamma: g.map { Float($0) }, beta: beta) },
                                at: gamma, gradient: SampleGradients.treeSum(r.dGamma, samples: sh.n, count: sh.c),
                                indices: Array(0..<sh.c), step: 1e-2, tol: 1e-4, "GN dγ")
        expectFiniteDifferences({ b in Self.groupNormLoss(sh, groups: 3, x: xd, dy: dy, gamma: gamma, beta: b.map { Float($0) }) },
                                at: beta, gradient: SampleGradients.treeSum(r.dBeta, samples: sh.n, count: sh.c),
                                indices: Array(0..<sh.c), step: 1e-2, tol: 1e-4, "GN dβ")
    }

    /// Threads 1/2/3, and sample i's dx, dγᵢ, dβᵢ equal alone or in a batch of 3.
    @Test func groupNormInvariantToThreadsAndBatch() throws {
        let sh = Shape(n: 3, s: 40, c: 32), groups = 8
        let x = seededFloats(sh.n * sh.s * sh.c, seed: 40), dy = seededFloats(x.count, seed: 41)
        let gamma = seededFloats(sh.c, seed: 42), beta = seededFloats(sh.c, seed: 43)
        let one = try onOwnPool(threads: 1) { Self.groupNorm(sh, groups: groups, x: x, dy: dy, gamma: gamma, beta: beta, threads: 1) }
        for t in [2, 3] {
            let got = try onOwnPool(threads: t) { Self.groupNorm(sh, groups: groups, x: x, dy: dy, gamma: gamma, beta: beta, threads: t) }
            #expect(got == one, "threads \(t)")
        }
        let per = sh.s * sh.c
        for n in 0..<sh.n {
            let single = Self.groupNorm(Shape(n: 1, s: sh.s, c: sh.c), groups: groups, x: Array(x[n * per..<(n + 1) * per]),
                                        dy: Array(dy[n * per..<(n + 1) * per]), gamma: gamma, beta: beta, threads: 2)
            #expect(bits(single.dx) == bits(Array(one.dx[n * per..<(n + 1) * per])), "dx sample \(n)")
            #expect(bits(single.dGamma) == bits(Array(one.dGamma[n * sh.c..<(n + 1) * sh.c])), "dγ sample \(n)")
            #expect(bits(single.dBeta) == bits(Array(one.dBeta[n * sh.c..<(n + 1) * sh.c])), "dβ sample \(n)")
        }
    }
}
