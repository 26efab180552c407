/// How the backward kernels hand over parameter gradients: as **per-sample contributions**,
/// either written out as `[N, …]` or pushed, sample by sample in index order, into a
/// ``SampleTreeSum`` whose first sample has the global index the caller names. The autograd
/// engine (or a micro-batch merger) then reduces them with the canonical tree, so the sum never
/// depends on threads or on how the global batch was split.
///
/// ```swift
/// let sum = SampleGradients.accumulate(count: 3, firstSample: 8, samples: 2) { n, out in
///     for i in 0..<3 { out[i] = Float(n + i) }
/// }
/// sum.blocks.count   // 1: samples 8 and 9 form one aligned block of the global tree
/// ```
@_spi(Kernels) public enum SampleGradients {
    /// Runs `produce(n, buffer)` for `n` in `0..<samples` (in order) with a scratch buffer of
    /// `count` floats and appends each result to a tree sum starting at global index `firstSample`.
    /// Only one sample's contribution plus `O(log samples)` tree nodes are alive at a time.
    @_spi(Kernels) public static func accumulate(
        count: Int, firstSample: Int, samples: Int, _ produce: (Int, UnsafeMutablePointer<Float>) -> Void
    ) -> SampleTreeSum {
        var sum = SampleTreeSum(count: count, startIndex: firstSample)
        var scratch = [Float](repeating: 0, count: count)
        for n in 0..<samples {
            scratch.withUnsafeMutableBufferPointer { produce(n, $0.baseAddress!) }
            sum.append(sample: scratch)
        }
        return sum
    }

    /// The canonical tree sum of `samples` contributions laid out as `[samples, count]`.
    @_spi(Kernels) public static func treeSum(_ perSample: UnsafePointer<Float>, samples: Int, count: Int) -> [Float] {
        var sum = SampleTreeSum(count: count)
        for n in 0..<samples {
            sum.append(sample: UnsafeBufferPointer(start: perSample + n * count, count: count))
        }
        return sum.total()
    }
}
