import ReproTensor

/// A gradient tree mirroring a model's trainable parameters: one tensor per state-dict key,
/// in ``Module/parameterSpecs`` order; frozen parameters have no entry.
///
/// ```
/// let g: Gradients = result.gradients
/// g.names.first            // "conv1.weight"
/// g["fc.bias"]?.shape      // [10]
/// ```
public struct Gradients: Sendable {
    /// The keys that have a gradient, in ``Module/parameterSpecs`` order.
    public let names: [String]
    private let values: [String: Tensor]

    init(names: [String], values: [String: Tensor]) {
        self.names = names
        self.values = values
    }

    /// The gradient of `key`, or `nil` when it is frozen or not a parameter.
    public subscript(key: String) -> Tensor? { values[key] }

    /// `(key, gradient)` pairs in order.
    public var entries: [(name: String, gradient: Tensor)] { names.map { ($0, values[$0]!) } }

    /// One SHA-256 over every key and gradient's ``Tensor/bitsHash`` in order: equal digests mean
    /// bit-identical gradient trees.
    public var digest: String {
        var text = ""
        for k in names { text += k + "=" + values[k]!.bitsHash + "\n" }
        let bytes = Array(text.utf8)
        // Shape and count agree by construction.
        return try! Tensor(shape: [bytes.count], scalars: bytes).bitsHash
    }
}

/// What one micro-batch hands over: its samples' loss and every parameter's gradient as nodes
/// of the canonical sample tree (``SampleTreeSum`` blocks), plus what its forward changed.
public struct PartialGradients: Sendable {
    /// Global indices of the samples covered.
    public let samples: Range<Int>
    /// Per-sample losses reduced over `samples`.
    public let loss: SampleTreeSum
    /// Trainable keys in ``Module/parameterSpecs`` order.
    public let names: [String]
    /// Each key's shape.
    public let shapes: [String: [Int]]
    /// Each key's contributions reduced over `samples`.
    public let trees: [String: SampleTreeSum]
    /// Buffers the forward replaced (BatchNorm running statistics), by key.
    public let bufferUpdates: [String: Tensor]
    /// Whether a layer used the micro-batch's own statistics (BatchNorm in training mode).
    public let usesBatchStatistics: Bool
}

/// The loss, the gradient tree and the replaced buffers of a global batch.
public struct GradientResult: Sendable {
    /// The canonical sum of the per-sample losses, divided by the global batch size for `.mean`.
    public var loss: Float
    /// The gradient of ``loss`` for every trainable parameter.
    public var gradients: Gradients
    /// New values of buffers (BatchNorm `running_mean`, `running_var`, `num_batches_tracked`) to
    /// store into the model (``Module/replacing(buffers:)``) when training mode ran.
    public var bufferUpdates: [String: Tensor]
}

/// Runs a global batch as micro-batches of any sizes and merges them like a binary counter, so
/// the loss and every gradient have the same bits for every split (`8`, `4 + 4`, `3 + 3 + 2`, …)
/// and every thread count.
///
/// Micro-batches must arrive in sample order and tile `0 ..< globalBatchSize`. A model with
/// BatchNorm in training mode normalises each micro-batch with its own statistics (as PyTorch's
/// gradient accumulation does), so its gradient depends on the split: the accumulator refuses
/// such a split with ``AutogradError/batchStatisticsWithMicroBatches(globalBatchSize:microBatches:)``
/// unless ``GradientOptions/allowsBatchStatisticsWithMicroBatches`` is set (then store each
/// micro-batch's ``PartialGradients/bufferUpdates`` before running the next, as PyTorch would).
///
/// ```
/// var acc = GradientAccumulator(globalBatchSize: 8)
/// for range in [0..<3, 3..<6, 6..<8] {
///     try acc.accumulate(model, samples: range) { model, scope in try lossOf(model, range, scope) }
/// }
/// let result = try acc.finish()
/// ```
public struct GradientAccumulator: Sendable {
    /// Samples in the global batch.
    public let globalBatchSize: Int
    /// Reduction, mode, selection and checks.
    public let options: GradientOptions
    private var loss: SampleTreeSum
    private var names: [String]?
    private var shapes: [String: [Int]] = [:]
    private var trees: [String: SampleTreeSum] = [:]
    private var parts = 0
    private var batchStatistics = false
    /// Buffers replaced by the latest micro-batch.
    public private(set) var bufferUpdates: [String: Tensor] = [:]

    /// An empty accumulator for a batch of `globalBatchSize` samples.
    public init(globalBatchSize: Int, options: GradientOptions = .init()) {
        self.globalBatchSize = globalBatchSize
        self.options = options
        loss = SampleTreeSum(count: 1)
    }

    /// The global index the next micro-batch must start at.
    public var nextSample: Int { loss.nextIndex }

    /// Adds a micro-batch's result.
    ///
    /// - Throws: ``AutogradError/samplesOutOfOrder(expected:found:globalBatchSize:)``,
    ///   ``AutogradError/parameterSetMismatch(_:)``, or
    ///   ``AutogradError/batchStatisticsWithMicroBatches(globalBatchSize:microBatches:)``.
    public mutating func add(_ part: PartialGradients) throws(AutogradError) {
        guard part.samples.lowerBound == nextSample, part.samples.upperBound <= globalBatchSize, !part.samples.isEmpty else {
            throw .samplesOutOfOrder(expected: nextSample, found: part.samples, globalBatchSize: globalBatchSize)
        }
        if let names {
            guard names == part.names else { throw .parameterSetMismatch("\(names.count) keys before, \(part.names.count) now") }
        } else {
            names = part.names
            shapes = part.shapes
            for k in part.names { trees[k] = SampleTreeSum(count: part.shapes[k]!.reduce(1, *)) }
        }
        parts += 1
        batchStatistics = batchStatistics || part.usesBatchStatistics
        if batchStatistics, part.samples.count < globalBatchSize, !options.allowsBatchStatisticsWithMicroBatches {
            throw .batchStatisticsWithMicroBatches(globalBatchSize: globalBatchSize, microBatches: Swift.max(parts, 2))
        }
        do {
            try loss.append(part.loss)
            for k in part.names {
                guard shapes[k] == part.shapes[k] else {
                    throw AutogradError.shapeMismatch(parameter: k, expected: shapes[k]!, found: part.shapes[k] ?? [])
                }
                try trees[k]!.append(part.trees[k]!)
            }
        } catch let e as AutogradError {
            throw e
        } catch {
            throw .samplesOutOfOrder(expected: nextSample, found: part.samples, globalBatchSize: globalBatchSize)
        }
        for (k, v) in part.bufferUpdates { bufferUpdates[k] = v }
    }

    /// Runs the loss closure on `samples` of `model` (a differentiable forward on a fresh tape)
    /// and adds the result.
    public mutating func accumulate<M: Module>(
        _ model: M, samples: Range<Int>, _ body: (M, TrainingScope) throws -> Variable
    ) throws(AutogradError) {
        try add(partialGradients(of: model, samples: samples, globalBatchSize: globalBatchSize, options: options, body))
    }

    /// The loss and gradient tree of the whole batch.
    ///
    /// - Throws: ``AutogradError/samplesOutOfOrder(expected:found:globalBatchSize:)`` when the
    ///   micro-batches do not cover the batch, ``AutogradError/nonFiniteGradient(parameter:)``, or
    ///   ``AutogradError/nonFiniteTotalLoss(_:)`` when finite per-sample losses overflow in their sum.
    public func finish() throws(AutogradError) -> GradientResult {
        guard nextSample == globalBatchSize, let names else {
            throw .samplesOutOfOrder(expected: nextSample, found: nextSample..<nextSample, globalBatchSize: globalBatchSize)
        }
        var values: [String: Tensor] = [:]
        for k in names {
            let v = trees[k]!.total()
            guard v.allSatisfy(\.isFinite) else { throw .nonFiniteGradient(parameter: k) }
            values[k] = try AutogradError.wrap(k) { () throws(TensorError) in try Tensor(shape: shapes[k]!, scalars: v) }
        }
        var total = loss.total()[0]
        if options.reduction == .mean { total = total / Float(globalBatchSize) }
        guard total.isFinite else { throw .nonFiniteTotalLoss(total) }
        return GradientResult(loss: total, gradients: Gradients(names: names, values: values), bufferUpdates: bufferUpdates)
    }
}
