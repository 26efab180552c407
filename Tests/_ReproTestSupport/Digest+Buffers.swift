import _ReproDigest

/// Hex SHA-256 of the raw bytes of a buffer of fixed-width integers, in
/// little-endian order (the host order on every supported platform).
public func sha256HexLittleEndian<T: FixedWidthInteger>(_ values: [T]) -> String {
    var h = SHA256()
    values.withUnsafeBytes { raw in
        // Little-endian hosts only (x86-64, arm64); the bytes are the LE encoding.
        h.update(raw)
    }
    return h.finalize().hex
}
