import Foundation

extension StateDict {
    /// The largest safetensors header accepted (the format's own limit is 100 MB).
    static let maxSafetensorsHeader = 100_000_000

    static func readSafetensors(_ bytes: CheckpointBytes) throws(CheckpointError) -> StateDict {
        let headerEnd = try safetensorsHeaderEnd(bytes.prefix(8), fileSize: bytes.count)
        let entries = try safetensorsEntries(try bytes.slice(8, headerEnd - 8).array, dataCount: bytes.count - headerEnd)
        var out: [(String, CheckpointTensor)] = []
        for e in entries {
            // A view of the (possibly memory-mapped) file: copied once, when converted to a tensor.
            let view = try bytes.slice(headerEnd + e.begin, e.end - e.begin)
            out.append((e.name, try CheckpointTensor(dtype: e.dtype, shape: e.shape, storage: view, name: e.name)))
        }
        return StateDict(out, format: .safetensors)
    }

    /// One safetensors header entry: where its bytes are in the data section.
    struct SafetensorsEntry: Sendable {
        var name: String, dtype: CheckpointDType, shape: [Int], begin: Int, end: Int
    }

    /// The end of the header (8 + its declared length), checked against the file size.
    static func safetensorsHeaderEnd(_ lengthBytes: some Collection<UInt8>, fileSize: Int) throws(CheckpointError) -> Int {
        guard lengthBytes.count >= 8, fileSize >= 8 else { throw .truncated("safetensors file shorter than its 8-byte header length") }
        let n = lengthBytes.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard n <= UInt64(maxSafetensorsHeader) else { throw .tooLarge("safetensors header of \(n) bytes") }
        guard Int(n) <= fileSize - 8 else { throw .truncated("safetensors header of \(n) bytes runs past the end") }
        return 8 + Int(n)
    }

    /// The header's entries in data order, each checked to lie inside the `dataCount`-byte data section.
    static func safetensorsEntries(_ headerBytes: some Collection<UInt8>, dataCount: Int) throws(CheckpointError) -> [SafetensorsEntry] {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(headerBytes))
        } catch {
            throw .invalidHeader("not JSON: \(error.localizedDescription)")
        }
        guard let header = object as? [String: Any] else { throw .invalidHeader("not a JSON object") }
        var entries: [SafetensorsEntry] = []
        for (name, value) in header where name != "__metadata__" {
            guard let e = value as? [String: Any],
                  let dtypeName = e["dtype"] as? String,
                  let shapeAny = e["shape"] as? [Any],
                  let offsetsAny = e["data_offsets"] as? [Any], offsetsAny.count == 2
            else { throw .invalidHeader("entry \(name) lacks dtype, shape or data_offsets") }
            guard let dtype = CheckpointDType(safetensors: dtypeName) else {
                throw .invalidHeader("entry \(name) has unsupported dtype \(dtypeName)")
            }
            let shape = try shapeAny.map { (v) throws(CheckpointError) -> Int in try exactInt(v, "shape of \(name)") }
            let begin = try exactInt(offsetsAny[0], "data_offsets of \(name)")
            let end = try exactInt(offsetsAny[1], "data_offsets of \(name)")
            guard begin >= 0, begin <= end, end <= dataCount else {
                throw .invalidTensor(name: name, reason: "data_offsets [\(begin), \(end)] outside the \(dataCount)-byte data section")
            }
            entries.append(SafetensorsEntry(name: name, dtype: dtype, shape: shape, begin: begin, end: end))
        }
        // File order is data order (the header object is unordered once parsed).
        entries.sort { ($0.begin, $0.name) < ($1.begin, $1.name) }
        return entries
    }

    private static func exactInt(_ v: Any, _ what: String) throws(CheckpointError) -> Int {
        guard let n = v as? NSNumber else {
            throw .invalidHeader("\(what) is not a number")
        }
        let d = n.doubleValue
        guard d == d.rounded(), abs(d) < 9.0e15 else { throw .invalidHeader("\(what) is not an exact integer: \(n)") }
        return n.intValue
    }
}
