import Foundation
import Testing
import _ReproDigest

/// The SHA-NI compression (used by default when the CPU has it) and the
/// portable Swift one give identical digests: against CPython's hashlib on
/// lengths around every padding boundary and at random up to 10,000 bytes,
/// and against each other on random lengths fed in random pieces.
@Suite struct SHA256AccelerationTests {
    /// The test message: an xorshift32 byte stream (seed 0x9E3779B9), the same
    /// bytes `hashlib.sha256` hashed for the table below.
    static let message: [UInt8] = {
        var x: UInt32 = 0x9E37_79B9
        return (0..<10_000).map { _ in
            x ^= x << 13; x ^= x >> 17; x ^= x << 5
            return UInt8(truncatingIfNeeded: x)
        }
    }()

    /// `hashlib.sha256(message[:n]).hexdigest()` (Python 3, OpenSSL).
    static let hashlib: [(Int, String)] = [
        (0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        (1, "68aa2e2ee5dff96e3355e6c7ee373e3d6a4e17f75f9518d843709c0c9bc3e3d4"),
        (55, "919386e15039a76a1bb3f153f6b00f29a83f97f97db953c5e73c03571124244f"),
        (56, "24b47df627c27eb1fc2bd4bea761344048b8f1b9281d48ce36c0553c6793fc4b"),
        (63, "4d38b014c81cb5bf10abef1b3dc7703f57778c03a0a1841dea40ac5434a6d46c"),
        (64, "663b84376340c47c5e9c12729c95fff5191f6eaf0002bfb1428c4e3e8080ab18"),
        (65, "1c2ed5b29ead4797e6f4d1c3f1e97a8570ace96a3ad7f240fa489132c2f9302b"),
        (119, "5351d8670dec160c5f048c70ee30ebda8129423b46ba565ab08762aa2c317f06"),
        (120, "d4ad8000d07a0fa73688990a7fb64534775dabb51c2025748aabb6ffe8247c76"),
        (127, "08c69a28155ded1c85262d977ce6a6b1f4120602b244f038f27f8368c192c1e2"),
        (128, "3967c2fc85c1dcd048b3ae2156662f0af87c3ef00838f2a5b4737b6e1d3f12f4"),
        (129, "342e1c11aa2c6be0f3957f2f3bf81d08bf97d3a0f875dc73416e108068e0450b"),
        (1000, "0fdce7b252182d05a40e0198c8bb6e5a3e6a5a40fd00ea6952442f575e376efe"),
        (10000, "860131585d948613299fb13f504a377c3a734cb920f8014a4ab0b26c093fdd79"),
        (2671, "0b365a870db4b92feef8497e9bebfb1b058f68759c1ad62f04d9c56cca13fdc0"),
        (4099, "b34c1c0afff9b88cf1b369ab6746a2a1a5dfd324315ee73081f66746913ba2d9"),
        (281, "ec1374e08ccd172a2d351b56806f4ba89f57f229ebac31c5a92cadff3861bf32"),
        (4514, "134c667931d47cadae32f422aa1a5e61ed75efd4b4869174954a5279fbf1c91b"),
        (446, "dd657306a9ea697c2eb19d0699c6ad457259c4c9c3a105cfee8df9c91e25257a"),
        (2121, "3fe9e2f555fe6db63f4fd0b82e00e97c7944d878321114c42d0b9d2511b2087d"),
        (7643, "fd72737bb04aaa50ca2045bd86f60454302099590de01d1ce31532bf0778ae43"),
        (3106, "00ee506cc794e10ad2ee5f1b0f3391366ff0994811ea5fc99b2b4d383199f8f5"),
        (6600, "222bbc7772bbb8d132e6b646556cda297cae67b42757fd974184188a8ea3fccf"),
        (6880, "0104e5184f9741b25a867683bcd79f50e2eee32e4b9d60f731915adf6b71699a"),
        (9672, "a13ef5758f8799d7a5013f90790f2b1341e6bb1008e970f6015095c280ffb936"),
        (1017, "a6d658caaadd0428b990d057efb88f138d3841e41f278a41898f45bee21a59d2"),
        (9945, "7fc557939892d178d905659f0a1bf50baac1c210987812ce98321e53928c9e0c"),
        (917, "da717c56bcfc6cc87a2c5b244a3b96e278bb35af6389f0ced5e80cf9afd20843"),
        (3796, "fae4f1dc84555a7ebda88d8c310267e2382e36edaa58bee29365db2c38548e64"),
        (1261, "7b4927a8c1e3e6094157a2e295d3dfa999d57e81c9eedef86133ff51dfc4034f"),
        (3358, "4f6f1654864cbe86d044c03df40b4c901cfc9f24b6d52c4a276578b1f640256a"),
        (5444, "fee5e3bc37bf4c2bae767f1246ee2b46e1a646628c85e9e599815435faaf1b03"),
    ]

    static let implementations: [SHA256.Implementation] = [.automatic, .portable]

    static func digest(_ bytes: ArraySlice<UInt8>, _ implementation: SHA256.Implementation) -> String {
        var h = SHA256(implementation: implementation)
        bytes.withUnsafeBytes { h.update($0) }
        return h.finalize().hex
    }

    @Test(arguments: implementations)
    func matchesHashlib(_ implementation: SHA256.Implementation) {
        for (n, hex) in Self.hashlib {
            #expect(Self.digest(Self.message[..<n], implementation) == hex, "length \(n)")
        }
    }

    @Test(arguments: implementations)
    func nistVectors(_ implementation: SHA256.Implementation) {
        func hex(_ s: [UInt8]) -> String { Self.digest(s[...], implementation) }
        #expect(hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(hex([UInt8](repeating: 0x61, count: 1_000_000))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func acceleratedEqualsPortableOnRandomStreams() {
        var x: UInt64 = 0x5EED_0F_D16E57
        func next(_ bound: Int) -> Int {
            x = x &* 6364136223846793005 &+ 1442695040888963407
            return Int((x >> 33) % UInt64(bound))
        }
        for _ in 0..<300 {
            let n = next(10_001)
            let whole = Self.digest(Self.message[..<n], .portable)
            #expect(Self.digest(Self.message[..<n], .automatic) == whole, "length \(n)")
            // The same message fed in 1–6 pieces, through raw buffers and through arrays.
            var cuts = (0..<next(6)).map { _ in next(n + 1) }
            cuts = [0] + cuts.sorted() + [n]
            var raw = SHA256(), seq = SHA256(implementation: .portable)
            for (a, b) in zip(cuts, cuts.dropFirst()) {
                Self.message[a..<b].withUnsafeBytes { raw.update($0) }
                seq.update(Array(Self.message[a..<b]))
            }
            #expect(raw.finalize().hex == whole, "length \(n) cut at \(cuts)")
            #expect(seq.finalize().hex == whole, "length \(n) cut at \(cuts)")
        }
    }

    /// `SHA256.hash(a, b)` (the two messages' rounds interleaved on SHA-NI) gives each message's
    /// own digest: every pair of lengths around the padding boundaries (0, 1, 55, 56, 63, 64, 65,
    /// 119, 120, 127, 128, 129) and 200 random pairs up to 10,000 bytes, starting at random offsets
    /// (unaligned), on both paths.
    @Test(arguments: implementations)
    func pairedHashingEqualsSingle(_ implementation: SHA256.Implementation) {
        let edges = [0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 129, 4096]
        var pairs: [(Int, Int, Int, Int)] = edges.flatMap { a in edges.map { b in (0, a, 7, b) } }
        var x: UInt64 = 0xC0FF_EE12_3456
        func next(_ bound: Int) -> Int {
            x = x &* 6364136223846793005 &+ 1442695040888963407
            return Int((x >> 33) % UInt64(bound))
        }
        for _ in 0..<200 {
            let na = next(9_001), nb = next(9_001)
            pairs.append((next(10_000 - na), na, next(10_000 - nb), nb))
        }
        for (oa, na, ob, nb) in pairs {
            let a = Self.message[oa..<(oa + na)], b = Self.message[ob..<(ob + nb)]
            let (da, db) = a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in SHA256.hash(pa, pb, implementation: implementation) } }
            #expect(da.hex == Self.digest(a, .portable), "a: \(na) bytes at \(oa) (paired with \(nb))")
            #expect(db.hex == Self.digest(b, .portable), "b: \(nb) bytes at \(ob) (paired with \(na))")
        }
        // Known digests through the paired path: NIST's one-block vector against the million-"a" one.
        let abc = Array("abc".utf8), million = [UInt8](repeating: 0x61, count: 1_000_000)
        let (d1, d2) = abc.withUnsafeBytes { p in million.withUnsafeBytes { q in SHA256.hash(q, p, implementation: implementation) } }
        #expect(d1.hex == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        #expect(d2.hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let (d3, d4) = million.withUnsafeBytes { p in million.withUnsafeBytes { q in SHA256.hash(p, UnsafeRawBufferPointer(rebasing: q[1...]), implementation: implementation) } }
        #expect(d3.hex == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        #expect(d4.hex == Self.digest(million[1...], .portable))
    }

    /// `SHA256.update(_:with:_:with:)` continues two hashers that have already taken part of
    /// their messages, whole blocks (the interleaved path) or a partial block (one at a time), and
    /// leaves each exactly as its own `update` would: every split of every pair of lengths around
    /// the block boundaries, on both paths.
    @Test(arguments: implementations)
    func pairedUpdateContinuesEachHasher(_ implementation: SHA256.Implementation) {
        let lengths = [0, 1, 63, 64, 65, 128, 200, 4096, 4097]
        let cuts = [0, 1, 64, 128, 130]
        for na in lengths { for nb in lengths { for ca in cuts where ca <= na { for cb in cuts where cb <= nb {
            let a = Self.message[3..<(3 + na)], b = Self.message[500..<(500 + nb)]
            var ha = SHA256(implementation: implementation), hb = SHA256(implementation: implementation)
            ha.update(a.prefix(ca))
            hb.update(b.prefix(cb))
            a.dropFirst(ca).withUnsafeBytes { pa in b.dropFirst(cb).withUnsafeBytes { pb in SHA256.update(&ha, with: pa, &hb, with: pb) } }
            #expect(ha.finalize().hex == Self.digest(a, .portable), "a: \(na) bytes, \(ca) first (with b \(nb), \(cb))")
            #expect(hb.finalize().hex == Self.digest(b, .portable), "b: \(nb) bytes, \(cb) first (with a \(na), \(ca))")
        }}}}
    }

    /// `REPRO_SHA=software` turns the SHA extensions off for ``SHA256/Implementation/automatic``
    /// (`.ci/run` runs this suite once more with it set); without it, the CPU decides.
    @Test func environmentSwitch() {
        let software = ["software", "portable"].contains(ProcessInfo.processInfo.environment["REPRO_SHA"] ?? "")
        #expect(SHA256.isAccelerationEnabled == (SHA256.isAccelerationAvailable && !software))
    }

    @Test func reportsAcceleration() {
        // Informational: which path `.automatic` takes on this machine; both are tested above.
        #if arch(x86_64)
        print("SHA256.isAccelerationAvailable = \(SHA256.isAccelerationAvailable)")
        #else
        #expect(!SHA256.isAccelerationAvailable)
        #endif
    }
}
