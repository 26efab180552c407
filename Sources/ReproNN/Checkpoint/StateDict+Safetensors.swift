import Foundation

extension StateDict {
    /// The largest safetensors header accepted (the format's own limit is 100 MB).
    static let maxSafetensorsHeader = 100_000_000

    static func readSafetensors(_ bytes: CheckpointBytes) throws(CheckpointError) -> StateDict {
        guard bytes.count >= 8 else { throw .truncated("safetensors file shorter than its 8-byte header length") }
        let n = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[$1]) << (8 * UInt64($1)) }
        guard n <= UInt64(maxSafetensorsHeader) else { throw .tooLarge("safetensors header of \(n) bytes") }
        guard Int(n) <= bytes.count - 8 else { throw .truncated("safetensors header of \(n) bytes runs past the end") }
        let headerEnd = 8 + Int(n)
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(try bytes.slice(8, headerEnd - 8).array))
        } catch {
            throw .invalidHeader("not JSON: \(error.localizedDescription)")
        }
        guard let header = object as? [String: Any] else { throw .invalidHeader("not a JSON object") }
        let dataCount = bytes.count - headerEnd
        var entries: [(String, CheckpointTensor, Int)] = []
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
            let view = try bytes.slice(headerEnd + begin, end - begin)
            entries.append((name, try CheckpointTensor(dtype: dtype, shape: shape, storage: view, name: name), begin))
        }
        // File order is data order (the header object is unordered once parsed).
        entries.sort { ($0.2, $0.0) < ($1.2, $1.0) }
        return StateDict(entries.map { ($0.0, $0.1) }, format: .safetensors)
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
