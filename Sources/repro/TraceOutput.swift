import Foundation
import Repro

/// `repro detect --trace PATH [--trace-tensors]`: collects each image's module trace and writes
/// the trace JSON (and the tensors as safetensors beside it) when the run ends.
struct TraceOutput {
    /// The trace JSON's path.
    let path: String
    /// The safetensors path for `--trace-tensors` (`nil` without it).
    let tensorsPath: String?
    let model: TraceDocument.Model
    let digest: TraceDigest
    private var images: [TraceDocument.Image] = []
    private var traces: [ModuleTrace] = []

    /// The tensors file of a trace: `a.trace.json` → `a.trace.safetensors`, other names get `.safetensors` appended.
    static func tensorsPath(for path: String) -> String {
        (path.hasSuffix(".json") ? String(path.dropLast(5)) : path) + ".safetensors"
    }

    /// Plans the outputs (claimed in `guardian`, so they never overwrite an input or another output).
    init(path: String, keepingTensors: Bool, digest: TraceDigest = .sha256, model: TraceDocument.Model) {
        self.digest = digest
        self.path = path
        tensorsPath = keepingTensors ? Self.tensorsPath(for: path) : nil
        self.model = model
    }

    /// Adds one image's trace.
    mutating func add(file: String, image: Image, trace: ModuleTrace) {
        images.append(TraceDocument.Image(file: file, inputSHA256: image.rgbDigest, modules: trace.entries))
        if tensorsPath != nil { traces.append(trace) }
    }

    /// Writes the tensors (if kept), then the trace JSON, each atomically.
    func write() throws(CLIError) {
        do {
            if let tensorsPath { try TraceDocument.writeTensors(traces, to: tensorsPath) }
        } catch { throw CLIError(error.description) }
        let doc = TraceDocument(producer: "repro \(ReproBuild.version)", digest: digest, model: model,
                                tensors: tensorsPath.map { ($0 as NSString).lastPathComponent }, images: images)
        do { try doc.write(to: path) } catch { throw CLIError(error.description) }
    }
}
