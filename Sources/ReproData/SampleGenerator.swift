import ReproRandom

/// The generator a loader hands each sample's transform: a per-sample
/// Philox4x32 stream (``AugmentationRandomness/perSample``) or a PyTorch
/// worker's `torch.manual_seed(B + w)` stream
/// (``AugmentationRandomness/torchWorkerSeeding``).
///
/// It is a `RandomNumberGenerator`, so the transforms in this module (and any
/// `using:` API) accept it.
///
/// ```swift
/// var g = SampleGenerator(SampleRandomness.generator(seed: 7, epoch: 0, index: 3))
/// let flip = g.next32() & 1 == 1
/// ```
public struct SampleGenerator: RandomNumberGenerator, Sendable {
    enum Source: Sendable {
        case philox(Philox4x32)
        case torch(TorchGenerator)
    }
    var source: Source

    /// Wraps a per-sample Philox stream.
    public init(_ philox: Philox4x32) { source = .philox(philox) }
    /// Wraps a torch generator (`random()` / `random64()` draws).
    public init(_ torch: TorchGenerator) { source = .torch(torch) }

    /// The next 32 random bits.
    public mutating func next32() -> UInt32 {
        switch source {
        case .philox(var p): let v = p.next32(); source = .philox(p); return v
        case .torch(var t): let v = t.random(); source = .torch(t); return v
        }
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        switch source {
        case .philox(var p): let v = p.next(); source = .philox(p); return v
        case .torch(var t): let v = t.random64(); source = .torch(t); return v
        }
    }

    /// The torch generator, when this is a PyTorch worker stream.
    public var torchGenerator: TorchGenerator? {
        if case .torch(let t) = source { return t }
        return nil
    }

    /// Runs `body` on the PyTorch worker stream itself (to draw with `torch.rand`-style
    /// APIs, as a torchvision transform would); nil, without calling `body`, for a Philox stream.
    ///
    /// ```swift
    /// let u = try g.withTorchGenerator { try $0.rand(count: 1)[0] }
    /// ```
    public mutating func withTorchGenerator<R>(_ body: (inout TorchGenerator) throws -> R) rethrows -> R? {
        guard case .torch(var t) = source else { return nil }
        defer { source = .torch(t) }
        return try body(&t)
    }
}
