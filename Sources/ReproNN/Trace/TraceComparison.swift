import ReproTensor

/// How close two values must be to count as equal when traces are compared by value:
/// `|a − b| ≤ absolute + relative · |b|` (NumPy's `isclose`, `b` from the second trace).
public struct TraceTolerance: Sendable, Hashable {
    /// The absolute bound.
    public var absolute: Double
    /// The relative bound.
    public var relative: Double

    /// Creates the bounds.
    public init(absolute: Double, relative: Double = 0) {
        self.absolute = absolute
        self.relative = relative
    }
}

/// Where a comparison finds the kept tensors of a trace: an in-memory ``StateDict`` or a lazily read
/// ``SafetensorsFile`` (keys ``TraceDocument/tensorKey(image:entry:)``).
public protocol TraceTensorSource {
    /// The tensor under `key`, or `nil` when the source has none.
    func traceTensor(_ key: String) throws(CheckpointError) -> CheckpointTensor?
}

extension StateDict: TraceTensorSource {
    /// The entry under `key`.
    public func traceTensor(_ key: String) throws(CheckpointError) -> CheckpointTensor? { self[key] }
}

extension SafetensorsFile: TraceTensorSource {
    /// The entry under `key`, read from the file.
    public func traceTensor(_ key: String) throws(CheckpointError) -> CheckpointTensor? { try tensor(key) }
}

/// The first module whose outputs differ between two traces.
public struct TraceDivergence: Sendable, Hashable {
    /// The input image (its name in the first trace) and its position.
    public var file: String
    /// The image's index.
    public var image: Int
    /// The module's dotted name.
    public var name: String
    /// Which run of the module (0 for the first; a shared head runs once per pyramid level).
    public var occurrence: Int
    /// The operation and algorithm in the first trace.
    public var opA: String
    /// The operation and algorithm in the second trace.
    public var opB: String
    /// The output shapes on both sides.
    public var shapeA: [Int], shapeB: [Int]
    /// Values that differ (bitwise, or beyond the tolerance), when both traces kept tensors.
    public var differingValues: Int?
    /// The largest `|a − b|` over all values, when both traces kept tensors.
    public var maxAbsDiff: Double?
    /// The largest `|a − b| / |b|` over values with `b ≠ 0`, when both traces kept tensors.
    public var maxRelDiff: Double?
    /// The first differing element's row-major index in the recorded (channels-last) shape.
    public var index: Int?
}

/// The result of comparing two traces (see ``compare(_:_:tensorsA:tensorsB:tolerance:)``).
public struct TraceComparison: Sendable {
    /// `true` when every module present in both traces has equal outputs.
    public var identical: Bool
    /// Module outputs compared (entries present in both traces, over all images).
    public var modulesCompared: Int
    /// The digest of the last compared output of the last image in the first trace.
    public var finalSHA256: String?
    /// The first difference in the first trace's execution order, or `nil`.
    public var firstDivergence: TraceDivergence?
    /// Entries present in only one trace (matched by name and occurrence).
    public var onlyInA: Int, onlyInB: Int
    /// Facts that differ but do not prevent the comparison (e.g. the weights).
    public var notes: [String]

    /// Compares two traces module by module, in the first trace's execution order.
    ///
    /// Entries are matched by module name and occurrence (the k-th run of a module in one trace
    /// against its k-th run in the other), so traces from engines that order independent branches
    /// differently still line up. Without `tolerance` two outputs are equal when their SHA-256
    /// digests and shapes are; with it, when every value is within it (then both traces need their
    /// tensors for every output whose digest differs).
    ///
    /// ```swift
    /// let result = try TraceComparison.compare(a, b)
    /// result.identical   // true, or result.firstDivergence names the module
    /// ```
    /// - Throws: ``TraceError/differentModels(_:)`` when the architecture fingerprints differ,
    ///   ``TraceError/differentInputs(_:)`` when the images differ, ``TraceError/differentDigests(_:)``
    ///   when the traces use different digest algorithms, ``TraceError/missingTensors(_:)``
    ///   when a tolerance needs tensors a trace did not keep.
    public static func compare(
        _ a: TraceDocument, _ b: TraceDocument, tensorsA: (any TraceTensorSource)? = nil, tensorsB: (any TraceTensorSource)? = nil,
        tolerance: TraceTolerance? = nil
    ) throws(TraceError) -> TraceComparison {
        guard a.model.fingerprint == b.model.fingerprint else {
            throw .differentModels("architecture \(a.model.arch) (fingerprint \(a.model.fingerprint.prefix(12))…) vs "
                + "\(b.model.arch) (fingerprint \(b.model.fingerprint.prefix(12))…): their state-dict keys, dtypes or shapes differ")
        }
        guard a.digest == b.digest else {
            throw .differentDigests("A uses \(a.digest.rawValue), B uses \(b.digest.rawValue); record both with the same "
                + "digest (repro detect --trace-digest, scripts/torchvision_trace.py --digest)")
        }
        guard a.images.count == b.images.count else {
            throw .differentInputs("\(a.images.count) image(s) vs \(b.images.count)")
        }
        for (x, y) in zip(a.images, b.images) where x.inputSHA256 != y.inputSHA256 {
            throw .differentInputs("\(x.file) (pixels \(x.inputSHA256.prefix(12))…) vs \(y.file) (pixels \(y.inputSHA256.prefix(12))…)")
        }
        var result = TraceComparison(identical: true, modulesCompared: 0, finalSHA256: nil, firstDivergence: nil,
                                     onlyInA: 0, onlyInB: 0, notes: [])
        if a.model.weightsSHA256 != b.model.weightsSHA256 {
            result.notes.append("the weights differ (\(a.model.weightsSHA256.prefix(12))… vs \(b.model.weightsSHA256.prefix(12))…)")
        }
        for (i, (x, y)) in zip(a.images, b.images).enumerated() {
            var indexB: [Key: Int] = [:]
            var seen: [String: Int] = [:]
            for (k, e) in y.modules.enumerated() {
                let n = seen[e.name, default: 0]
                seen[e.name] = n + 1
                indexB[Key(name: e.name, occurrence: n)] = k
            }
            var matchedB = 0
            seen = [:]
            for (k, e) in x.modules.enumerated() {
                let n = seen[e.name, default: 0]
                seen[e.name] = n + 1
                guard let kb = indexB[Key(name: e.name, occurrence: n)] else {
                    result.onlyInA += 1
                    continue
                }
                matchedB += 1
                result.modulesCompared += 1
                result.finalSHA256 = e.sha256
                guard result.firstDivergence == nil else { continue }
                let f = y.modules[kb]
                let bitsEqual = e.sha256 == f.sha256 && e.shape == f.shape
                if bitsEqual { continue }
                let ta = try tensor(tensorsA, image: i, entry: k)
                let tb = ta == nil ? nil : try tensor(tensorsB, image: i, entry: kb)
                var d = TraceDivergence(file: x.file, image: i, name: e.name, occurrence: n, opA: e.op, opB: f.op,
                                        shapeA: e.shape, shapeB: f.shape)
                if let tolerance {
                    guard let ta, let tb else {
                        throw .missingTensors("\(e.name): the digests differ and comparing within a tolerance needs the "
                            + "tensors of both traces (record them with --trace-tensors)")
                    }
                    if e.shape == f.shape, statistics(ta, tb, tolerance: tolerance, into: &d) == 0 { continue }
                } else if let ta, let tb, e.shape == f.shape {
                    _ = statistics(ta, tb, tolerance: nil, into: &d)
                }
                result.firstDivergence = d
                result.identical = false
            }
            result.onlyInB += y.modules.count - matchedB
        }
        return result
    }

    private struct Key: Hashable { var name: String; var occurrence: Int }

    private static func tensor(_ source: (any TraceTensorSource)?, image: Int, entry: Int) throws(TraceError) -> [Double]? {
        guard let source else { return nil }
        do {
            guard let t = try source.traceTensor(TraceDocument.tensorKey(image: image, entry: entry)) else { return nil }
            switch t.dtype {
            case .float32: return try t.floats().map(Double.init)
            case .int64, .int32, .int16, .int8, .uint8, .bool: return try t.integers().map(Double.init)
            case .float64:
                return t.bytes.withUnsafeBytes { raw in (0..<(t.bytes.count / 8)).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: Double.self) } }
            case .float16, .bfloat16:
                throw TraceError.missingTensors("tensor \(image)/\(entry) is \(t.dtype.rawValue); traces keep float32, float64 or integers")
            }
        } catch let e as TraceError {
            throw e
        } catch {
            throw .missingTensors("tensor \(image)/\(entry) cannot be read: \(error)")
        }
    }

    /// Fills the size of the difference; returns the number of differing values.
    private static func statistics(_ a: [Double], _ b: [Double], tolerance: TraceTolerance?, into d: inout TraceDivergence) -> Int {
        guard a.count == b.count else { return max(a.count, b.count) }
        var count = 0, first: Int?
        var maxAbs = 0.0, maxRel = 0.0
        for i in a.indices {
            let x = a[i], y = b[i]
            let differs: Bool
            if let tolerance {
                differs = !(abs(x - y) <= tolerance.absolute + tolerance.relative * abs(y)) && !(x == y)
            } else {
                differs = x.bitPattern != y.bitPattern
            }
            let diff = abs(x - y)
            if diff > maxAbs || diff.isNaN { maxAbs = diff }
            if y != 0, diff / abs(y) > maxRel { maxRel = diff / abs(y) }
            if differs {
                count += 1
                if first == nil { first = i }
            }
        }
        d.differingValues = count
        d.maxAbsDiff = maxAbs
        d.maxRelDiff = maxRel
        d.index = first
        return count
    }
}
