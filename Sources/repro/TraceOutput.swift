import Foundation
import Repro

/// `repro detect --trace PATH [--trace-tensors]`: collects each image's module trace and writes
/// the trace JSON when the run ends; with `--trace-tensors` every module output is streamed into
/// the safetensors file beside it as the pass produces it (`TraceTensorWriter`), committed at the end.
struct TraceOutput {
    /// The trace JSON's path.
    let path: String
    /// The safetensors path for `--trace-tensors` (`nil` without it).
    let tensorsPath: String?
    let model: TraceDocument.Model
    let digest: TraceDigest
    private var images: [TraceDocument.Image] = []
    /// The tensors file being written (`nil` without `--trace-tensors`).
    let tensorWriter: TraceTensorWriter?

    /// The tensors file of a trace: `a.trace.json` → `a.trace.safetensors`, other names get `.safetensors` appended.
    static func tensorsPath(for path: String) -> String {
        (path.hasSuffix(".json") ? String(path.dropLast(5)) : path) + ".safetensors"
    }

    /// Plans the outputs (claimed in `guardian`, so they never overwrite an input or another output).
    /// With `keepingTensors`, the tensors file's temporary file is created now, its header region
    /// sized for `images` images (the destination stays untouched until ``write()``).
    init(path: String, keepingTensors: Bool, digest: TraceDigest = .sha256, model: TraceDocument.Model, images: Int) throws(CLIError) {
        self.digest = digest
        self.path = path
        tensorsPath = keepingTensors ? Self.tensorsPath(for: path) : nil
        self.model = model
        guard let tensorsPath else {
            tensorWriter = nil
            return
        }
        do {
            // About 240 entries of under 100 header bytes per RetinaNet image; a larger header still fits (copied).
            tensorWriter = try TraceTensorWriter(path: tensorsPath, reservedHeaderBytes: 4096 + (32 << 10) * max(images, 1))
        } catch { throw CLIError(error.description) }
    }

    /// Adds one image's trace.
    mutating func add(file: String, image: Image, trace: ModuleTrace) {
        images.append(TraceDocument.Image(file: file, inputSHA256: image.rgbDigest, modules: trace.entries))
    }

    /// Writes the tensors (if kept), then the trace JSON, each atomically.
    func write() throws(CLIError) {
        do {
            try tensorWriter?.commit()
        } catch { throw CLIError(error.description) }
        let doc = TraceDocument(producer: "repro \(ReproBuild.version)", digest: digest, model: model,
                                tensors: tensorsPath.map { ($0 as NSString).lastPathComponent }, images: images)
        do { try doc.write(to: path) } catch { throw CLIError(error.description) }
    }
}
