import Foundation

/// The tensors of a checkpoint file, by name, in the file's order.
///
/// Reads safetensors files, PyTorch's zip `.pth` files (`torch.save` since
/// 1.6) and PyTorch's legacy `.pth` format, with no conversion step. Reading
/// never executes anything from the file: PyTorch pickles go through a
/// restricted unpickler with an allow-list of globals (like
/// `torch.load(weights_only=True)`), and every size and offset is checked
/// against the file before it is used. A hostile file cannot make reading
/// recurse, loop or allocate without bound: pickled objects nest at most 1000
/// deep, and a strided view may expand its storage (stride 0) to at most
/// 64 MiB; beyond that reading throws ``CheckpointError``.
///
/// A file is memory-mapped, not read into memory: a tensor stored contiguously
/// (every tensor `torch.save` and safetensors write) is a view of the file's
/// bytes until it is converted, and ``Tensor/init(checkpoint:name:)`` then
/// copies it once into its final storage. The mapping is private and
/// read-only and is released when the last tensor read from it is dropped.
/// See ``FileAccess`` for the one hazard of a mapped file and how to avoid it.
///
/// ```swift
/// let dict = try StateDict(contentsOf: "retinanet_resnet50_fpn_v2_coco.pth")
/// for key in dict.keys { print(key, try dict.tensor(key).shape) }
/// ```
public struct StateDict: Sendable {
    /// The container format a state dict was read from.
    public enum Format: String, Sendable {
        /// Hugging Face safetensors.
        case safetensors
        /// PyTorch's zip container (`torch.save`, PyTorch ≥ 1.6).
        case pytorchZip
        /// PyTorch's legacy (pre-1.6) sequential pickle format.
        case pytorchLegacy
    }

    /// The format of the file.
    public let format: Format
    /// Tensor names in file order.
    public let keys: [String]
    private let tensors: [String: CheckpointTensor]
    /// `_metadata` module versions of a PyTorch state dict (`""` is the root
    /// module), e.g. `["head.classification_head": 2]`; empty for safetensors
    /// or when the file has none.
    public let moduleVersions: [String: Int]
    /// The key of the wrapper dict the tensors were found in, when the file is a training
    /// checkpoint (`{"state_dict": …, "optimizer": …, "epoch": …}` or `{"model": …}`) rather
    /// than a bare state dict; nil for a bare state dict. See ``wrapperKeys``.
    public let wrapperKey: String?
    /// The whole file (or byte array) the state dict was parsed from, for ``fileSHA256()``; nil for
    /// a state dict assembled from entries.
    var source: CheckpointBuffer?

    /// The keys under which a training checkpoint keeps its model's state dict, in the order
    /// they are tried: `state_dict`, `model_state_dict`, `model`.
    public static let wrapperKeys = ["state_dict", "model_state_dict", "model"]

    /// Whether some tensor is a view of a memory-mapped file (``FileAccess/memoryMapped``), which
    /// then stays mapped while the tensor lives.
    public var isMemoryMapped: Bool { tensors.values.contains { $0.storage.buffer.isMapped } }

    /// Creates a state dict from tensors (e.g. to save or to test).
    public init(_ entries: [(String, CheckpointTensor)], format: Format = .safetensors, moduleVersions: [String: Int] = [:],
                wrapperKey: String? = nil) {
        self.format = format
        keys = entries.map(\.0)
        tensors = Dictionary(entries, uniquingKeysWith: { _, b in b })
        self.moduleVersions = moduleVersions
        self.wrapperKey = wrapperKey
    }

    /// How a checkpoint file's bytes are brought into memory.
    public enum FileAccess: Sendable {
        /// A private, read-only memory mapping (`mmap` with `MAP_PRIVATE`): no copy of the file is
        /// made, and the pages are the page cache's, shared and reclaimable. Falls back to
        /// ``read`` where the file cannot be mapped (a pipe, an empty file, a failed `mmap`).
        ///
        /// The hazard every mapped reader has: if another process truncates the file while
        /// tensors read from it are alive, touching a page past the new end kills the process
        /// with `SIGBUS`. A file that is already short is a typed error, as with ``read``.
        case memoryMapped
        /// One `read(2)` of the whole file into a buffer of Repro's own: no hazard from a file
        /// changed later, at the cost of one copy of the file in memory.
        case read
    }

    /// Reads a checkpoint file, memory-mapped unless `access` says otherwise.
    ///
    /// - Throws: ``CheckpointError`` naming the problem (unreadable file,
    ///   unknown format, truncation, forbidden pickle global, bad shapes…).
    public init(contentsOf path: String, access: FileAccess = .memoryMapped) throws(CheckpointError) {
        try self.init(buffer: try CheckpointBuffer(contentsOf: path, map: access == .memoryMapped))
    }

    /// Reads a checkpoint from its bytes; the format is detected from the content.
    public init(bytes: [UInt8]) throws(CheckpointError) {
        try self.init(buffer: CheckpointBuffer(bytes))
    }

    /// Reads a checkpoint from a whole-file buffer.
    init(buffer: CheckpointBuffer) throws(CheckpointError) {
        let file = buffer.all
        let head = try file.slice(0, min(file.count, 9)).array
        if head.starts(with: [0x50, 0x4b, 0x03, 0x04]) || head.starts(with: [0x50, 0x4b, 0x05, 0x06]) {
            self = try Self.readZip(file)
        } else if head.starts(with: [0x80, 0x02, 0x8a, 0x0a]) {
            self = try Self.readLegacy(file)
        } else if head.count >= 9, head[8] == UInt8(ascii: "{") {
            self = try Self.readSafetensors(file)
        } else {
            throw .unknownFormat("first bytes \(head.prefix(8).map { String($0, radix: 16) }) match no known checkpoint format")
        }
        source = buffer
    }

    /// The tensor called `key`.
    ///
    /// - Throws: ``CheckpointError/missingKey(_:)`` when there is none.
    public func tensor(_ key: String) throws(CheckpointError) -> CheckpointTensor {
        guard let t = tensors[key] else { throw .missingKey(key) }
        return t
    }

    /// The tensor called `key`, or nil.
    public subscript(key: String) -> CheckpointTensor? { tensors[key] }

    /// The number of tensors.
    public var count: Int { keys.count }
}

// MARK: - PyTorch pickles

extension StateDict {
    static func readZip(_ bytes: CheckpointBytes) throws(CheckpointError) -> StateDict {
        let zip = try ZipReader(bytes)
        guard let pkl = zip.entries.first(where: { $0.name.hasSuffix("data.pkl") && $0.name.split(separator: "/").count == 2 }) else {
            throw .missingEntry("<archive>/data.pkl")
        }
        let prefix = String(pkl.name.dropLast("data.pkl".count))
        if zip.contains(prefix + "byteorder") {
            let order = String(decoding: try zip.data(prefix + "byteorder").array, as: UTF8.self)
            guard order == "little" else { throw .unsupportedByteOrder(order) }
        }
        var u = Unpickler(try zip.data(pkl.name).array[...])
        let root = try u.load()
        return try build(root, format: .pytorchZip) { (s) throws(CheckpointError) -> CheckpointBytes in
            try zip.data(prefix + "data/" + s.key)
        }
    }

    static func readLegacy(_ file: CheckpointBytes) throws(CheckpointError) -> StateDict {
        // The legacy format interleaves pickles and storages; the pickles are parsed from a copy
        // (a rare, old format), the storages stay views of the file.
        let bytes = file.array
        var u = Unpickler(bytes[...])
        guard case .bigInt(let magic) = try u.load(),
              magic == [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19] else {
            throw .unknownFormat("legacy .pth without PyTorch's magic number")
        }
        u = Unpickler(bytes[u.pos...])
        guard case .int(1001) = try u.load() else { throw .unknownFormat("legacy .pth protocol is not 1001") }
        u = Unpickler(bytes[u.pos...])
        if case .dict(let info) = try u.load(), let i = info.keys.firstIndex(where: { if case .string("little_endian") = $0 { true } else { false } }),
           case .bool(false) = info.values[i] {
            throw .unsupportedByteOrder("big")
        }
        u = Unpickler(bytes[u.pos...])
        let root = try u.load()
        u = Unpickler(bytes[u.pos...])
        guard case .list(let keyList) = try u.load() else { throw .invalidPickle(offset: u.pos, reason: "legacy storage key list missing") }
        // After the key list: for each key, an 8-byte element count and the raw elements.
        var p = u.pos
        var sizes: [String: Int] = [:]
        var storages: [String: CheckpointBytes] = [:]
        var pending: [String: CheckpointDType] = [:]
        collectStorages(root, into: &pending)
        for k in keyList.items {
            guard case .string(let key) = k, let dtype = pending[key] else {
                throw .invalidPickle(offset: p, reason: "legacy storage key without a tensor")
            }
            guard p + 8 <= bytes.count else { throw .truncated("legacy storage \(key) header") }
            let n = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[p + $1]) << (8 * UInt64($1)) }
            p += 8
            guard n <= UInt64(bytes.count - p) / UInt64(dtype.byteCount) else {
                throw .truncated("legacy storage \(key) declares \(n) elements beyond the end of the file")
            }
            let len = Int(n) * dtype.byteCount
            storages[key] = try file.slice(p, len)
            sizes[key] = Int(n)
            p += len
        }
        return try build(root, format: .pytorchLegacy) { (s) throws(CheckpointError) -> CheckpointBytes in
            guard let b = storages[s.key] else { throw .missingEntry("legacy storage \(s.key)") }
            return b
        }
    }

    private static func collectStorages(_ v: Unpickler.Value, into out: inout [String: CheckpointDType]) {
        switch v {
        case .tensor(let t): out[t.storage.key] = t.storage.dtype
        case .dict(let d): d.values.forEach { collectStorages($0, into: &out) }
        case .list(let l): l.items.forEach { collectStorages($0, into: &out) }
        case .tuple(let t): t.forEach { collectStorages($0, into: &out) }
        default: break
        }
    }

    /// Turns the unpickled root (an OrderedDict of tensors, or a training checkpoint's dict that
    /// holds one under a ``wrapperKeys`` key) into a state dict: a contiguous view of a storage
    /// stays a view of the file, any other is materialised as contiguous bytes.
    static func build(
        _ root: Unpickler.Value, format: Format,
        storage: (Unpickler.StorageRef) throws(CheckpointError) -> CheckpointBytes
    ) throws(CheckpointError) -> StateDict {
        guard case .dict(var d) = root else { throw .invalidPickle(offset: 0, reason: "the checkpoint is not a state dict") }
        var wrapper: String?
        let isTensor: (Unpickler.Value) -> Bool = { if case .tensor = $0 { true } else { false } }
        if !d.values.allSatisfy(isTensor) {
            let found = wrapperKeys.lazy.compactMap { key -> (String, Unpickler.DictBox)? in
                guard let i = d.keys.firstIndex(where: { if case .string(key) = $0 { true } else { false } }),
                      case .dict(let inner) = d.values[i], !inner.values.isEmpty, inner.values.allSatisfy(isTensor) else { return nil }
                return (key, inner)
            }.first
            guard let (key, inner) = found else {
                let names = d.keys.prefix(5).map { if case .string(let s) = $0 { s } else { "?" } }
                throw .invalidPickle(offset: 0, reason: "the checkpoint is not a state dict: it holds entries that are not "
                    + "tensors (keys \(names.joined(separator: ", "))) and no tensor dict under "
                    + wrapperKeys.map { "\"\($0)\"" }.joined(separator: ", "))
            }
            wrapper = key
            d = inner
        }
        var entries: [(String, CheckpointTensor)] = []
        for (k, v) in zip(d.keys, d.values) {
            guard case .string(let name) = k else { throw .invalidPickle(offset: 0, reason: "state dict key is not a string") }
            guard case .tensor(let t) = v else {
                throw .invalidTensor(name: name, reason: "value is not a tensor")
            }
            let raw = try storage(t.storage)
            let (storageBytes, overflow) = t.storage.elementCount.multipliedReportingOverflow(by: t.storage.dtype.byteCount)
            guard !overflow, raw.count == storageBytes else {
                throw .invalidTensor(name: name, reason: "storage \(t.storage.key) has \(raw.count) bytes, expected \(t.storage.elementCount) × \(t.storage.dtype.byteCount)")
            }
            entries.append((name, try materialise(t, raw, name: name)))
        }
        var versions: [String: Int] = [:]
        if let meta = d.attributes,
           let i = meta.keys.firstIndex(where: { if case .string("_metadata") = $0 { true } else { false } }),
           case .dict(let m) = meta.values[i] {
            for (k, v) in zip(m.keys, m.values) {
                guard case .string(let module) = k, case .dict(let info) = v,
                      let j = info.keys.firstIndex(where: { if case .string("version") = $0 { true } else { false } }),
                      case .int(let ver) = info.values[j] else { continue }
                versions[module] = Int(ver)
            }
        }
        return StateDict(entries, format: format, moduleVersions: versions, wrapperKey: wrapper)
    }

    /// ``build(_:format:storage:)`` over storages supplied as arrays (the fuzz harness's pickle mode).
    static func build(
        _ root: Unpickler.Value, format: Format,
        storage: (Unpickler.StorageRef) throws(CheckpointError) -> ArraySlice<UInt8>
    ) throws(CheckpointError) -> StateDict {
        try build(root, format: format) { (s) throws(CheckpointError) -> CheckpointBytes in
            CheckpointBytes(copying: Array(try storage(s)))
        }
    }

    /// The most bytes a view may materialise beyond the size of its storage
    /// (a stride-0 view repeats elements); larger ones are refused before
    /// anything is allocated.
    static let maxExpandedViewBytes = 1 << 26

    static func materialise(_ t: Unpickler.TensorRef, _ raw: CheckpointBytes, name: String) throws(CheckpointError) -> CheckpointTensor {
        let size = t.storage.dtype.byteCount
        guard let count = CheckpointTensor.elementCount(t.shape) else {
            throw .invalidTensor(name: name, reason: "shape \(t.shape) is negative or overflows")
        }
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: size)
        guard !overflow, byteCount <= max(raw.count, maxExpandedViewBytes) else {
            throw .tooLarge("tensor \(name): a view of shape \(t.shape) needs \(overflow ? "more than \(Int.max)" : "\(byteCount)") bytes from a \(raw.count)-byte storage")
        }
        var out: [UInt8] = []
        if count > 0 {
            // The largest element index the view touches must lie inside the storage.
            var maxIndex = t.offset
            for (d, s) in zip(t.shape, t.strides) {
                guard s >= 0 else { throw .invalidTensor(name: name, reason: "negative stride \(s)") }
                let (m, o1) = (d - 1).multipliedReportingOverflow(by: s)
                let (sum, o2) = maxIndex.addingReportingOverflow(m)
                guard !o1, !o2 else { throw .invalidTensor(name: name, reason: "strides overflow") }
                maxIndex = sum
            }
            guard maxIndex < t.storage.elementCount else {
                throw .invalidTensor(name: name, reason: "view (offset \(t.offset), shape \(t.shape), strides \(t.strides)) reaches element \(maxIndex) of a \(t.storage.elementCount)-element storage")
            }
            // Fast path: a row-major contiguous view is a view of the file (no copy).
            var expected = 1
            var contiguous = true
            for (d, s) in zip(t.shape, t.strides).reversed() where d != 1 {
                if s != expected { contiguous = false; break }
                expected *= d
            }
            if contiguous {
                return try CheckpointTensor(dtype: t.storage.dtype, shape: t.shape,
                                            storage: try raw.slice(t.offset * size, count * size), name: name)
            }
            out = [UInt8](repeating: 0, count: byteCount)
            var idx = [Int](repeating: 0, count: t.shape.count)
            for e in 0..<count {
                var src = t.offset
                for (i, s) in zip(idx, t.strides) { src += i * s }
                for b in 0..<size { out[e * size + b] = raw[src * size + b] }
                var dim = t.shape.count - 1
                while dim >= 0 {
                    idx[dim] += 1
                    if idx[dim] < t.shape[dim] { break }
                    idx[dim] = 0
                    dim -= 1
                }
            }
        }
        return try CheckpointTensor(dtype: t.storage.dtype, shape: t.shape, bytes: out, name: name)
    }
}
