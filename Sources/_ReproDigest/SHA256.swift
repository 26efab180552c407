// SHA-256 (FIPS 180-4), written for Repro so that fingerprints of tensors,
// images, weights and manifests need no platform crypto library and give the
// same digest on every OS. Not for security-sensitive use beyond integrity.
//
// On x86-64 CPUs with the SHA extensions the compression runs on them
// (`_ReproDigestAccel`, chosen once at run time); everywhere else, with
// `Implementation.portable`, and when the environment has `REPRO_SHA=software`,
// it runs the portable Swift code below. Both give the same digest (tested bit
// for bit on known vectors, random lengths and split points, on both paths).
// arm64's SHA-256 instructions are not used yet: arm64 runs the portable code.

import _ReproDigestAccel

/// An incremental SHA-256 hasher.
///
/// ```swift
/// var h = SHA256()
/// h.update([0x61, 0x62, 0x63])
/// h.finalize().hex  // "ba7816bf…"
/// ```
public struct SHA256: Sendable {
    private var md: _MerkleDamgard<_SHA256Core>

    /// Creates an empty hasher (SHA-NI compression when the CPU has it and
    /// `REPRO_SHA=software` is not set: ``isAccelerationEnabled``).
    public init() { md = _MerkleDamgard(_SHA256Core(accelerated: Self.isAccelerationEnabled)) }

    /// Creates an empty hasher with a chosen compression function; every
    /// choice gives the same digest.
    ///
    /// ```swift
    /// var h = SHA256(implementation: .portable)  // the Swift reference, for tests
    /// ```
    public init(implementation: Implementation) {
        let fast = implementation == .automatic && Self.isAccelerationEnabled
        md = _MerkleDamgard(_SHA256Core(accelerated: fast))
    }

    /// Which compression function a hasher runs. The digest never depends on it.
    public enum Implementation: Sendable, Hashable {
        /// SHA-NI on x86-64 CPUs that have it (unless `REPRO_SHA=software`), otherwise portable.
        case automatic
        /// The portable Swift compression function.
        case portable
    }

    /// Whether ``Implementation/automatic`` uses the CPU's SHA extensions
    /// (x86-64 with SHA-NI, SSSE3 and SSE4.1; checked once with `cpuid`).
    public static let isAccelerationAvailable: Bool = repro_sha256_accelerated_available() != 0

    /// Whether ``Implementation/automatic`` runs on the SHA extensions: the CPU has them
    /// (``isAccelerationAvailable``) and the environment does not ask for the portable code with
    /// `REPRO_SHA=software` (read once, at the first use). The digest never depends on it.
    public static let isAccelerationEnabled: Bool =
        isAccelerationAvailable && repro_sha256_software_requested() == 0

    /// Feeds bytes.
    public mutating func update(_ bytes: some Sequence<UInt8>) { md.update(bytes) }

    /// Feeds raw memory (fast path for large buffers).
    public mutating func update(_ buffer: UnsafeRawBufferPointer) { md.update(buffer) }

    /// Finishes the hash and returns the 32-byte digest.
    public consuming func finalize() -> Digest {
        let h = md.finalize().h
        var out: [UInt8] = []
        out.reserveCapacity(32)
        for word in [h.0, h.1, h.2, h.3, h.4, h.5, h.6, h.7] { out._appendBigEndian(word) }
        return Digest(bytes: out)
    }

    /// The digest of `bytes` in one call.
    public static func hash(_ bytes: some Sequence<UInt8>) -> Digest {
        var h = SHA256()
        h.update(bytes)
        return h.finalize()
    }

    /// The digests of two messages, computed together: on the SHA extensions their common
    /// whole-block prefix runs with the two messages' rounds interleaved (about 1.6× the
    /// throughput of hashing them one after the other); each digest is exactly ``hash(_:)``'s.
    public static func hash(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer,
                            implementation: Implementation = .automatic) -> (Digest, Digest) {
        var ha = SHA256(implementation: implementation), hb = SHA256(implementation: implementation)
        update(&ha, with: a, &hb, with: b)
        return (ha.finalize(), hb.finalize())
    }

    /// Feeds `a` to `ha` and `b` to `hb` together: when neither hasher holds a partial block
    /// (a fresh hasher, or one fed whole 64-byte blocks so far) and both run on the SHA
    /// extensions, the two messages' common whole-block part runs with their rounds interleaved
    /// (about 1.6× the throughput of one after the other). Each hasher ends exactly as
    /// `ha.update(a)` and `hb.update(b)` would leave it.
    ///
    /// ```swift
    /// var x = SHA256(), y = SHA256()
    /// [UInt8](repeating: 1, count: 256).withUnsafeBytes { a in
    ///     [UInt8](repeating: 2, count: 192).withUnsafeBytes { b in SHA256.update(&x, with: a, &y, with: b) }
    /// }
    /// ```
    public static func update(_ ha: inout SHA256, with a: UnsafeRawBufferPointer, _ hb: inout SHA256, with b: UnsafeRawBufferPointer) {
        let common = min(a.count, b.count) / _SHA256Core.blockSize
        var done = 0
        if common > 0, ha.md.core.accelerated, hb.md.core.accelerated, !ha.md.hasPartialBlock, !hb.md.hasPartialBlock,
           let pa = a.baseAddress, let pb = b.baseAddress {
            ha.md.absorbWholeBlocks(byteCount: common * _SHA256Core.blockSize) { ca in
                hb.md.absorbWholeBlocks(byteCount: common * _SHA256Core.blockSize) { cb in
                    withUnsafeMutableBytes(of: &ca.h) { sa in
                        withUnsafeMutableBytes(of: &cb.h) { sb in
                            repro_sha256_compress2_accelerated(
                                sa.baseAddress!.assumingMemoryBound(to: UInt32.self), pa.assumingMemoryBound(to: UInt8.self),
                                sb.baseAddress!.assumingMemoryBound(to: UInt32.self), pb.assumingMemoryBound(to: UInt8.self), common)
                        }
                    }
                }
            }
            done = common * _SHA256Core.blockSize
        }
        ha.update(UnsafeRawBufferPointer(rebasing: a[done...]))
        hb.update(UnsafeRawBufferPointer(rebasing: b[done...]))
    }

    /// A 32-byte SHA-256 digest.
    public struct Digest: Hashable, Sendable, CustomStringConvertible {
        /// The 32 bytes of the digest.
        public let bytes: [UInt8]
        /// Lower-case hexadecimal, 64 characters.
        public var hex: String { bytes._lowercaseHex }
        /// Same as ``hex``.
        public var description: String { hex }
    }
}

/// SHA-256's chaining state and compression function.
struct _SHA256Core: _MerkleDamgardCore {
    static let blockSize = 64
    static let lengthFieldSize = 8

    var h: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) =
        (0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19)
    /// Whether blocks go to the SHA-NI compression (only when the CPU has it).
    let accelerated: Bool

    init(accelerated: Bool) { self.accelerated = accelerated }

    mutating func compress(blocks: UnsafeRawBufferPointer) {
        guard accelerated else {
            for start in stride(from: 0, to: blocks.count, by: Self.blockSize) {
                compressPortable(UnsafeRawBufferPointer(rebasing: blocks[start..<(start + Self.blockSize)]))
            }
            return
        }
        let n = blocks.count / Self.blockSize
        guard n > 0, let base = blocks.baseAddress else { return }
        withUnsafeMutableBytes(of: &h) { words in
            repro_sha256_compress_accelerated(words.baseAddress!.assumingMemoryBound(to: UInt32.self),
                                              base.assumingMemoryBound(to: UInt8.self), n)
        }
    }

    mutating func compress(_ block: UnsafeRawBufferPointer) { compress(blocks: block) }

    static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    /// The portable compression function (FIPS 180-4 §6.2.2).
    mutating func compressPortable(_ block: UnsafeRawBufferPointer) {
        var state = h
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
            for t in 0..<16 { w[t] = block._bigEndianWord(at: 4 * t) }
            @inline(__always) func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }
            for t in 16..<64 {
                let s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3)
                let s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10)
                w[t] = w[t - 16] &+ s0 &+ w[t - 7] &+ s1
            }
            var (a, b, c, d, e, f, g, hh) = state
            Self.k.withUnsafeBufferPointer { k in
                for t in 0..<64 {
                    let s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
                    let ch = (e & f) ^ (~e & g)
                    let t1 = hh &+ s1 &+ ch &+ k[t] &+ w[t]
                    let s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
                    let maj = (a & b) ^ (a & c) ^ (b & c)
                    let t2 = s0 &+ maj
                    hh = g; g = f; f = e; e = d &+ t1; d = c; c = b; b = a; a = t1 &+ t2
                }
            }
            state = (state.0 &+ a, state.1 &+ b, state.2 &+ c, state.3 &+ d,
                     state.4 &+ e, state.5 &+ f, state.6 &+ g, state.7 &+ hh)
        }
        h = state
    }
}
