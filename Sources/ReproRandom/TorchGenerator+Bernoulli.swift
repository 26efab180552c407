// torch.bernoulli / Tensor.bernoulli_ on CPU (docs/random.md, "Bernoulli").

extension TorchGenerator {
    /// `torch.bernoulli(p)` for a float32 probability tensor: one `random()`
    /// per element, `u = f32(random() & 0xFFFFFF) · 2^-24`, result `u < p`
    /// as 0 or 1 (float32, like the input).
    ///
    /// ```swift
    /// let b = try g.bernoulli(probabilities: [Float](repeating: 0.3, count: 32))
    /// ```
    ///
    /// - Throws: ``TorchRandomError/invalidProbability(_:index:)`` when an
    ///   element is outside `[0, 1]` or NaN (checked before any draw).
    public mutating func bernoulli(probabilities p: [Float]) throws(TorchRandomError) -> [Float] {
        for (i, v) in p.enumerated() where !(v >= 0 && v <= 1) {
            throw .invalidProbability(Double(v), index: i)
        }
        var out = [Float](repeating: 0, count: p.count)
        engine._withTorchCursor { c in
            for i in p.indices { out[i] = c.nextFloat24() < p[i] ? 1 : 0 }
        }
        return out
    }

    /// `torch.bernoulli(p)` / `t.bernoulli_(p)` for a float64 probability
    /// tensor: one `random64()` per element, the 53-bit double `u`, result
    /// `u < p` as 0 or 1.
    ///
    /// ```swift
    /// let b = try g.bernoulli(probabilities: [Double](repeating: 0.3, count: 8))
    /// ```
    ///
    /// - Throws: ``TorchRandomError/invalidProbability(_:index:)``.
    public mutating func bernoulli(probabilities p: [Double]) throws(TorchRandomError) -> [Double] {
        for (i, v) in p.enumerated() where !(v >= 0 && v <= 1) {
            throw .invalidProbability(v, index: i)
        }
        var out = [Double](repeating: 0, count: p.count)
        engine._withTorchCursor { c in
            for i in p.indices { out[i] = c.nextDouble53() < p[i] ? 1 : 0 }
        }
        return out
    }

    /// `torch.empty(count).bernoulli_(p)` with a scalar `p`: for every output
    /// dtype, one `random64()` per element, the 53-bit double `u`, result
    /// `u < p` as 0 or 1 (returned as float32, the default dtype).
    ///
    /// ```swift
    /// let b = try g.bernoulli(count: 32, probability: 0.3)
    /// ```
    ///
    /// - Throws: ``TorchRandomError/invalidProbability(_:index:)`` or
    ///   ``TorchRandomError/negativeCount(_:)``.
    public mutating func bernoulli(count: Int, probability p: Double) throws(TorchRandomError) -> [Float] {
        try Self.checkCount(count)
        guard p >= 0 && p <= 1 else { throw .invalidProbability(p, index: nil) }
        var out = [Float](repeating: 0, count: count)
        engine._withTorchCursor { c in
            for i in 0..<count { out[i] = c.nextDouble53() < p ? 1 : 0 }
        }
        return out
    }
}
