import Foundation

extension StateDict {
    /// The tensors as a safetensors file: an 8-byte little-endian header length, a JSON header
    /// (sorted keys, padded with spaces to a multiple of 8 bytes) and the tensors' bytes in
    /// ``keys`` order. The same state dict always gives the same bytes.
    ///
    /// ```swift
    /// let dict = StateDict([("w", try CheckpointTensor(dtype: .float32, shape: [1], bytes: [0, 0, 128, 63]))])
    /// let bytes = try dict.safetensorsBytes()
    /// try StateDict(bytes: bytes)["w"]?.floats()   // [1.0]
    /// ```
    ///
    /// - Throws: ``CheckpointError/invalidHeader(_:)`` when the header cannot be encoded.
    public func safetensorsBytes() throws(CheckpointError) -> [UInt8] {
        var header: [String: Any] = [:]
        var offset = 0
        for key in keys {
            guard let t = self[key] else { continue }
            header[key] = ["dtype": t.dtype.safetensorsName, "shape": t.shape, "data_offsets": [offset, offset + t.bytes.count]]
            offset += t.bytes.count
        }
        var json: [UInt8]
        do {
            json = [UInt8](try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys, .withoutEscapingSlashes]))
        } catch {
            throw .invalidHeader("cannot encode the header: \(error.localizedDescription)")
        }
        while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
        var out: [UInt8] = []
        out.reserveCapacity(8 + json.count + offset)
        let n = UInt64(json.count)
        for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: n >> (8 * UInt64(i)))) }
        out += json
        for key in keys { if let t = self[key] { out += t.bytes } }
        return out
    }

    /// Writes the tensors as a safetensors file (``safetensorsBytes()``), atomically: the bytes
    /// go to a temporary file in the same folder, which is then renamed over `path`, so a reader
    /// never sees a half-written file.
    ///
    /// ```swift
    /// try dict.writeSafetensors(to: "weights.safetensors")
    /// ```
    ///
    /// - Throws: ``CheckpointError/unreadable(path:reason:)`` (naming the path) when the file
    ///   cannot be written.
    public func writeSafetensors(to path: String) throws(CheckpointError) {
        let bytes = try safetensorsBytes()
        let url = URL(fileURLWithPath: path)
        do {
            try Data(bytes).write(to: url, options: .atomic)
        } catch {
            throw .unreadable(path: path, reason: "cannot write: \(error.localizedDescription)")
        }
    }
}

extension CheckpointDType {
    /// The safetensors name of the dtype (`F32`, `BF16`, …).
    public var safetensorsName: String {
        switch self {
        case .float32: return "F32"
        case .float64: return "F64"
        case .float16: return "F16"
        case .bfloat16: return "BF16"
        case .int64: return "I64"
        case .int32: return "I32"
        case .int16: return "I16"
        case .int8: return "I8"
        case .uint8: return "U8"
        case .bool: return "BOOL"
        }
    }
}
