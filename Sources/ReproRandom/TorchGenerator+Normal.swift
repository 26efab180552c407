// torch.randn / randn_like / normal_(mean, std) on CPU (docs/random.md, "Normal").
//
// Dispatch: 16 or more elements of a contiguous tensor take the vectorised
// path (uniforms first, then Box–Muller on blocks of 16, the last 16 outputs
// always from an extra tail block when n % 16 != 0); fewer than 16 elements,
// or a non-contiguous tensor of any size, take the scalar double-precision
// Box–Muller path with the generator's one-value cache.

extension TorchGenerator {
    /// Fills `out` like `t.normal_(mean, std)` on a float32 tensor, in
    /// storage order.
    ///
    /// Pass `contiguous: false` when `out` is the storage of a non-contiguous
    /// view (e.g. a transposed tensor): PyTorch then uses the scalar path for
    /// any size, and fills the elements in memory order.
    ///
    /// ```swift
    /// var w = [Float](repeating: 0, count: 64)
    /// try w.withUnsafeMutableBufferPointer { try g.fillNormal($0, mean: 0, std: 0.01) }
    /// ```
    ///
    /// - Throws: ``TorchRandomError/invalidStandardDeviation(_:)`` when
    ///   `std < 0` or NaN; nothing is drawn then.
    public mutating func fillNormal(
        _ out: UnsafeMutableBufferPointer<Float>, mean: Double = 0, std: Double = 1, contiguous: Bool = true
    ) throws(TorchRandomError) {
        guard std >= 0 else { throw .invalidStandardDeviation(std) }
        guard let base = out.baseAddress else { return }
        let n = out.count
        if n >= 16 && contiguous {
            blockNormal(base, count: n, mean: Float(mean), std: Float(std))
        } else {
            let fused = capability == .avx2
            scalarNormal(count: n, mean: mean, std: std, fused: fused) { base[$0] = Float($1) }
        }
    }

    /// Fills `out` like `t.normal_(mean, std)` on a float64 tensor, in storage
    /// order (see the float32 variant for `contiguous`).
    ///
    /// ```swift
    /// var w = [Double](repeating: 0, count: 32)
    /// try w.withUnsafeMutableBufferPointer { try g.fillNormal($0, mean: 0.5, std: 0.3) }
    /// ```
    ///
    /// - Throws: ``TorchRandomError/invalidStandardDeviation(_:)``.
    public mutating func fillNormal(
        _ out: UnsafeMutableBufferPointer<Double>, mean: Double = 0, std: Double = 1, contiguous: Bool = true
    ) throws(TorchRandomError) {
        guard std >= 0 else { throw .invalidStandardDeviation(std) }
        guard let base = out.baseAddress else { return }
        let n = out.count
        if n >= 16 && contiguous {
            blockNormal(base, count: n, mean: mean, std: std)
        } else {
            let fused = capability == .avx2
            scalarNormal(count: n, mean: mean, std: std, fused: fused) { base[$0] = $1 }
        }
    }

    /// `torch.randn(count, generator=g)`: standard normal float32 values.
    ///
    /// ```swift
    /// var g = TorchGenerator(seed: 42)
    /// let z = try g.randn(count: 7)   // scalar path; leaves one value cached
    /// ```
    ///
    /// - Throws: ``TorchRandomError/negativeCount(_:)``.
    public mutating func randn(count: Int) throws(TorchRandomError) -> [Float] {
        try normal(count: count, mean: 0, std: 1)
    }

    /// `torch.randn(count, dtype=torch.float64, generator=g)`.
    ///
    /// ```swift
    /// let z = try g.randn(count: 20, as: Double.self)
    /// ```
    ///
    /// - Throws: ``TorchRandomError/negativeCount(_:)``.
    public mutating func randn(count: Int, as type: Double.Type) throws(TorchRandomError) -> [Double] {
        try normal(count: count, mean: 0, std: 1, as: Double.self)
    }

    /// `torch.empty(count).normal_(mean, std, generator=g)` (float32), values
    /// in storage order; `contiguous: false` reproduces a non-contiguous view.
    ///
    /// ```swift
    /// let z = try g.normal(count: 32, mean: 0.5, std: 0.3)
    /// // torch.manual_seed(3); torch.empty(4, 8).t().normal_(): memory order
    /// let t = try g.normal(count: 32, mean: 0, std: 1, contiguous: false)
    /// ```
    ///
    /// - Throws: ``TorchRandomError/negativeCount(_:)`` or
    ///   ``TorchRandomError/invalidStandardDeviation(_:)``.
    public mutating func normal(
        count: Int, mean: Double, std: Double, contiguous: Bool = true
    ) throws(TorchRandomError) -> [Float] {
        try Self.array(count: count) { (buf) throws(TorchRandomError) in
            try fillNormal(buf, mean: mean, std: std, contiguous: contiguous)
        }
    }

    /// `torch.empty(count, dtype=torch.float64).normal_(mean, std, generator=g)`.
    ///
    /// ```swift
    /// let z = try g.normal(count: 5, mean: 0.5, std: 0.3, as: Double.self)
    /// ```
    ///
    /// - Throws: ``TorchRandomError/negativeCount(_:)`` or
    ///   ``TorchRandomError/invalidStandardDeviation(_:)``.
    public mutating func normal(
        count: Int, mean: Double, std: Double, contiguous: Bool = true, as type: Double.Type
    ) throws(TorchRandomError) -> [Double] {
        try Self.array(count: count) { (buf) throws(TorchRandomError) in
            try fillNormal(buf, mean: mean, std: std, contiguous: contiguous)
        }
    }

    // MARK: - Scalar path (docs/random.md, "Normal")

    /// Box–Muller in double with the one-value cache; `store(i, value)` writes
    /// element `i` (value in f64, before conversion to the tensor's dtype).
    @inline(__always)
    mutating func scalarNormal(
        count n: Int, mean: Double, std: Double, fused: Bool, _ store: (Int, Double) -> Void
    ) {
        var cache = doubleNormalCache
        engine._withTorchCursor { c in
            for i in 0..<n {
                let z: Double
                if let cached = cache {
                    z = cached
                    cache = nil
                } else {
                    let u1 = c.nextDouble53()
                    let u2 = c.nextDouble53()
                    let r = (-2.0 * PlatformMath.log1p(-u2)).squareRoot()
                    let theta = 6.283185307179586 * u1
                    cache = r * PlatformMath.sin(theta)
                    z = r * PlatformMath.cos(theta)
                }
                store(i, fused ? mean.addingProduct(z, std) : z * std + mean)
            }
        }
        doubleNormalCache = cache
    }

    // MARK: - Vectorised path (docs/random.md, "Normal")

    /// float32: `n` raw words, a 16-uniform tail block when `n % 16 != 0`, then every block in
    /// place and the tail block over the last 16 outputs — ``drawNormal(_:mean:std:)``'s two
    /// steps run back to back on this thread.
    mutating func blockNormal(_ base: UnsafeMutablePointer<Float>, count n: Int, mean: Float, std: Float) {
        let pending = drawBlocks(base, count: n, mean: mean, std: std)
        pending.transform(blocks: 0..<pending.blocks)
        pending.finish()
    }

    /// The serial part of the float32 vectorised path (`n ≥ 16`): the `n` raw words into `base`,
    /// then the tail block's 16 uniforms when `n % 16 != 0`.
    mutating func drawBlocks(_ base: UnsafeMutablePointer<Float>, count n: Int, mean: Float, std: Float) -> PendingNormalBlocks {
        drawWords(into: base, count: n)
        var tail = SIMD16<Float>(repeating: 0)
        if n % 16 != 0 {
            engine._withTorchCursor { c in
                for j in 0..<16 { tail[j] = c.nextFloat24() }
            }
        }
        return PendingNormalBlocks(base: base, count: n, mean: mean, std: std, fused: capability == .avx2, tail: tail)
    }

    /// The float32 vectorised path split in two: the serial part (the `n` raw words and, when
    /// `n % 16 != 0`, the tail block's 16 uniforms, drawn here in ``blockNormal(_:count:mean:std:)``'s
    /// order) and a ``PendingNormalBlocks`` the caller finishes — on several threads if it likes,
    /// since each block of 16 depends on its own words alone. `nil` when nothing is pending (fewer
    /// than 16 values: the scalar path has run in full). Finishing it leaves exactly the values
    /// ``fillNormal(_:mean:std:contiguous:)`` writes; the generator is left where that leaves it.
    ///
    /// - Throws: ``TorchRandomError/invalidStandardDeviation(_:)``; nothing is drawn then.
    package mutating func drawNormal(
        _ out: UnsafeMutableBufferPointer<Float>, mean: Double = 0, std: Double = 1
    ) throws(TorchRandomError) -> PendingNormalBlocks? {
        guard std >= 0 else { throw .invalidStandardDeviation(std) }
        guard let base = out.baseAddress else { return nil }
        let n = out.count
        guard n >= 16 else {
            try fillNormal(out, mean: mean, std: std)
            return nil
        }
        return drawBlocks(base, count: n, mean: Float(mean), std: Float(std))
    }

    /// float64: the same structure with 53-bit uniforms and libm in f64.
    mutating func blockNormal(_ base: UnsafeMutablePointer<Double>, count n: Int, mean: Double, std: Double) {
        blockNormal(base, count: n, unit: { Self.double53($0.bitPattern) }, nextUnit: { $0.nextDouble53() }) {
            TorchBoxMuller.doubleBlock($0, mean: mean, std: std)
        }
    }

    /// The vectorised structure for float64 (float32 runs the same steps through
    /// ``PendingNormalBlocks``): `n` uniforms from the raw words
    /// drawn into `base` (`unit` converts a slot), then — when `n % 16 != 0` —
    /// 16 more uniforms from `nextUnit` for the tail block; `block` transforms
    /// 16 uniforms in place, first every whole block of `base`, then the tail
    /// block, whose 16 outputs overwrite the last 16 of `base`.
    @inline(__always)
    mutating func blockNormal<T: BinaryFloatingPoint>(
        _ base: UnsafeMutablePointer<T>, count n: Int,
        unit: (T) -> T, nextUnit: (inout _TorchMTCursor) -> T, block: (UnsafeMutablePointer<T>) -> Void
    ) {
        drawWords(into: base, count: n)
        for i in 0..<n { base[i] = unit(base[i]) }
        withUnsafeTemporaryAllocation(of: T.self, capacity: 16) { tailBuffer in
            let tail = tailBuffer.baseAddress!
            let hasTail = n % 16 != 0
            if hasTail {
                engine._withTorchCursor { c in
                    for j in 0..<16 { (tail + j).initialize(to: nextUnit(&c)) }
                }
            }
            var i = 0
            while i + 16 <= n { block(base + i); i += 16 }
            if hasTail {
                block(tail)
                (base + (n - 16)).update(from: tail, count: 16)
            }
        }
    }
}

/// The Box–Muller half of a float32 ``TorchGenerator/drawNormal(_:mean:std:)``: `count` raw words
/// in place and the tail block's uniforms, waiting to become normal values. ``transform(blocks:)``
/// on every block (in any order, any split, on any threads — the blocks are disjoint and each
/// depends on its own 16 words only), then ``finish()`` once, after all of them.
package struct PendingNormalBlocks: @unchecked Sendable {
    let base: UnsafeMutablePointer<Float>
    let count: Int
    let mean: Float
    let std: Float
    /// The AVX2 build's arithmetic (``TorchGenerator/Capability/avx2``), else the default build's.
    let fused: Bool
    /// The tail block's 16 uniforms (used when `count % 16 != 0`).
    let tail: SIMD16<Float>

    /// Whole blocks of 16 values.
    package var blocks: Int { count / 16 }

    /// Converts the raw words of blocks `range` to uniforms and runs Box–Muller on each block in
    /// place.
    package func transform(blocks range: Range<Int>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= blocks, "block range out of bounds")
        for b in range {
            let d = base + b * 16
            for j in 0..<16 { d[j] = TorchGenerator.float24(d[j].bitPattern) }
            block(d)
        }
    }

    /// Box–Muller on 16 uniforms in place, in the capability's arithmetic.
    private func block(_ d: UnsafeMutablePointer<Float>) {
        if fused {
            TorchBoxMuller.avx2Block(d, mean: mean, std: std)
        } else {
            TorchBoxMuller.genericBlock(d, mean: mean, std: std)
        }
    }

    /// The tail block, when `count % 16 != 0`: its 16 outputs overwrite the last 16 values. Run it
    /// after every ``transform(blocks:)``.
    package func finish() {
        guard count % 16 != 0 else { return }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 16) { buffer in
            let t = buffer.baseAddress!
            for j in 0..<16 { (t + j).initialize(to: tail[j]) }
            block(t)
            (base + (count - 16)).update(from: t, count: 16)
        }
    }
}
