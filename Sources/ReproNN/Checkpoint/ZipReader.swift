/// A minimal, bounds-checked reader of the zip container PyTorch's
/// `torch.save` writes (stored entries, optional ZIP64 records).
struct ZipReader {
    /// One entry of the central directory.
    struct Entry {
        var name: String
        var method: Int
        var compressedSize: Int
        var size: Int
        var localHeaderOffset: Int
    }

    /// The whole archive (entries are returned as views into it, never copied).
    let bytes: CheckpointBytes
    private(set) var entries: [Entry] = []
    private var index: [String: Int] = [:]

    /// Parses the central directory of an archive held in an array (a copy is made).
    init(_ bytes: [UInt8]) throws(CheckpointError) {
        try self.init(CheckpointBytes(copying: bytes))
    }

    /// Parses the central directory.
    init(_ bytes: CheckpointBytes) throws(CheckpointError) {
        self.bytes = bytes
        let eocd = try Self.findEndOfCentralDirectory(bytes)
        var count = Int(try u16(eocd + 10))
        var cdSize = Int(try u32(eocd + 12))
        var cdOffset = Int(try u32(eocd + 16))
        // ZIP64: an end-of-central-directory locator sits 20 bytes before the EOCD.
        if eocd >= 20, try u32(eocd - 20) == 0x0706_4b50 {
            let z64 = try checkedInt(try u64(eocd - 20 + 8), "ZIP64 record offset")
            guard try u32(z64) == 0x0606_4b50 else { throw .corruptArchive("bad ZIP64 end record signature") }
            count = try checkedInt(try u64(z64 + 32), "ZIP64 entry count")
            cdSize = try checkedInt(try u64(z64 + 40), "ZIP64 directory size")
            cdOffset = try checkedInt(try u64(z64 + 48), "ZIP64 directory offset")
        }
        guard cdOffset >= 0, cdSize >= 0, cdOffset <= bytes.count, cdSize <= bytes.count - cdOffset else {
            throw .truncated("central directory (offset \(cdOffset), size \(cdSize)) beyond end of file (\(bytes.count) bytes)")
        }
        guard count <= cdSize / 46 else { throw .corruptArchive("\(count) entries cannot fit in a \(cdSize)-byte directory") }
        var p = cdOffset
        for _ in 0..<count {
            guard try u32(p) == 0x0201_4b50 else { throw .corruptArchive("bad central directory signature at \(p)") }
            let method = Int(try u16(p + 10))
            var csize = Int(try u32(p + 20))
            var usize = Int(try u32(p + 24))
            let nameLen = Int(try u16(p + 28))
            let extraLen = Int(try u16(p + 30))
            let commentLen = Int(try u16(p + 32))
            var local = Int(try u32(p + 42))
            let name = try slice(p + 46, nameLen).withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
            // ZIP64 extended information (header id 1) replaces 0xFFFFFFFF fields, in order.
            var e = p + 46 + nameLen
            let extraEnd = e + extraLen
            while e + 4 <= extraEnd {
                let id = try u16(e), len = Int(try u16(e + 2))
                if id == 1 {
                    var q = e + 4
                    if usize == 0xffff_ffff { usize = try checkedInt(try u64(q), "entry size"); q += 8 }
                    if csize == 0xffff_ffff { csize = try checkedInt(try u64(q), "entry size"); q += 8 }
                    if local == 0xffff_ffff { local = try checkedInt(try u64(q), "entry offset"); q += 8 }
                }
                e += 4 + len
            }
            index[name] = entries.count
            entries.append(Entry(name: name, method: method, compressedSize: csize, size: usize, localHeaderOffset: local))
            p = extraEnd + commentLen
        }
    }

    /// The bytes of the entry called `name` (a view: stored entries are the file's own bytes).
    func data(_ name: String) throws(CheckpointError) -> CheckpointBytes {
        guard let i = index[name] else { throw .missingEntry(name) }
        let e = entries[i]
        guard e.method == 0 else { throw .unsupportedCompression(entry: name, method: e.method) }
        guard e.compressedSize == e.size else { throw .corruptArchive("stored entry \(name) has different sizes") }
        let h = e.localHeaderOffset
        guard try u32(h) == 0x0403_4b50 else { throw .corruptArchive("bad local header signature for \(name)") }
        let start = h + 30 + Int(try u16(h + 26)) + Int(try u16(h + 28))
        return try slice(start, e.size)
    }

    /// Whether an entry exists.
    func contains(_ name: String) -> Bool { index[name] != nil }

    // MARK: Bounds-checked little-endian reads

    private static func findEndOfCentralDirectory(_ b: CheckpointBytes) throws(CheckpointError) -> Int {
        guard b.count >= 22 else { throw .truncated("\(b.count) bytes is too short for a zip archive") }
        let lowest = max(0, b.count - 22 - 65_535)
        var p = b.count - 22
        while p >= lowest {
            if b[p] == 0x50, b[p + 1] == 0x4b, b[p + 2] == 0x05, b[p + 3] == 0x06 { return p }
            p -= 1
        }
        throw .truncated("no end-of-central-directory record (the archive is cut short or not a zip)")
    }

    private func slice(_ offset: Int, _ count: Int) throws(CheckpointError) -> CheckpointBytes {
        guard offset >= 0, count >= 0, offset <= bytes.count, count <= bytes.count - offset else {
            throw .truncated("needs bytes \(offset)..<\(offset &+ count), file has \(bytes.count)")
        }
        return try bytes.slice(offset, count)
    }

    private func u16(_ o: Int) throws(CheckpointError) -> UInt16 {
        let s = try slice(o, 2)
        return UInt16(s[0]) | UInt16(s[1]) << 8
    }

    private func u32(_ o: Int) throws(CheckpointError) -> UInt32 {
        let s = try slice(o, 4)
        return (0..<4).reduce(0) { $0 | UInt32(s[$1]) << (8 * $1) }
    }

    private func u64(_ o: Int) throws(CheckpointError) -> UInt64 {
        let s = try slice(o, 8)
        return (0..<8).reduce(0) { $0 | UInt64(s[$1]) << (8 * UInt64($1)) }
    }

    private func checkedInt(_ v: UInt64, _ what: String) throws(CheckpointError) -> Int {
        guard v <= UInt64(Int.max) else { throw .corruptArchive("\(what) \(v) is out of range") }
        return Int(v)
    }
}
