/// How far a loader's iteration has come, reported after each delivered batch.
///
/// ```swift
/// let watched = loader.reportingProgress { p in
///     if p.delivered % 100 == 0 { print("\(p.delivered)/\(p.total) batches, epoch \(p.epoch)") }
/// }
/// ```
public struct LoaderProgress: Sendable, Hashable {
    /// The epoch of the batch just delivered.
    public let epoch: Int
    /// Its position within the epoch.
    public let position: Int
    /// Batches per epoch.
    public let batchesPerEpoch: Int
    /// Batches delivered so far by this iteration.
    public let delivered: Int
    /// Batches this iteration yields in all.
    public let total: Int

    /// The delivered fraction of the iteration, 0…1 (1 for an empty iteration).
    public var fraction: Double { total == 0 ? 1 : Double(delivered) / Double(total) }
}

extension DataLoader {
    /// The same loader, calling `callback` on the consuming thread after each
    /// batch it delivers (never from a worker thread, so it sees batches in order).
    ///
    /// ```swift
    /// for result in loader.reportingProgress({ print($0.fraction) }) { _ = try result.get() }
    /// ```
    public func reportingProgress(_ callback: @escaping @Sendable (LoaderProgress) -> Void) -> Self {
        var copy = Self(copying: self, start: start, workers: workers)
        copy.progress = callback
        return copy
    }
}
