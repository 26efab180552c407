import Foundation
import Repro
import _ReproDigest

/// Collects what a `repro detect` or `repro batches` run read and wrote, for its run manifest
/// (`--manifest PATH`) or for `repro verify`'s re-run of a recorded job.
final class ManifestRecorder {
    let subcommand: String
    let arguments: [String]
    var seeds: [String: String] = [:]
    var weights: RunManifest.Weights?
    var inputs: [RunManifest.Input] = []
    var outputs: [RunManifest.Output] = []

    /// A recorder of the subcommand run with `arguments` (after the subcommand's name).
    init(subcommand: String, arguments: [String]) {
        self.subcommand = subcommand
        self.arguments = arguments
    }

    /// A recorder for this process's own command line (`repro SUBCOMMAND ARGS…`).
    static func forCommandLine(_ subcommand: String) -> ManifestRecorder {
        let args = Array(CommandLine.arguments.dropFirst())
        let rest = args.first == subcommand ? Array(args.dropFirst()) : args
        return ManifestRecorder(subcommand: subcommand, arguments: rest)
    }

    /// Records a checkpoint: its file bytes' SHA-256 and its tensors' canonical SHA-256
    /// (``StateDict/canonicalSHA256``).
    func recordWeights(path: String, fileSHA256: String, tensorsSHA256: String) {
        weights = RunManifest.Weights(path: path, sha256: fileSHA256, tensorsSHA256: tensorsSHA256)
    }

    /// Records an input file (its bytes are hashed here) and, when decoded, its pixels' SHA-256.
    func recordInput(path: String, pixelSHA256: String?) {
        inputs.append(RunManifest.Input(path: path, sha256: RunManifest.fileSHA256(path), pixelSHA256: pixelSHA256))
    }

    /// Records a built-in input (no file).
    func recordBuiltInInput(name: String, pixelSHA256: String) {
        inputs.append(RunManifest.Input(path: name, sha256: nil, pixelSHA256: pixelSHA256))
    }

    /// Records one output: `text` is hashed (SHA-256 of its UTF-8 bytes).
    func recordOutput(name: String, text: String) {
        outputs.append(RunManifest.Output(name: name, sha256: SHA256.hash(Array(text.utf8)).hex))
    }

    /// Records one output by its digest.
    func recordOutput(name: String, sha256: String) {
        outputs.append(RunManifest.Output(name: name, sha256: sha256))
    }

    /// The manifest of the run, with `wholeOutput` the SHA-256 of everything written.
    func manifest(wholeOutput: String) -> RunManifest {
        RunManifest(
            command: .init(subcommand: subcommand, arguments: arguments,
                           workingDirectory: FileManager.default.currentDirectoryPath),
            seeds: seeds, weights: weights, inputs: inputs, outputs: outputs, outputSHA256: wholeOutput)
    }

    /// Writes the manifest to `path` (atomically).
    func write(to path: String, wholeOutput: String) throws(CLIError) {
        do { try manifest(wholeOutput: wholeOutput).write(to: path) } catch { throw CLIError(error.description) }
    }
}

extension ManifestRecorder {
    /// Records one input of `repro detect`.
    func record(_ input: DetectCommand.DetectionInput, pixelSHA256: String?) {
        switch input {
        case .file(let path): recordInput(path: path, pixelSHA256: pixelSHA256)
        case .sample: recordBuiltInInput(name: input.name, pixelSHA256: pixelSHA256 ?? "-")
        case .standardInput: inputs.append(RunManifest.Input(path: "-", sha256: nil, pixelSHA256: pixelSHA256))
        }
    }
}
