import Testing
import _ReproDigest

@Suite struct SHA256Tests {
    @Test func knownAnswers() {
        #expect(SHA256.hash([UInt8]()).hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hash(Array("abc".utf8)).hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let long = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(SHA256.hash(long).hex == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        let million = [UInt8](repeating: 0x61, count: 1_000_000)
        #expect(SHA256.hash(million).hex == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        var h = SHA256()
        million.withUnsafeBytes { h.update(UnsafeRawBufferPointer(rebasing: $0[0..<333])) }
        million.withUnsafeBytes { h.update(UnsafeRawBufferPointer(rebasing: $0[333...])) }
        #expect(h.finalize().hex == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}

/// FIPS 180-4 SHA-512 known answers (the FIPS 180-2 appendix C messages and the
/// million-`a` message), plus lengths around the 112/128-byte padding boundary
/// checked against CPython's hashlib.
@Suite struct SHA512Tests {
    @Test func knownAnswers() {
        #expect(SHA512.hash([UInt8]()).hex == "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e")
        #expect(SHA512.hash(Array("abc".utf8)).hex == "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f")
        let m448 = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(SHA512.hash(m448).hex == "204a8fc6dda82f0a0ced7beb8e08a41657c16ef468b228a8279be331a703c33596fd15c13b1b07f9aa1d3bea57789ca031ad85c7a71dd70354ec631238ca3445")
        let m896 = Array("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu".utf8)
        #expect(SHA512.hash(m896).hex == "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909")
        let million = [UInt8](repeating: 0x61, count: 1_000_000)
        #expect(SHA512.hash(million).hex == "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973ebde0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b")
    }

    @Test func paddingBoundaries() {
        let expected: [Int: String] = [
            111: "9a2a120825c2319867758ec277924f6faa254968bf752046dacdd948d8ad299b10359fd04bfd7d3810b5fa1b16a294236138baff981cbb85248478053ac4d3dd",
            112: "a3722b515ef40c910f2419f6e0da8ca51d410114ce6272faae64045f9e9f630e7fa8dd5a3243c9860b899d148c3da4bc0f9e07454542604d030bb55531fe0d5b",
            127: "1d5a8893e7b7ed83d485d26f88cfb846f3760279916976fe538e539fc16f7cd19ba3e1c2cd5fda78749a74205755cdf694e8fa90b2bfed8815f406af76c1d7bf",
            128: "e2e22f8422b54b06e35c3ea30a383d1de7a8fbc27992923074103117020d8dd7024c3ecf7d6d1a15a6de5a75ff32fb486b9e8ced4c02ffe05822bf2cb734d0e0",
        ]
        for (n, hex) in expected.sorted(by: { $0.key < $1.key }) {
            #expect(SHA512.hash([UInt8](repeating: 0x78, count: n)).hex == hex, "length \(n)")
        }
        // Incremental feeding in odd pieces gives the same digest.
        var h = SHA512()
        let msg = [UInt8](repeating: 0x78, count: 128)
        h.update(msg[0..<7]); h.update(msg[7..<120]); h.update(msg[120...])
        #expect(h.finalize().hex == expected[128])
    }
}
