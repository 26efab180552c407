// Writing a state dict in the format `torch.save` writes (PyTorch ≥ 1.6 zip
// container), so that `torch.load(path, weights_only=True)` and
// `model.load_state_dict(...)` accept it.
//
// The layout follows PyTorch 2.x byte for byte except where PyTorch is not
// deterministic:
// - a zip archive of STORED entries under the folder `archive/` (what
//   `torch.save` uses for an in-memory buffer; for a path it uses the file's
//   stem, which would make the bytes depend on the file name), in the order
//   `data.pkl`, `.format_version` ("1"), `.storage_alignment` ("64"),
//   `byteorder` ("little"), `data/0`, `data/1`, …, `version` ("3\n") and
//   `.data/serialization_id`;
// - every entry's data starts at a multiple of 64 bytes: the local header
//   carries an extra field "FB" padded with 'Z' bytes, as PyTorch's writer
//   does; local headers of non-empty entries have bit 3 set and are followed
//   by a data descriptor;
//   all dates are zero; the archive ends with ZIP64 end records and the
//   classic end record;
// - `data.pkl` is a protocol-2 pickle of `collections.OrderedDict` whose values
//   are `torch._utils._rebuild_tensor_v2(storage, 0, size, stride, False,
//   OrderedDict())` over persistent ids
//   `("storage", torch.<Type>Storage, "<n>", "cpu", numel)`, with the memo
//   (BINPUT/BINGET) numbered as Python's pickler numbers it;
// - PyTorch's `serialization_id` is 40 digits: 20 random ones, then a
//   combination of the records' CRC-32s; ours replaces the random half by
//   digits of the SHA-256 of every record before it (the CRC half is
//   PyTorch's), so the same tensors always give the same file.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import _ReproDigest

extension StateDict {
    /// The tensors as a PyTorch checkpoint, byte for byte what ``writeTorchSave(to:)`` writes:
    /// the zip container `torch.save` writes (stored entries aligned to 64 bytes, a protocol-2
    /// pickle of an `OrderedDict` of tensors, one storage file per tensor), with the keys in
    /// ``keys`` order and each tensor's dtype as it is. The same state dict always gives the
    /// same bytes, and ``init(bytes:)`` reads them back bit for bit.
    ///
    /// ```swift
    /// let dict = StateDict([("w", try CheckpointTensor(dtype: .float32, shape: [1], bytes: [0, 0, 128, 63]))])
    /// let bytes = try dict.torchSaveBytes()
    /// try StateDict(bytes: bytes)["w"]?.floats()   // [1.0]
    /// ```
    ///
    /// - Throws: ``CheckpointError/tooLarge(_:)`` when an entry or the archive would need ZIP64
    ///   entry records (4 GiB or more), which this writer does not produce.
    public func torchSaveBytes() throws(CheckpointError) -> [UInt8] {
        let tensors = keys.compactMap { key in self[key].map { (key, $0) } }
        var zip = TorchZipWriter()
        try zip.append("data.pkl", TorchPickle.stateDict(tensors))
        try zip.append(".format_version", Array("1".utf8))
        try zip.append(".storage_alignment", Array("64".utf8))
        try zip.append("byteorder", Array("little".utf8))
        for (n, entry) in tensors.enumerated() { try zip.append("data/\(n)", entry.1.bytes) }
        try zip.append("version", Array("3\n".utf8))
        try zip.append(".data/serialization_id", Array(zip.serializationID.utf8))
        return try zip.finish()
    }

    /// Writes the tensors as a PyTorch checkpoint (``torchSaveBytes()``) that
    /// `torch.load(path, weights_only=True)` reads, atomically: the bytes go to a temporary
    /// file in the same folder, which is flushed to disk and then renamed over `path`; if
    /// anything fails, the temporary file is removed and `path` is left as it was.
    ///
    /// ```swift
    /// let dict = StateDict([("fc.bias", try CheckpointTensor(dtype: .float32, shape: [1], bytes: [0, 0, 128, 63]))])
    /// try dict.writeTorchSave(to: "weights.pth")
    /// ```
    ///
    /// - Throws: ``CheckpointError/unwritable(path:reason:)`` naming the path and the system's
    ///   reason when the file cannot be written; ``CheckpointError/tooLarge(_:)`` as
    ///   ``torchSaveBytes()``.
    public func writeTorchSave(to path: String) throws(CheckpointError) {
        try CheckpointFile.writeAtomically(try torchSaveBytes(), to: path)
    }
}

extension CheckpointDType {
    /// The name of PyTorch's storage class for the dtype (`FloatStorage`, `LongStorage`, …).
    var torchStorageName: String {
        switch self {
        case .float32: return "FloatStorage"
        case .float64: return "DoubleStorage"
        case .float16: return "HalfStorage"
        case .bfloat16: return "BFloat16Storage"
        case .int64: return "LongStorage"
        case .int32: return "IntStorage"
        case .int16: return "ShortStorage"
        case .int8: return "CharStorage"
        case .uint8: return "ByteStorage"
        case .bool: return "BoolStorage"
        }
    }
}

/// Atomic file replacement for checkpoint writers.
enum CheckpointFile {
    /// Writes `bytes` to a temporary file beside `path`, flushes it, and renames it over `path`.
    /// On failure the temporary file is removed and `path` is untouched.
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws(CheckpointError) {
        let slash = path.lastIndex(of: "/")
        let folder = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard !name.isEmpty else { throw .unwritable(path: path, reason: "the path names a folder, not a file") }
        // repro-lint: allow run-varying-value — names the temporary file only; it is renamed over `path`
        let temporary = folder + ".\(name).\(getpid()).tmp"
        func failure(_ what: String) -> CheckpointError {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            return .unwritable(path: path, reason: "\(what): \(reason)")
        }
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .unwritable(path: path, reason: "cannot create \(temporary): \(String(cString: strerror(errno)))") }
        var written = 0
        let ok = bytes.withUnsafeBytes { raw -> Bool in
            while written < raw.count {
                let n = write(fd, raw.baseAddress! + written, raw.count - written)
                if n < 0 { if errno == EINTR { continue }; return false }
                written += n
            }
            return true
        }
        guard ok else { let e = failure("write failed after \(written) bytes"); close(fd); throw e }
        guard fsync(fd) == 0 else { let e = failure("fsync failed"); close(fd); throw e }
        guard close(fd) == 0 else { throw failure("close failed") }
        guard rename(temporary, path) == 0 else { throw failure("cannot rename \(temporary) to \(path)") }
    }
}

/// The pickle of a state dict as `torch.save` writes it (protocol 2, Python's memo numbering).
enum TorchPickle {
    static func stateDict(_ tensors: [(String, CheckpointTensor)]) -> [UInt8] {
        var p = TorchPickle.Writer()
        p.out += [0x80, 2]                                    // PROTO 2
        p.global("collections", "OrderedDict")                // memo 0
        p.out.append(0x29); p.out.append(0x52); p.put()      // EMPTY_TUPLE REDUCE → the dict, memo 1
        // Python writes items in batches of 1000: MARK … SETITEMS, or a lone SETITEM.
        var start = 0
        while start < tensors.count {
            let end = min(start + 1000, tensors.count)
            if end - start > 1 { p.out.append(0x28) }        // MARK
            for n in start..<end {
                p.string(tensors[n].0)
                p.tensor(tensors[n].1, storageKey: String(n))
            }
            p.out.append(end - start > 1 ? 0x75 : 0x73)     // SETITEMS / SETITEM
            start = end
        }
        p.out.append(0x2e)                                    // STOP
        return p.out
    }

    struct Writer {
        var out: [UInt8] = []
        private var memoCount = 0
        /// Memo slots of the objects Python's pickler meets more than once (by identity).
        private var memo: [String: Int] = [:]

        /// BINPUT / LONG_BINPUT of the next memo slot.
        mutating func put() {
            if memoCount < 256 { out += [0x71, UInt8(memoCount)] } else { out.append(0x72); le32(UInt32(memoCount)) }
            memoCount += 1
        }

        /// Writes a shared object once and refers to it (BINGET / LONG_BINGET) afterwards.
        mutating func shared(_ id: String, _ write: (inout Writer) -> Void) {
            if let slot = memo[id] {
                if slot < 256 { out += [0x68, UInt8(slot)] } else { out.append(0x6a); le32(UInt32(slot)) }
                return
            }
            write(&self)
            memo[id] = memoCount
            put()
        }

        mutating func global(_ module: String, _ name: String) {
            shared("global \(module).\(name)") { w in
                w.out.append(0x63)                                   // GLOBAL
                w.out += Array("\(module)\n\(name)\n".utf8)
            }
        }

        /// A fresh string object (memoised, never shared).
        mutating func string(_ s: String) {
            let utf8 = Array(s.utf8)
            out.append(0x58); le32(UInt32(utf8.count)); out += utf8  // BINUNICODE
            put()
        }

        /// A string constant that is one object in PyTorch's code ('storage', 'cpu').
        mutating func constant(_ s: String) {
            shared("constant \(s)") { w in
                let utf8 = Array(s.utf8)
                w.out.append(0x58); w.le32(UInt32(utf8.count)); w.out += utf8
            }
        }

        mutating func int(_ v: Int) {
            if v >= 0 && v <= 0xff { out += [0x4b, UInt8(v)] }                          // BININT1
            else if v >= 0 && v <= 0xffff { out += [0x4d, UInt8(v & 0xff), UInt8(v >> 8)] }  // BININT2
            else if v >= -0x8000_0000 && v <= 0x7fff_ffff { out.append(0x4a); le32(UInt32(bitPattern: Int32(v))) }  // BININT
            else {                                                                        // LONG1, two's complement
                var bytes = withUnsafeBytes(of: Int64(v).littleEndian, Array.init)
                while bytes.count > 1, (bytes[bytes.count - 1] == 0 && bytes[bytes.count - 2] & 0x80 == 0)
                    || (bytes[bytes.count - 1] == 0xff && bytes[bytes.count - 2] & 0x80 != 0) { bytes.removeLast() }
                out += [0x8a, UInt8(bytes.count)] + bytes
            }
        }

        /// A tuple of ints, as Python pickles it (EMPTY_TUPLE unmemoised; TUPLE1-3; MARK … TUPLE).
        mutating func intTuple(_ values: [Int]) {
            if values.isEmpty { out.append(0x29); return }
            if values.count > 3 { out.append(0x28) }
            for v in values { int(v) }
            out.append(values.count > 3 ? 0x74 : [0x85, 0x86, 0x87][values.count - 1])
            put()
        }

        mutating func tensor(_ t: CheckpointTensor, storageKey: String) {
            global("torch._utils", "_rebuild_tensor_v2")
            out.append(0x28)                                          // MARK: the arguments
            out.append(0x28)                                          // MARK: the persistent id
            constant("storage")
            global("torch", t.dtype.torchStorageName)
            string(storageKey)
            constant("cpu")
            int(t.elementCount)
            out.append(0x74); put()                                   // TUPLE
            out.append(0x51)                                          // BINPERSID
            int(0)                                                    // storage offset
            intTuple(t.shape)
            var strides = [Int](repeating: 1, count: t.shape.count)
            for d in stride(from: t.shape.count - 2, through: 0, by: -1) { strides[d] = strides[d + 1] * t.shape[d + 1] }
            intTuple(strides)
            out.append(0x89)                                          // NEWFALSE: requires_grad
            global("collections", "OrderedDict")                      // backward hooks: OrderedDict()
            out.append(0x29); out.append(0x52); put()
            out.append(0x74); put()                                   // TUPLE
            out.append(0x52); put()                                   // REDUCE
        }

        mutating func le32(_ v: UInt32) { out += withUnsafeBytes(of: v.littleEndian, Array.init) }
    }
}

/// The zip container of PyTorch's `PyTorchStreamWriter`: stored entries whose data start at
/// multiples of 64 bytes, data descriptors, ZIP64 end records.
struct TorchZipWriter {
    static let alignment = 64
    static let folder = "archive/"

    private(set) var out: [UInt8] = []
    private var directory: [UInt8] = []
    private var count = 0
    private var combinedCRC: UInt64 = 0
    private var digest = SHA256()

    /// Appends one stored entry `archive/<name>`.
    mutating func append(_ name: String, _ data: [UInt8]) throws(CheckpointError) {
        let fullName = Array((Self.folder + name).utf8)
        let offset = out.count
        guard data.count < 0xffff_ffff, offset < 0xffff_ffff else {
            throw .tooLarge("entry \(name) at offset \(offset) with \(data.count) bytes needs ZIP64 entries, which the .pth writer does not write (4 GiB limit)")
        }
        let start = offset + 30 + fullName.count + 4
        let padding = (Self.alignment - start % Self.alignment) % Self.alignment
        let crc = data.withUnsafeBufferPointer { CRC32.checksum($0) }
        if name != ".data/serialization_id" {
            // c10::hash_combine over the non-empty entries' CRCs, as PyTorch's writer keeps it.
            if !data.isEmpty { combinedCRC ^= UInt64(crc) &+ 0x9e37_79b9 &+ (combinedCRC << 6) &+ (combinedCRC >> 2) }
            digest.update(fullName)
            data.withUnsafeBytes { digest.update($0) }
        }
        // Local header: version 0, flags 0x0808 (data descriptor, UTF-8), stored, no date, sizes later.
        // An empty entry has no data descriptor (flags 0x0800), as PyTorch's miniz writes it.
        let flags = data.isEmpty ? 0x0800 : 0x0808
        le32(0x0403_4b50, into: &out); le16(0, into: &out); le16(flags, into: &out); le16(0, into: &out)
        le32(0, into: &out); le32(0, into: &out); le32(0, into: &out); le32(0, into: &out)
        le16(fullName.count, into: &out); le16(4 + padding, into: &out)
        out += fullName
        out += [UInt8(ascii: "F"), UInt8(ascii: "B")]; le16(padding, into: &out)
        out += [UInt8](repeating: UInt8(ascii: "Z"), count: padding)
        out += data
        if !data.isEmpty {
            le32(0x0807_4b50, into: &out); le32(crc, into: &out); le32(UInt32(data.count), into: &out); le32(UInt32(data.count), into: &out)
        }
        // Central directory entry.
        le32(0x0201_4b50, into: &directory); le16(0, into: &directory); le16(0, into: &directory)
        le16(flags, into: &directory); le16(0, into: &directory); le32(0, into: &directory)
        le32(crc, into: &directory); le32(UInt32(data.count), into: &directory); le32(UInt32(data.count), into: &directory)
        le16(fullName.count, into: &directory); le16(0, into: &directory); le16(0, into: &directory)
        le16(0, into: &directory); le16(0, into: &directory); le32(0, into: &directory)
        le32(UInt32(offset), into: &directory)
        directory += fullName
        count += 1
    }

    /// 20 digits of the SHA-256 of all entries so far (where PyTorch writes 20 random digits)
    /// followed by PyTorch's 20-digit combined CRC of the entries.
    var serializationID: String {
        let sha = digest.finalize().bytes
        let high = sha.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return Self.digits(high) + Self.digits(combinedCRC)
    }

    private static func digits(_ v: UInt64) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, 20 - s.count)) + s
    }

    /// Appends the central directory and the end records; returns the archive.
    mutating func finish() throws(CheckpointError) -> [UInt8] {
        let cdOffset = out.count
        out += directory
        let zip64Offset = out.count
        guard zip64Offset < 0xffff_ffff else { throw .tooLarge("a .pth archive of \(zip64Offset) bytes needs ZIP64 entries (4 GiB limit)") }
        // ZIP64 end of central directory record and locator, then the classic end record.
        le32(0x0606_4b50, into: &out); le64(44, into: &out); le16(0x031e, into: &out); le16(0x002d, into: &out)
        le32(0, into: &out); le32(0, into: &out); le64(count, into: &out); le64(count, into: &out)
        le64(directory.count, into: &out); le64(cdOffset, into: &out)
        le32(0x0706_4b50, into: &out); le32(0, into: &out); le64(zip64Offset, into: &out); le32(1, into: &out)
        le32(0x0605_4b50, into: &out); le16(0, into: &out); le16(0, into: &out)
        le16(count, into: &out); le16(count, into: &out)
        le32(UInt32(directory.count), into: &out); le32(UInt32(cdOffset), into: &out); le16(0, into: &out)
        return out
    }

    private func le16(_ v: Int, into b: inout [UInt8]) { b += [UInt8(v & 0xff), UInt8((v >> 8) & 0xff)] }
    private func le32(_ v: UInt32, into b: inout [UInt8]) { b += withUnsafeBytes(of: v.littleEndian, Array.init) }
    private func le64(_ v: Int, into b: inout [UInt8]) { b += withUnsafeBytes(of: UInt64(v).littleEndian, Array.init) }
}
