import Foundation

extension CheckpointDType {
    /// The safetensors name of the dtype (`F32`, `I64`, …).
    public var safetensorsName: String {
        switch self {
        case .float32: "F32"
        case .float64: "F64"
        case .float16: "F16"
        case .bfloat16: "BF16"
        case .int64: "I64"
        case .int32: "I32"
        case .int16: "I16"
        case .int8: "I8"
        case .uint8: "U8"
        case .bool: "BOOL"
        }
    }
}

extension StateDict {
    /// The state dict as a safetensors file: an 8-byte little-endian header length, a JSON header
    /// (`{"key": {"dtype", "shape", "data_offsets"}}`, keys in this dict's order, padded with
    /// spaces to a multiple of 8 bytes) and the tensors' bytes back to back in the same order.
    ///
    /// ```swift
    /// let dict = StateDict([("w", try CheckpointTensor(dtype: .float32, shape: [1], bytes: [0, 0, 128, 63]))])
    /// let bytes = dict.safetensorsBytes()
    /// let back = try StateDict(bytes: bytes)   // the same keys, dtypes, shapes and bytes
    /// ```
    public func safetensorsBytes() -> [UInt8] {
        let present = keys.compactMap { k in self[k].map { (k, $0) } }
        var out = Self.safetensorsHeader(present.map { ($0.0, $0.1.dtype, $0.1.shape, $0.1.bytes.count) })
        for (_, t) in present { out += t.bytes }
        return out
    }

    /// The 8-byte length and the JSON header (padded with spaces to a multiple of 8, and to at
    /// least `minimumBytes` bytes in all) of a safetensors file whose tensors follow back to back
    /// in the given order.
    static func safetensorsHeader(_ entries: [(key: String, dtype: CheckpointDType, shape: [Int], byteCount: Int)],
                                  minimumBytes: Int = 0) -> [UInt8] {
        var header = "{"
        var offset = 0
        for (i, e) in entries.enumerated() {
            if i > 0 { header += "," }
            header += jsonString(e.key) + ":{\"dtype\":\"\(e.dtype.safetensorsName)\",\"shape\":["
                + e.shape.map(String.init).joined(separator: ",") + "],\"data_offsets\":[\(offset),\(offset + e.byteCount)]}"
            offset += e.byteCount
        }
        header += "}"
        var h = Array(header.utf8)
        while h.count % 8 != 0 || 8 + h.count < minimumBytes { h.append(0x20) }
        let n = UInt64(h.count)
        return (0..<8).map { UInt8(truncatingIfNeeded: n >> (8 * UInt64($0))) } + h
    }

    /// Writes ``safetensorsBytes()`` to `path` atomically: into a temporary file in the same
    /// folder, then renamed over `path`, so a reader never sees a partial file.
    ///
    /// - Throws: ``CheckpointError/unwritable(path:reason:)`` naming the path when the file
    ///   cannot be written.
    public func writeSafetensors(to path: String) throws(CheckpointError) {
        let url = URL(fileURLWithPath: path)
        do {
            try Data(safetensorsBytes()).write(to: url, options: .atomic)
        } catch {
            throw .unwritable(path: path, reason: error.localizedDescription)
        }
    }

    /// A JSON string literal (quotes, backslashes and control characters escaped).
    static func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
}
