@_spi(Kernels) import ReproTensor
import ReproRandom
import _ReproDigest

/// Dropout whose mask is a pure function of `(seed, step, module path, global sample index,
/// element index)`, so it is the same for any micro-batch split, thread count or process layout.
///
/// The Philox4x32-10 key is the first 8 bytes of `SHA-256("repro.dropout\0" ‖ seed as 8
/// little-endian bytes ‖ UTF-8 module path)` (two little-endian words). Element `e` of sample `i`
/// at training step `s` uses word `e mod 4` of the block at counter
/// `(⌊e/4⌋, i, s mod 2³², ⌊s/2³²⌋)`: with `w` that word, `u = (w >> 8)·2⁻²⁴` (exact in float32)
/// and the element is **kept iff `u < 1 − p`** in doubles — torch's `bernoulli(1 − p)` convention
/// (so `p = 0` keeps everything and `p = 1` drops everything). Kept elements are multiplied by
/// torch's float32 scale `1 / f32(1 − p)` (``DropoutNoise/scale(p:)``).
///
/// ```swift
/// let dropout = CounterDropout(seed: 42, modulePath: "classifier.0")
/// let x = try Tensor(repeating: Float(1), shape: [8, 16])
/// let (y, noise) = try dropout.forward(x, p: 0.1, step: 3, startIndex: 0)
/// // sample 5 of this batch equals sample 0 of the micro-batch starting at 5
/// ```
public struct CounterDropout: Sendable, Hashable {
    /// The training seed.
    public let seed: UInt64
    /// The dropout module's path in the model tree (e.g. `"classifier.0"`).
    public let modulePath: String
    /// The Philox key derived from `seed` and `modulePath`.
    public let key0: UInt32, key1: UInt32

    /// Creates the mask source of one dropout module.
    public init(seed: UInt64, modulePath: String) {
        self.seed = seed
        self.modulePath = modulePath
        var h = SHA256()
        h.update(Array("repro.dropout".utf8) + [0])
        h.update((0..<8).map { UInt8(truncatingIfNeeded: seed >> (8 * $0)) })
        h.update(Array(modulePath.utf8))
        let d = h.finalize().bytes
        key0 = UInt32(d[0]) | UInt32(d[1]) << 8 | UInt32(d[2]) << 16 | UInt32(d[3]) << 24
        key1 = UInt32(d[4]) | UInt32(d[5]) << 8 | UInt32(d[6]) << 16 | UInt32(d[7]) << 24
    }

    /// Elements per Philox block (one 32-bit word each).
    static let wordsPerBlock = 4

    /// The four words of block `block` of `sample` at `step`.
    @inline(__always)
    func words(step: UInt64, sample: Int, block: Int) -> SIMD4<UInt32> {
        let b = Philox4x32.block(counter: (UInt32(truncatingIfNeeded: block), UInt32(truncatingIfNeeded: sample),
                                           UInt32(truncatingIfNeeded: step), UInt32(truncatingIfNeeded: step >> 32)),
                                 key: (key0, key1))
        return SIMD4(b.0, b.1, b.2, b.3)
    }

    @inline(__always)
    static func keeps(_ word: UInt32, threshold: Double) -> Bool {
        Double(Float(word >> 8) * 0x1p-24) < threshold
    }

    /// Whether element `element` of sample `sample` is kept at `step` with drop probability `p`.
    ///
    /// - Throws: ``DropoutError/invalidProbability(_:)``, or ``DropoutError/outOfRange(_:)``
    ///   unless `0 ≤ sample < 2³²` and `0 ≤ element < 2³⁴`.
    public func keeps(step: UInt64, sample: Int, element: Int, p: Double) throws(DropoutError) -> Bool {
        try DropoutError.check(p)
        guard sample >= 0, sample < 1 << 32, element >= 0, element < 1 << 34 else {
            throw .outOfRange("sample \(sample) or element \(element) beyond the counter's range")
        }
        let b = words(step: step, sample: sample, block: element / Self.wordsPerBlock)
        return Self.keeps(b[element % Self.wordsPerBlock], threshold: 1 - p)
    }

    /// The noise of a tensor `[n, …]` whose rows are the global samples `startIndex ..< startIndex + n`
    /// (a 0-d tensor is one sample). Computed in parallel over blocks of samples' elements; the
    /// values depend on nothing but the arguments.
    ///
    /// - Throws: ``DropoutError/invalidProbability(_:)``, or ``DropoutError/outOfRange(_:)`` when a
    ///   sample index reaches 2³² or a sample has 2³⁴ elements or more.
    public func noise(shape: [Int], p: Double, step: UInt64, startIndex: Int = 0) throws(DropoutError) -> DropoutNoise {
        try DropoutError.check(p)
        guard shape.allSatisfy({ $0 >= 0 }) else { throw .outOfRange("negative dimension in \(shape)") }
        let samples = shape.first ?? 1, perSample = shape.dropFirst().reduce(1, *)
        guard startIndex >= 0, startIndex + samples <= 1 << 32 else {
            throw .outOfRange("samples \(startIndex) ..< \(startIndex + samples) exceed the 2³² a counter addresses")
        }
        guard perSample < 1 << 34 else { throw .outOfRange("a sample of \(perSample) elements exceeds 2³⁴") }
        let count = samples * perSample
        if p == 0 { return try DropoutNoise(shape: shape, p: p, values: [Float](repeating: 1, count: count)) }
        let scale = DropoutNoise.scale(p: p), threshold = 1 - p
        let span = 1024   // elements per work chunk (a multiple of 4)
        let chunksPerSample = (perSample + span - 1) / span
        var values = [Float](repeating: 0, count: count)
        values.withUnsafeMutableBufferPointer { out in
            let base = out.baseAddress
            ThreadPool.current.forEachChunk(samples * chunksPerSample, threads: Runtime.settings.threads) { c in
                guard let base else { return }
                let n = c / chunksPerSample, lo = (c % chunksPerSample) * span, hi = min(lo + span, perSample)
                let row = base + n * perSample
                var e = lo
                while e < hi {
                    let b = words(step: step, sample: startIndex + n, block: e / Self.wordsPerBlock)
                    for k in 0..<min(Self.wordsPerBlock, hi - e) {
                        row[e + k] = Self.keeps(b[k], threshold: threshold) ? scale : 0
                    }
                    e += Self.wordsPerBlock
                }
            }
        }
        return try DropoutNoise(shape: shape, p: p, values: values)
    }

    /// Training-mode dropout of a micro-batch whose first row is global sample `startIndex`:
    /// the output and the noise backward needs. Not training: the input itself and noise of ones.
    public func forward(_ input: Tensor, p: Double, step: UInt64, startIndex: Int = 0,
                        training: Bool = true) throws(DropoutError) -> (output: Tensor, noise: DropoutNoise) {
        try DropoutError.check(p)
        guard training else {
            return (input, try DropoutNoise(shape: input.shape, p: 0, values: [Float](repeating: 1, count: input.count)))
        }
        let n = try noise(shape: input.shape, p: p, step: step, startIndex: startIndex)
        return (try n.forward(input), n)
    }
}
