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
        var header = "{"
        var offset = 0
        for (i, key) in keys.enumerated() {
            guard let t = self[key] else { continue }
            if i > 0 { header += "," }
            header += Self.jsonString(key) + ":{\"dtype\":\"\(t.dtype.safetensorsName)\",\"shape\":["
                + t.shape.map(String.init).joined(separator: ",") + "],\"data_offsets\":[\(offset),\(offset + t.bytes.count)]}"
            offset += t.bytes.count
        }
        header += "}"
        var h = Array(header.utf8)
        while h.count % 8 != 0 { h.append(0x20) }
        var out: [UInt8] = []
        out.reserveCapacity(8 + h.count + offset)
        let n = UInt64(h.count)
        for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: n >> (8 * UInt64(i)))) }
        out += h
        for key in keys { if let t = self[key] { out += t.bytes } }
        return out
    }

    /// Writes ``safetensorsBytes()`` to `path` atomically: into a temporary file in the same
    /// folder, then renamed over `path`, so a reader never sees a partial file.
    ///
    /// - Throws: ``CheckpointError/unreadable(path:reason:)`` naming the path when the file
    ///   cannot be written.
    public func writeSafetensors(to path: String) throws(CheckpointError) {
        let url = URL(fileURLWithPath: path)
        do {
            try Data(safetensorsBytes()).write(to: url, options: .atomic)
        } catch {
            throw .unreadable(path: path, reason: "cannot write: \(error.localizedDescription)")
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
