@_spi(Kernels) import ReproTensor
import _ReproDigest
import _ReproTraceAccel

/// The digest a trace records for each module output (the trace's `"digest"` field; the entries'
/// `sha256` field holds the digest of this algorithm).
///
/// - ``sha256``, the default: SHA-256 of the output's bytes, which any tool can recompute.
/// - ``nh``, `repro-nh-v1`: a fast digest for tracing full-size passes at a small fraction of
///   their cost. The bytes are cut into 4096-byte chunks (the last one zero-padded); each chunk
///   gets two 64-bit NH sums (UMAC's universal hash, ``nhKey0`` and ``nhKey1``), computed in
///   parallel on the thread pool; the digest is SHA-256 of `"repro-nh-v1\0"`, the byte count
///   (64-bit little-endian) and every chunk's two sums (little-endian), in chunk order. Chunks are
///   fixed by the byte count alone, so the digest never depends on the thread count.
///   A change confined to one 32-bit word is always detected (the two keys differ at every
///   position, so at most one sum can miss it); other accidental changes are missed with
///   probability about 2⁻⁶⁴. It is not collision-resistant against a deliberate adversary.
///   `scripts/torchvision_trace.py --digest repro-nh-v1` computes it with NumPy.
///
/// ```swift
/// let x = try Tensor(shape: [2], scalars: [Float]([1, 2]))
/// let fast = TraceDigest.nh.digest(x)          // 64 hex digits
/// let slow = TraceDigest.sha256.digest(x)      // SHA-256 of the 8 bytes
/// ```
public enum TraceDigest: String, Sendable, Hashable, CaseIterable, Codable {
    /// SHA-256 of the output's little-endian bytes (the default).
    case sha256 = "sha256"
    /// `repro-nh-v1`: chunked NH sums, combined by SHA-256 (see the type's description).
    case nh = "repro-nh-v1"

    /// The bytes in one NH chunk.
    public static let nhChunkBytes = Int(REPRO_NH_CHUNK_BYTES)

    /// The NH keys: the 1024 outputs of SplitMix64 seeded with the ASCII bytes `"repro-nh"` read
    /// as a big-endian integer (`0x726570726f2d6e68`); ``nhKey0`` takes each output's low 32
    /// bits, ``nhKey1`` its high 32 bits.
    public static let nhKey0: [UInt32] = nhKeys.map { UInt32(truncatingIfNeeded: $0) }
    /// The second NH key (see ``nhKey0``).
    public static let nhKey1: [UInt32] = nhKeys.map { UInt32(truncatingIfNeeded: $0 >> 32) }

    private static let nhKeys: [UInt64] = {
        var state: UInt64 = 0x7265_7072_6F2D_6E68
        return (0..<(nhChunkBytes / 4)).map { _ in
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }()

    /// Chunks hashed per pool work item (256 KiB): fixed, so work splits never depend on threads.
    static let chunksPerWorkItem = 64

    /// The digest (lowercase hex) of a tensor's elements, little-endian, row-major (a strided
    /// view is copied first); ``nh`` uses ``RuntimeSettings/threads`` threads of the current pool.
    public func digest(_ t: Tensor) -> String {
        t.withElementBytes { digest(bytes: $0) }
    }

    /// The digest (lowercase hex) of `bytes`.
    public func digest(bytes: UnsafeRawBufferPointer) -> String {
        switch self {
        case .sha256:
            var h = SHA256()
            h.update(bytes)
            return h.finalize().hex
        case .nh:
            return Self.nhDigest(bytes, threads: Runtime.settings.threads, portable: false)
        }
    }

    /// `repro-nh-v1` of `bytes` on up to `threads` threads; `portable` forces the scalar chunk
    /// function (tests compare it with the vector path).
    static func nhDigest(_ bytes: UnsafeRawBufferPointer, threads: Int, portable: Bool) -> String {
        let n = bytes.count, chunkBytes = nhChunkBytes
        let full = n / chunkBytes, chunks = (n + chunkBytes - 1) / chunkBytes
        var sums = [UInt64](repeating: 0, count: 2 * chunks)
        let run = portable ? repro_nh_chunks_portable : repro_nh_chunks
        Self.nhKey0.withUnsafeBufferPointer { k0 in
            Self.nhKey1.withUnsafeBufferPointer { k1 in
                sums.withUnsafeMutableBufferPointer { out in
                    guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
                    let sumsBase = out.baseAddress!
                    let items = (full + Self.chunksPerWorkItem - 1) / Self.chunksPerWorkItem
                    ThreadPool.current.forEachChunk(items, threads: threads) { item in
                        let lo = item * Self.chunksPerWorkItem, hi = min(lo + Self.chunksPerWorkItem, full)
                        run(base + lo * chunkBytes, hi - lo, k0.baseAddress!, k1.baseAddress!, sumsBase + 2 * lo)
                    }
                    if chunks > full {
                        var last = [UInt8](repeating: 0, count: chunkBytes)
                        last.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[(full * chunkBytes)...])) }
                        last.withUnsafeBufferPointer { run($0.baseAddress!, 1, k0.baseAddress!, k1.baseAddress!, sumsBase + 2 * full) }
                    }
                }
            }
        }
        var h = SHA256()
        h.update(Array("repro-nh-v1".utf8) + [0])
        [UInt64(n).littleEndian].withUnsafeBytes { h.update($0) }
        sums.map(\.littleEndian).withUnsafeBytes { h.update($0) }
        return h.finalize().hex
    }
}
