extension StateDict {
    /// The first dotted component that every key starts with, dot included (`"module."` for a
    /// model saved from inside `DataParallel`/`DistributedDataParallel`, `"model."` for many
    /// training frameworks), or nil when the keys do not all share one (or there are none).
    ///
    /// A shared prefix is not always a wrapper: a backbone-only checkpoint of RetinaNet shares
    /// `"backbone."`. ``CheckpointDiagnosis`` (ReproVision) decides whether stripping it helps.
    ///
    /// ```swift
    /// let dict = try StateDict(contentsOf: "ddp.pth")
    /// if let p = dict.sharedKeyPrefix { print("every key starts with", p) }
    /// ```
    public var sharedKeyPrefix: String? {
        guard let first = keys.first, let dot = first.firstIndex(of: ".") else { return nil }
        let prefix = String(first[...dot])
        return keys.allSatisfy { $0.hasPrefix(prefix) && $0.count > prefix.count } ? prefix : nil
    }

    /// The same tensors with `prefix` removed from the keys that start with it (other keys
    /// are kept as they are), e.g. `module.backbone.body.conv1.weight` →
    /// `backbone.body.conv1.weight`. Module versions are renamed the same way.
    ///
    /// ```swift
    /// let dict = try StateDict(contentsOf: "ddp.pth").strippingPrefix("module.")
    /// ```
    ///
    /// - Throws: ``CheckpointError/invalidTensor(name:reason:)`` when two keys become one.
    public func strippingPrefix(_ prefix: String) throws(CheckpointError) -> StateDict {
        guard !prefix.isEmpty else { return self }
        func strip(_ key: String) -> String { key.hasPrefix(prefix) ? String(key.dropFirst(prefix.count)) : key }
        var seen: Set<String> = []
        var entries: [(String, CheckpointTensor)] = []
        for key in keys {
            let renamed = strip(key)
            guard seen.insert(renamed).inserted else {
                throw .invalidTensor(name: key, reason: "stripping \(prefix) gives \(renamed), which another entry already has")
            }
            if let t = self[key] { entries.append((renamed, t)) }
        }
        let modulePrefix = String(prefix.dropLast(prefix.hasSuffix(".") ? 1 : 0))
        var versions: [String: Int] = [:]
        for (module, version) in moduleVersions {
            if module == modulePrefix { versions[""] = version } else { versions[strip(module)] = version }
        }
        return StateDict(entries, format: format, moduleVersions: versions, wrapperKey: wrapperKey)
    }

    /// How many tensors of each element type the checkpoint holds, keyed by
    /// ``CheckpointDType`` raw value (`"float32"`, `"float16"`, …).
    public var dtypeCounts: [String: Int] {
        var counts: [String: Int] = [:]
        for key in keys { if let t = self[key] { counts[t.dtype.rawValue, default: 0] += 1 } }
        return counts
    }
}
