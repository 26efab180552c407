import ArgumentParser
import Foundation
import Repro

/// `repro doctor [--weights FILE]`: what a checkpoint would leave random, or what in this
/// environment could change results.
struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Diagnose a checkpoint (--weights: what would stay random) or, without it, this environment.",
        discussion: """
            With --weights the checkpoint is read (nothing in it is executed, no model is built from it) and matched \
            against the architecture: entries matched, parameters and buffers that would keep their random \
            initialisation (missing or of another shape), unexpected keys, a prefix shared by every key (module. \
            from DataParallel/DDP, model.) and whether stripping it (repro detect --strip-prefix) would complete \
            it, a training checkpoint's wrapper dict, dtypes (float16/bfloat16 load, widened exactly), non-finite \
            values, a classification-only ResNet — and a verdict: `complete` (outputs do not depend on the seed) or \
            `seed-dependent` (N tensors random). Exit status 0 complete, 1 seed-dependent, 2 unreadable checkpoint.

            Without --weights: hashing mode, thread and algorithm settings, the floating-point control state \
            (flush-to-zero, denormals-are-zero, rounding: Repro sets the standard mode for its own work whatever \
            this thread's is), and the CPU's SIMD features against those this build uses. Exit status 0 when \
            nothing fails, 1 otherwise.
            """
    )

    @Option(name: .long, help: "A checkpoint to diagnose (safetensors or a torch.save .pth).")
    var weights: String?

    @Option(name: .long, help: "Architecture: v2 (retinanet_resnet50_fpn_v2) or v1 (retinanet_resnet50_fpn).")
    var arch: String = "v2"

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Classes of the classification head.", valueName: "count"))
    var numClasses: Int = 91

    @OptionGroup var output: OutputOptions

    func validate() throws {
        // "mini" (the small fixture architecture) is undocumented: it keeps the CLI's tests fast.
        guard arch == "v2" || arch == "v1" || arch == "mini" else { throw ValidationError("--arch must be v2 or v1") }
        guard numClasses >= 1 else { throw ValidationError("--num-classes must be at least 1") }
        guard weights != "" else { throw ValidationError("--weights needs a file path") }
    }

    func run() throws {
        var guardian = OutputGuard()
        if let weights { guardian.addInput(weights) }
        if let path = output.output { try guardian.claimFile(path) }
        let sink = try OutputSink.named(output.output)
        let healthy = try weights.map { try diagnose($0, sink: sink) } ?? checkEnvironment(sink: sink)
        try sink.close()
        if !healthy { throw ExitCode(1) }
    }

    // MARK: Checkpoint

    /// The `--json` form of a ``CheckpointDiagnosis``.
    struct Report: Encodable {
        struct Mismatch: Encodable { var name: String, expected: [Int], found: [Int] }
        var file: String, arch: String, numClasses: Int
        var entries: Int, matched: Int, expected: Int
        var missing: [String], unexpected: [String], mismatched: [Mismatch], ignored: [String], random: [String]
        var prefix: String?, verdictAfterStripping: String?, wrapper: String?
        var classificationBackbone: Bool, dtypes: [String: Int], nonfinite: [String], verdict: String
    }

    private func diagnose(_ path: String, sink: OutputSink) throws -> Bool {
        var config: RetinaNetConfiguration = arch == "v2" ? .v2 : arch == "v1" ? .v1 : .mini
        config.numClasses = numClasses
        let dict: StateDict
        do {
            dict = try StateDict(bytes: FileIO.read(path))
        } catch let error as CLIError {
            printError(error.description)
            throw ExitCode(2)
        } catch {
            printError("\(path): error: \(error)")
            throw ExitCode(2)
        }
        let d = try CheckpointDiagnosis(stateDict: dict, configuration: config)
        if output.json {
            try sink.writeLine(JSONOutput.line(Report(
                file: path, arch: arch, numClasses: numClasses, entries: d.entries, matched: d.matched,
                expected: d.expectedCount, missing: d.missing, unexpected: d.unexpected,
                mismatched: d.mismatched.map { .init(name: $0.name, expected: $0.expected, found: $0.found) },
                ignored: d.ignored, random: d.random, prefix: d.prefix, verdictAfterStripping: d.verdictAfterStripping?.rawValue,
                wrapper: d.wrapperKey, classificationBackbone: d.classificationBackbone, dtypes: d.dtypes,
                nonfinite: d.nonfinite, verdict: d.verdict.rawValue)))
        } else {
            try sink.write(Self.text(d, file: path, arch: arch))
        }
        return d.verdict == .complete
    }

    /// The human-readable report.
    static func text(_ d: CheckpointDiagnosis, file: String, arch: String) -> String {
        func list(_ keys: [String]) -> String {
            keys.prefix(6).joined(separator: ", ") + (keys.count > 6 ? ", … (\(keys.count) in all)" : "")
        }
        var lines = ["\(file) against RetinaNet \(arch):"]
        lines.append("  entries:     \(d.entries) (\(d.dtypes.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")))")
        lines.append("  matched:     \(d.matched) of \(d.expectedCount) parameters and buffers")
        if let w = d.wrapperKey { lines.append("  wrapper:     a training checkpoint; its state dict is the \"\(w)\" entry (unwrapped)") }
        if !d.missing.isEmpty { lines.append("  missing:     \(d.missing.count): \(list(d.missing))") }
        if !d.mismatched.isEmpty {
            lines.append("  mismatched:  \(d.mismatched.count): "
                + list(d.mismatched.map { "\($0.name) expected \($0.expected) found \($0.found)" }))
        }
        if !d.unexpected.isEmpty { lines.append("  unexpected:  \(d.unexpected.count): \(list(d.unexpected))") }
        if !d.ignored.isEmpty { lines.append("  ignored:     \(d.ignored.count): \(list(d.ignored))") }
        if let p = d.prefix {
            lines.append("  prefix:      every key starts with \"\(p)\"; without it \(d.matchedAfterStripping ?? 0) match and the "
                + "checkpoint is \(d.verdictAfterStripping?.rawValue ?? "?") (repro detect --strip-prefix \(p))")
        }
        if d.classificationBackbone {
            lines.append("  backbone:    these are a classification ResNet's names (conv1, layer1…, fc): a backbone for "
                + "training, not a detector (RetinaNet keeps them under backbone.body.)")
        }
        let narrow = ["float16", "bfloat16"].filter { d.dtypes[$0] != nil }
        if !narrow.isEmpty { lines.append("  dtypes:      \(narrow.joined(separator: " and ")) tensors load widened exactly to float32") }
        if !d.nonfinite.isEmpty { lines.append("  non-finite:  \(d.nonfinite.count): \(list(d.nonfinite))") }
        switch d.verdict {
        case .complete:
            lines.append("verdict: complete (outputs do not depend on the seed)")
        case .seedDependent:
            lines.append("  random:      \(list(d.random))")
            lines.append("verdict: seed-dependent (\(d.random.count) tensors keep their random initialisation: "
                + "outputs change with the seed)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: Environment

    /// One environment check.
    struct Check: Encodable {
        enum Status: String, Encodable { case ok, warn, fail }
        var name: String, status: Status, detail: String
    }

    private func checkEnvironment(sink: OutputSink) throws -> Bool {
        let env = EnvironmentFingerprint.current()
        let settings = Runtime.settings
        let fp = FloatingPointEnvironment.current
        var checks: [Check] = []
        checks.append(Check(
            name: "hashing", status: env.deterministicHashing ? .ok : .warn,
            detail: env.deterministicHashing
                ? "deterministic (\(env.deterministicHashingOrigin))"
                : "per-process seeds: Set/Dictionary order varies between runs (Repro's results never depend on it; code around them may)"))
        let threadsSource = ProcessInfo.processInfo.environment["REPRO_THREADS"].map { "REPRO_THREADS=\($0)" } ?? "default"
        checks.append(Check(
            name: "threads", status: .ok,
            detail: "\(settings.threads) kernel threads (\(threadsSource)) of \(env.threadCount) processors; results are identical for any count"))
        checks.append(Check(
            name: "deterministic algorithms", status: settings.deterministicAlgorithms ? .ok : .fail,
            detail: settings.deterministicAlgorithms
                ? "on: nondeterministic algorithms are refused"
                : "OFF (REPRO_DETERMINISTIC=0): \(settings.warnOnly ? "nondeterministic algorithms run with a warning" : "nondeterministic algorithms may run")"))
        checks.append(Check(
            name: "benchmark mode", status: settings.benchmark ? .warn : .ok,
            detail: settings.benchmark
                ? "ON (REPRO_BENCHMARK=1): a convolution's algorithm is chosen by timing, so its bits depend on the recorded choice"
                : "off: algorithms are chosen by fixed shape rules"))
        checks.append(Check(
            name: "floating point", status: fp.isStandard ? .ok : .warn,
            detail: fp.isStandard
                ? "\(fp) (IEEE defaults, as Repro's kernels assume)"
                : "this thread: \(fp) — changed by the host; Repro runs its kernels in the standard mode anyway "
                    + "(set on every thread of each parallel job and for RetinaNet.detect), but other code on this thread sees it"))
        checks.append(Check(
            name: "cpu", status: env.cpuSupportsBuild ? .ok : .fail,
            detail: "\(env.cpuModel); features \(env.cpuFeatures.joined(separator: " ")); this build uses "
                + (env.simdBuild.isEmpty ? "no SIMD extension" : env.simdBuild.joined(separator: " "))
                + (env.cpuSupportsBuild ? " (supported)" : " — NOT supported by this CPU")
                + "; kernels run on \(Runtime.kernelISA.rawValue)"
                + (Runtime.requestedKernelISA.map { request in
                    KernelISA(rawValue: request) == nil
                        ? " (REPRO_ISA=\(request) is not one of avx512, avx2, baseline: ignored)"
                        : " (REPRO_ISA=\(request))"
                } ?? (Runtime.cpuSupportsAVX512 ? " (AVX-512F detected)" : ""))
                + "; every path gives the same bits"))
        checks.append(Check(
            name: "build", status: .ok,
            detail: "Repro \(env.reproVersion) (\(env.gitCommit)), \(env.buildConfiguration), Swift \(env.swiftCompiler); "
                + "debug and release give identical bits"))
        let healthy = !checks.contains { $0.status == .fail }
        if output.json {
            struct Report: Encodable { var checks: [Check], ok: Bool }
            try sink.writeLine(JSONOutput.line(Report(checks: checks, ok: healthy)))
        } else {
            let width = checks.map(\.name.count).max() ?? 0
            let text = checks.map {
                "\($0.status.rawValue.uppercased().padding(toLength: 4, withPad: " ", startingAt: 0)) "
                    + $0.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.detail
            }
            try sink.write(text.joined(separator: "\n") + "\n")
        }
        return healthy
    }
}
