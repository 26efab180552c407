// libFuzzer entry point for ReproNN's checkpoint reader (built by
// scripts/fuzz_checkpoint.sh together with Sources/ReproNN/Checkpoint, so it
// may call internal API). FUZZ_FORMAT selects what the input is:
//
// - "pickle": a `data.pkl` stream. It runs through the restricted unpickler
//   and the state-dict builder; every storage the pickle names is supplied
//   with exactly the byte count it declares (up to a cap), so mutations reach
//   the view/stride checks instead of stopping at a size mismatch.
// - "zip": a PyTorch zip archive (the input is prefixed with "PK\x03\x04").
// - "legacy": a legacy `.pth` (prefixed with the pickle of its magic number's
//   first four bytes, 0x80 0x02 0x8a 0x0a).
// - "safetensors": a safetensors file without its 8-byte header length, which
//   the harness computes from the end of the top-level JSON object, so
//   mutations of the JSON reach the header checks instead of the length check.
// - "any": the bytes unchanged, format detected by `StateDict(bytes:)`.
//
// Every input must end in a state dict or a `CheckpointError`; a trap,
// sanitizer report, timeout or out-of-memory is a finding.

import Foundation

enum FuzzMode { case pickle, zip, legacy, safetensors, any }

let fuzzMode: FuzzMode = {
    switch ProcessInfo.processInfo.environment["FUZZ_FORMAT"] ?? "any" {
    case "pickle": return .pickle
    case "zip": return .zip
    case "legacy": return .legacy
    case "safetensors": return .safetensors
    default: return .any
    }
}()

/// Storages larger than this are refused by the harness (not by the reader,
/// whose limit is the file size), to keep each run's memory small.
let maxFuzzStorageBytes = 1 << 20

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCheckpoint(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    do throws(CheckpointError) {
        let dict: StateDict
        switch fuzzMode {
        case .pickle:
            var u = Unpickler(input[...])
            let root = try u.load()
            dict = try StateDict.build(root, format: .pytorchZip) { (s) throws(CheckpointError) -> ArraySlice<UInt8> in
                let (n, o) = s.elementCount.multipliedReportingOverflow(by: s.dtype.byteCount)
                guard !o, n <= maxFuzzStorageBytes else { throw .tooLarge("fuzz harness storage cap") }
                return [UInt8](repeating: 0x3c, count: n)[...]
            }
        case .zip: dict = try StateDict(bytes: [0x50, 0x4b, 0x03, 0x04] + input)
        case .legacy: dict = try StateDict(bytes: [0x80, 0x02, 0x8a, 0x0a] + input)
        case .safetensors: dict = try StateDict(bytes: safetensorsFile(input))
        case .any: dict = try StateDict(bytes: input)
        }
        // Touch every tensor so the typed accessors run too.
        for key in dict.keys {
            guard let t = dict[key] else { fatalError("key \(key) listed but missing") }
            _ = try? t.floats()
            _ = try? t.integers()
        }
    } catch {
        _ = error.description
    }
    return 0
}

/// Prepends the 8-byte little-endian header length: the bytes up to the end
/// of the top-level JSON object (found with a string-aware brace counter) and
/// the spaces that pad it, or the whole input when the object never closes.
func safetensorsFile(_ b: [UInt8]) -> [UInt8] {
    var depth = 0, inString = false, escaped = false
    var end = b.count
    scan: for (i, c) in b.enumerated() {
        if inString {
            if escaped { escaped = false } else if c == UInt8(ascii: "\\") { escaped = true } else if c == UInt8(ascii: "\"") { inString = false }
            continue
        }
        switch c {
        case UInt8(ascii: "\""): inString = true
        case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
        case UInt8(ascii: "}"), UInt8(ascii: "]"):
            depth -= 1
            if depth <= 0 { end = i + 1; break scan }
        default: break
        }
    }
    while end < b.count, b[end] == UInt8(ascii: " ") { end += 1 }
    let n = UInt64(end)
    return (0..<8).map { UInt8(truncatingIfNeeded: n >> (8 * $0)) } + b
}
