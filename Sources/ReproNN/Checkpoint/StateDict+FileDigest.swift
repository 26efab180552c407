import _ReproDigest

extension StateDict {
    /// The SHA-256 (lowercase hex) of the bytes this state dict was parsed from: the whole file
    /// for ``init(contentsOf:access:)``, the array for ``init(bytes:)``; nil for a state dict
    /// assembled from entries (``init(_:format:moduleVersions:wrapperKey:)``, ``strippingPrefix(_:)``).
    ///
    /// The digest is computed over the very bytes that were parsed (the mapping, or the buffer
    /// they were read into), not by reading the path again: it names what was loaded even if
    /// the file is replaced on disk meanwhile. It equals the SHA-256 of the file as `sha256sum`
    /// computes it.
    ///
    /// The bytes are hashed 1 MiB at a time; for a memory-mapped file each step's pages are given
    /// back once hashed (as loading gives back a tensor's pages once copied), so hashing never
    /// keeps the file resident. It may run on another thread while a model loads from this state
    /// dict (`repro detect` hashes its checkpoint that way, off the critical path).
    ///
    /// ```swift
    /// let dict = try StateDict(contentsOf: "retinanet_v2.pth")
    /// let digest = dict.fileSHA256()   // what `sha256sum retinanet_v2.pth` prints
    /// ```
    public func fileSHA256() -> String? {
        guard let source else { return nil }
        var hash = SHA256()
        let step = 1 << 20
        var offset = 0
        while offset < source.count {
            let n = min(step, source.count - offset)
            hash.update(UnsafeRawBufferPointer(start: source.base + offset, count: n))
            source.releasePages(offset..<(offset + n))
            offset += n
        }
        return hash.finalize().hex
    }
}
