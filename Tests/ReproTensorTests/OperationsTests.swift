import Testing
@_spi(Kernels) @testable import ReproTensor

/// Runs `body` under every invariance thread count, each on a pool of its own
/// (``onOwnPool(threads:sourceLocation:_:)``: the threads must really run), and
/// checks the hashes agree.
func expectThreadInvariant(sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Tensor) throws {
    let base = try onOwnPool(threads: 1, sourceLocation: sourceLocation, body).bitsHash
    for t in invarianceThreadCounts where t > 1 {
        #expect(try onOwnPool(threads: t, sourceLocation: sourceLocation, body).bitsHash == base, "threads \(t)",
                sourceLocation: sourceLocation)
    }
}

/// Checks that sample 1 of a batch of 3 equals the same sample processed alone.
func expectBatchInvariant(_ x: Tensor, _ f: (Tensor) throws -> Tensor) throws {
    let batch = try f(x), alone = try f(try x.sliced(dim: 0, range: 1..<2))
    #expect(try bits(try batch.sliced(dim: 0, range: 1..<2)) == bits(alone))
}

@Suite struct OperationsTests {
    @Test func reluAddAndMath() throws {
        let x = try seededTensor([3, 4, 5, 7], seed: 1, scale: 10)
        let y = try seededTensor([3, 4, 5, 7], seed: 2, scale: 10)
        let xv: [Float] = try x.scalars(), yv: [Float] = try y.scalars()
        #expect(try bits(x.relu()) == bits(xv.map { $0 < 0 ? 0 : $0 }))
        #expect(try bits(x.adding(y)) == bits(zip(xv, yv).map { $0 + $1 }))
        #expect(try bits(x.exp()) == bits(xv.map(ElementaryFunctions.exp)))
        #expect(try bits(x.sigmoid()) == bits(xv.map(ElementaryFunctions.sigmoid)))
        #expect(throws: TensorError.self) { try x.adding(try seededTensor([3, 4], seed: 1)) }
        // Invariance on 7 full work chunks and a partial eighth, so every thread count splits the work.
        let n = 7 * Tensor.elementwiseChunk + 4321
        let bx = try seededTensor([n], seed: 1, scale: 10), by = try seededTensor([n], seed: 2, scale: 10)
        for op in [{ try bx.relu() }, { try bx.exp() }, { try bx.log() }, { try bx.sigmoid() }, { try bx.adding(by, relu: true) }] {
            try expectThreadInvariant(op)
        }
        try expectBatchInvariant(x) { try $0.sigmoid() }
    }

    @Test func maxPoolMatchesBruteForce() throws {
        let x = try seededTensor([2, 3, 9, 12], seed: 3)
        let y = try x.maxPool2d(kernel: 3, stride: 2, padding: 1)
        #expect(y.shape == [2, 3, 5, 6])
        let xv: [Float] = try x.scalars(), yv: [Float] = try y.scalars()
        for p in 0..<6 { for oy in 0..<5 { for ox in 0..<6 {
            var m = -Float.infinity
            for ky in 0..<3 { for kx in 0..<3 {
                let iy = oy * 2 - 1 + ky, ix = ox * 2 - 1 + kx
                if iy >= 0 && iy < 9 && ix >= 0 && ix < 12 { m = max(m, xv[p * 108 + iy * 12 + ix]) }
            }}
            #expect(yv[(p * 5 + oy) * 6 + ox] == m)
        }}}
        let planes = try seededTensor([3, 5, 9, 12], seed: 3)  // 15 planes: work for 7 threads
        try expectThreadInvariant { try planes.maxPool2d(kernel: 3, stride: 2, padding: 1) }
        try expectBatchInvariant(try seededTensor([3, 2, 9, 12], seed: 4)) { try $0.maxPool2d(kernel: 3, stride: 2, padding: 1) }
        #expect(throws: TensorError.self) { try x.maxPool2d(kernel: 3, stride: 0, padding: 1) }
    }

    @Test func nearestUpsample() throws {
        let x = try Tensor(shape: [1, 1, 2, 3], scalars: (0..<6).map(Float.init))
        #expect(try x.upsampled(toHeight: 4, width: 6, mode: .nearest).scalars(as: Float.self)
                == [0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 3, 3, 4, 4, 5, 5])
        // Non-integer ratio: src = min(floor(d · 3/5), 2) → 0, 0, 1, 1, 2.
        #expect(Resampling.nearestIndex(3, input: 3, output: 5) == 1)
        #expect((0..<5).map { Resampling.nearestIndex($0, input: 3, output: 5) } == [0, 0, 1, 1, 2])
        let big = try seededTensor([3, 3, 13, 17], seed: 5)
        try expectThreadInvariant { try big.upsampled(toHeight: 25, width: 34, mode: .nearest) }
    }

    @Test func bilinearFollowsTheSpecifiedArithmetic() throws {
        // Equal size: exact copy.
        let x = try seededTensor([2, 3, 7, 9], seed: 6)
        #expect(try x.upsampled(toHeight: 7, width: 9, mode: .bilinear).bitsHash == x.bitsHash)
        // 2 → 4 along x: s = 0.5, src = 0.5·(d + 0.5) − 0.5 → 0 (clamped), 0.25, 0.75, 1 (i1 clamped).
        let r = try Tensor(shape: [1, 1, 1, 2], scalars: [Float(1), 3])
        #expect(try r.upsampled(toHeight: 1, width: 4, mode: .bilinear).scalars(as: Float.self) == [1, 1.5, 2.5, 3])
        // Against a float64 evaluation of the same formula: within 1e-6 (float rounding only).
        let y = try x.upsampled(toHeight: 11, width: 5, mode: .bilinear)
        let xv: [Float] = try x.scalars(), yv: [Float] = try y.scalars()
        func taps(_ i: Int, _ o: Int, _ d: Int) -> (Int, Int, Double) {
            let s = Double(Float(i) / Float(o))
            let src = max(s * (Double(d) + 0.5) - 0.5, 0)
            let i0 = min(Int(src), i - 1)
            return (i0, min(i0 + 1, i - 1), src - Double(i0))
        }
        for p in 0..<6 { for oy in 0..<11 { for ox in 0..<5 {
            let (y0, y1, wy) = taps(7, 11, oy), (x0, x1, wx) = taps(9, 5, ox)
            func v(_ yy: Int, _ xx: Int) -> Double { Double(xv[p * 63 + yy * 9 + xx]) }
            let e = (1 - wy) * ((1 - wx) * v(y0, x0) + wx * v(y0, x1)) + wy * ((1 - wx) * v(y1, x0) + wx * v(y1, x1))
            #expect(abs(Double(yv[(p * 11 + oy) * 5 + ox]) - e) <= 1e-6)
        }}}
        let planes = try seededTensor([3, 3, 7, 9], seed: 6)
        try expectThreadInvariant { try planes.upsampled(toHeight: 11, width: 5, mode: .bilinear) }
        try expectBatchInvariant(try seededTensor([3, 2, 7, 9], seed: 7)) { try $0.upsampled(toHeight: 10, width: 13, mode: .bilinear) }
    }

    @Test func groupNormMatchesFloat64Formula() throws {
        let x = try seededTensor([3, 8, 5, 6], seed: 8, scale: 4)
        let g = try seededTensor([8], seed: 9), b = try seededTensor([8], seed: 10)
        let y = try x.groupNorm(groups: 4, weight: g, bias: b, eps: 1e-5)
        let xv: [Float] = try x.scalars(), yv: [Float] = try y.scalars(), gv: [Float] = try g.scalars(), bv: [Float] = try b.scalars()
        for n in 0..<3 { for grp in 0..<4 {
            let lo = (n * 8 + grp * 2) * 30, vals = xv[lo..<(lo + 60)].map(Double.init)
            let mean = vals.reduce(0, +) / 60, variance = vals.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 60
            for i in 0..<60 {
                let c = grp * 2 + i / 30
                let e = (vals[i] - mean) / (variance + 1e-5).squareRoot() * Double(gv[c]) + Double(bv[c])
                #expect(abs(Double(yv[lo + i]) - e) <= 2e-6 * max(1, abs(e)))
            }
        }}
        try expectThreadInvariant { try x.groupNorm(groups: 4, weight: g, bias: b, relu: true) }
        try expectBatchInvariant(x) { try $0.groupNorm(groups: 4, weight: g, bias: b) }
        #expect(throws: TensorError.self) { try x.groupNorm(groups: 3, weight: nil, bias: nil) }
    }

    @Test func sortAndTopKUseTheTotalOrder() throws {
        let v: [Float] = [0.5, 2, 0.5, -1, .nan, -0.0, 0, 2, -.infinity, .infinity]
        #expect(Sorting.order(v) == [4, 9, 1, 7, 0, 2, 5, 6, 3, 8])
        #expect(Sorting.order(v) == Sorting.referenceOrder(v))
        let many = seededFloats(5000, seed: 11).map { ($0 * 50).rounded() }  // many ties
        let ref = Sorting.referenceOrder(many)
        #expect(Sorting.order(many) == ref)
        for k in [0, 1, 7, 100, 5000] {
            #expect(many.withUnsafeBufferPointer { Sorting.topK($0, k: k) } == Array(ref.prefix(k)))
        }
        // Eight rows: one work chunk each, enough for every invariance thread count.
        let t = try Tensor(shape: [8, 5000], scalars: Array(repeating: many + many.reversed(), count: 4).flatMap { $0 })
        let (vals, idx) = try t.topK(10)
        #expect(idx.dtype == .int64 && vals.shape == [8, 10])
        #expect(try idx.scalars(as: Int64.self).prefix(10).map(Int.init) == Array(ref.prefix(10)))
        try expectThreadInvariant { try t.topK(10).indices }
        try expectThreadInvariant { try t.sortedDescending().values }
        #expect(throws: TensorError.self) { try t.topK(5001) }
    }

    @Test func concatGatherIndexSelect() throws {
        let a = try Tensor(shape: [2, 2], scalars: [Float(1), 2, 3, 4]), b = try Tensor(shape: [2, 1], scalars: [Float(5), 6])
        #expect(try Tensor.concatenate([a, b], along: 1).scalars(as: Float.self) == [1, 2, 5, 3, 4, 6])
        #expect(try Tensor.concatenate([a, a], along: 0).shape == [4, 2])
        #expect(throws: TensorError.self) { try Tensor.concatenate([a, b], along: 0) }
        let idx = try Tensor(shape: [2, 2], scalars: [Int64(1), 0, 0, 0])
        #expect(try a.gather(dim: 1, index: idx).scalars(as: Float.self) == [2, 1, 3, 3])
        #expect(try a.gather(dim: 0, index: idx).scalars(as: Float.self) == [3, 2, 1, 2])
        #expect(throws: TensorError.self) { try a.gather(dim: 1, index: try Tensor(shape: [2, 2], scalars: [Int64(2), 0, 0, 0])) }
        #expect(try a.indexSelect(dim: 0, indices: [1, 1, 0]).scalars(as: Float.self) == [3, 4, 3, 4, 1, 2])
    }
}
