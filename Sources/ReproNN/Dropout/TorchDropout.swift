import ReproRandom
import ReproTensor

/// PyTorch's CPU `F.dropout` / `nn.Dropout` in training mode, bit for bit, for a whole (unsplit)
/// tensor: the noise `torch.empty_like(x).bernoulli_(1 − p).div_(1 − p)` draws one `random64()`
/// per element in element order from the generator (`u = (r & (2⁵³ − 1))·2⁻⁵³`, kept iff
/// `u < 1 − p` in doubles), then the output is `x · noise`. `p = 0` returns the input and `p = 1`
/// returns `x · 0`; neither draws.
///
/// This mode depends on the whole tensor and the generator's position, so it is for parity tests
/// against PyTorch; training that must not depend on the batch split uses ``CounterDropout``.
///
/// ```swift
/// var g = TorchGenerator(seed: 0)                       // torch.manual_seed(0)
/// let x = try Tensor(repeating: Float(1), shape: [4, 5])
/// let (y, noise) = try TorchDropout.forward(x, p: 0.5, generator: &g)
/// ```
public enum TorchDropout {
    /// The noise torch draws for a tensor of this shape.
    ///
    /// - Throws: ``DropoutError/invalidProbability(_:)`` before drawing anything.
    public static func noise(shape: [Int], p: Double, generator: inout TorchGenerator) throws(DropoutError) -> DropoutNoise {
        try DropoutError.check(p)
        let count = shape.reduce(1, *)
        guard shape.allSatisfy({ $0 >= 0 }) else { throw .outOfRange("negative dimension in \(shape)") }
        if p == 0 { return try DropoutNoise(shape: shape, p: p, values: [Float](repeating: 1, count: count)) }
        if p == 1 { return try DropoutNoise(shape: shape, p: p, values: [Float](repeating: 0, count: count)) }
        var mask: [Float]
        do { mask = try generator.bernoulli(count: count, probability: 1 - p) } catch {
            throw .outOfRange("\(error)")
        }
        let keep = Float(1 - p)
        for i in mask.indices { mask[i] = mask[i] / keep }
        return try DropoutNoise(shape: shape, p: p, values: mask)
    }

    /// `F.dropout(input, p, training)`: the output and the noise backward needs (all ones when
    /// not training, where the output is the input itself and nothing is drawn).
    public static func forward(_ input: Tensor, p: Double, training: Bool = true,
                               generator: inout TorchGenerator) throws(DropoutError) -> (output: Tensor, noise: DropoutNoise) {
        try DropoutError.check(p)
        guard training else {
            return (input, try DropoutNoise(shape: input.shape, p: 0, values: [Float](repeating: 1, count: input.count)))
        }
        let drawn = try Self.noise(shape: input.shape, p: p, generator: &generator)
        return (try drawn.forward(input), drawn)
    }
}
