import Foundation
import ReproData
import ReproNN
import ReproTensor
import _ReproDigest

/// The JSON sidecar of a training checkpoint: everything but the tensors, which live in the
/// safetensors file it names (`model.<key>` for the model's parameters and buffers,
/// `optimizer.<key>` for the optimizer's state as ``ReproNN/Optimizer/savedState()`` names it).
///
/// A run has no other random state to save: initialisation, shuffling, augmentation and dropout
/// are functions of the seed and the (epoch, index, step) counters recorded here.
public struct TrainingCheckpoint: Codable, Sendable, Equatable {
    /// The format version this build writes (and the newest it reads).
    public static let currentFormatVersion = 1

    /// The format version.
    public var formatVersion: Int
    /// The run's configuration.
    public var configuration: TrainingConfiguration
    /// ``TrainingData/identity`` of the training data.
    public var dataIdentity: String
    /// Steps completed.
    public var completedSteps: Int
    /// Samples trained on.
    public var samplesSeen: Int
    /// Where the data loader continues.
    public var loader: LoaderState
    /// The learning-rate schedule's state.
    public var schedule: LearningRateSchedule
    /// ``TrainingRun/weightsSHA256()`` of the saved model.
    public var weightsSHA256: String
    /// The safetensors file's name, in the sidecar's folder.
    public var tensorsFile: String
    /// SHA-256 of the safetensors file's bytes (a sidecar never pairs with another file).
    public var tensorsSHA256: String

    /// Reads a checkpoint: its JSON sidecar (`step-….json` or `latest.json`), a checkpoint folder
    /// (its `latest.json`) or the safetensors file (its sibling `.json`).
    ///
    /// - Returns: the sidecar and the path of the safetensors file.
    /// - Throws: ``TrainingError/checkpointIO(path:reason:)`` when a file is missing, unreadable,
    ///   of a newer format, or its tensors file does not match the recorded SHA-256.
    public static func read(_ path: String) throws(TrainingError) -> (checkpoint: TrainingCheckpoint, tensorsPath: String) {
        var jsonPath = path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .checkpointIO(path: path, reason: "no such checkpoint")
        }
        if isDirectory.boolValue {
            jsonPath = (path as NSString).appendingPathComponent("latest.json")
        } else if path.hasSuffix(".safetensors") {
            jsonPath = String(path.dropLast(".safetensors".count)) + ".json"
        }
        let checkpoint: TrainingCheckpoint
        do {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: jsonPath))
            checkpoint = try JSONDecoder().decode(TrainingCheckpoint.self, from: bytes)
        } catch {
            throw .checkpointIO(path: jsonPath, reason: "not a readable training checkpoint (\(error))")
        }
        guard checkpoint.formatVersion <= currentFormatVersion else {
            throw .checkpointIO(path: jsonPath, reason: "checkpoint format \(checkpoint.formatVersion) is newer than this build reads (\(currentFormatVersion))")
        }
        let folder = (jsonPath as NSString).deletingLastPathComponent
        let tensorsPath = folder.isEmpty ? checkpoint.tensorsFile : (folder as NSString).appendingPathComponent(checkpoint.tensorsFile)
        let digest: String
        do { digest = try fileSHA256(tensorsPath) } catch { throw .checkpointIO(path: tensorsPath, reason: "cannot read (\(error))") }
        guard digest == checkpoint.tensorsSHA256 else {
            throw .checkpointIO(path: tensorsPath, reason: "its SHA-256 \(digest) is not the one \(jsonPath) records (\(checkpoint.tensorsSHA256))")
        }
        return (checkpoint, tensorsPath)
    }

    static func fileSHA256(_ path: String) throws -> String {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        var hasher = SHA256()
        data.withUnsafeBytes { hasher.update($0) }
        return hasher.finalize().hex
    }
}

extension TrainingRun {
    /// Writes a checkpoint into `directory` (created if missing): `step-NNNNNNNN.safetensors`, then
    /// its sidecar `step-NNNNNNNN.json`, then `latest.json` (a copy of the sidecar). Each file is
    /// written to a temporary name and renamed, so a crash leaves every earlier checkpoint and
    /// `latest.json` intact.
    ///
    /// - Returns: the sidecar's path.
    /// - Throws: ``TrainingError/checkpointIO(path:reason:)`` naming the path when it cannot be written.
    @discardableResult
    public func saveCheckpoint(in directory: String) throws(TrainingError) -> String {
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw .checkpointIO(path: directory, reason: "cannot create the checkpoint folder (\(Self.reason(error)))")
        }
        let name = String(format: "step-%08d", completedSteps)
        let tensorsPath = (directory as NSString).appendingPathComponent(name + ".safetensors")
        let bytes = try tensorsFileBytes()
        var hasher = SHA256()
        hasher.update(bytes)
        let sidecar = TrainingCheckpoint(formatVersion: TrainingCheckpoint.currentFormatVersion, configuration: configuration,
                                         dataIdentity: data.identity, completedSteps: completedSteps, samplesSeen: samplesSeen,
                                         loader: loaderState, schedule: schedule, weightsSHA256: try weightsSHA256(),
                                         tensorsFile: name + ".safetensors", tensorsSHA256: hasher.finalize().hex)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        let json: Data
        do { json = try encoder.encode(sidecar) } catch { throw .checkpointIO(path: directory, reason: "cannot encode (\(error))") }
        let jsonPath = (directory as NSString).appendingPathComponent(name + ".json")
        try Self.writeAtomically(Data(bytes), to: tensorsPath)
        try Self.writeAtomically(json, to: jsonPath)
        try Self.writeAtomically(json, to: (directory as NSString).appendingPathComponent("latest.json"))
        return jsonPath
    }

    static func writeAtomically(_ data: Data, to path: String) throws(TrainingError) {
        do { try data.write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw .checkpointIO(path: path, reason: "cannot write (\(reason(error)))")
        }
    }

    static func reason(_ error: any Error) -> String {
        (error as NSError).userInfo[NSUnderlyingErrorKey].map { "\($0)" } ?? error.localizedDescription
    }

    /// The model's tensors (`model.<key>`) and the optimizer's state (`optimizer.<key>`) as safetensors bytes.
    func tensorsFileBytes() throws(TrainingError) -> [UInt8] {
        var entries: [(String, CheckpointTensor)] = []
        do {
            let dict = try StateDict(module: model)
            for key in dict.keys { if let t = dict[key] { entries.append(("model." + key, t)) } }
            for (name, t) in optimizer.savedState() { entries.append(("optimizer." + name, try Self.checkpointTensor(t, name: name))) }
        } catch { throw .model("cannot save: \(error)") }
        return StateDict(entries).safetensorsBytes()
    }

    /// A float32 or int64 tensor as little-endian checkpoint bytes.
    static func checkpointTensor(_ t: Tensor, name: String) throws -> CheckpointTensor {
        var bytes: [UInt8] = []
        switch t.dtype {
        case .float32:
            for v in try t.scalars(as: Float.self) { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 } }
            return try CheckpointTensor(dtype: .float32, shape: t.shape, bytes: bytes, name: name)
        case .int64:
            for v in try t.scalars(as: Int64.self) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
            return try CheckpointTensor(dtype: .int64, shape: t.shape, bytes: bytes, name: name)
        default:
            throw TrainingError.model("optimizer state \(name) has dtype \(t.dtype)")
        }
    }

    /// Continues a run from a checkpoint (see ``TrainingCheckpoint/read(_:)`` for the accepted paths),
    /// bit for bit as if it had never stopped, with any execution settings.
    ///
    /// - Parameters:
    ///   - path: the checkpoint.
    ///   - configuration: the run's configuration; it must equal the checkpoint's except
    ///     ``TrainingConfiguration/totalSteps`` (counted from the start of training), which may
    ///     change unless the schedule depends on it.
    ///   - data: the training data; its identity must be the checkpoint's.
    /// - Throws: ``TrainingError/checkpointMismatch(_:)`` naming what differs (architecture, data,
    ///   a hyper-parameter), ``TrainingError/checkpointIO(path:reason:)`` for an unreadable file.
    public init(resumingFrom path: String, configuration: TrainingConfiguration, data: TrainingData,
                execution: Execution = Execution()) throws(TrainingError) {
        let (saved, tensorsPath) = try TrainingCheckpoint.read(path)
        let old = saved.configuration
        guard old.architecture == configuration.architecture else {
            throw .checkpointMismatch("it is a \(old.architecture.rawValue) checkpoint, not \(configuration.architecture.rawValue)")
        }
        guard saved.dataIdentity == data.identity else {
            throw .checkpointMismatch("it was trained on \(saved.dataIdentity), not on \(data.identity)")
        }
        var comparable = configuration
        comparable.totalSteps = old.totalSteps
        if comparable != old {
            throw .checkpointMismatch("its settings differ: checkpoint \(Self.differences(old, comparable))")
        }
        if configuration.totalSteps != old.totalSteps, old.schedule.dependsOnTotalSteps || old.warmupSteps > old.totalSteps {
            throw .checkpointMismatch("its \(old.schedule) schedule was laid out for \(old.totalSteps) steps; resuming to "
                + "\(configuration.totalSteps) would not match an uninterrupted run (keep the step count)")
        }
        guard saved.completedSteps <= configuration.totalSteps else {
            throw .checkpointMismatch("it is at step \(saved.completedSteps), past the requested \(configuration.totalSteps) steps")
        }
        try self.init(configuration: configuration, data: data, execution: execution)
        let dict: StateDict
        do { dict = try StateDict(contentsOf: tensorsPath, access: .read) } catch {
            throw .checkpointIO(path: tensorsPath, reason: "\(error)")
        }
        var modelEntries: [(String, CheckpointTensor)] = []
        var optimizerState: [(name: String, tensor: Tensor)] = []
        do {
            for key in dict.keys {
                let t = try dict.tensor(key)
                if key.hasPrefix("model.") {
                    modelEntries.append((String(key.dropFirst(6)), t))
                } else if key.hasPrefix("optimizer.") {
                    let name = String(key.dropFirst(10))
                    optimizerState.append((name, try Tensor(checkpoint: t, name: name)))
                } else {
                    throw TrainingError.checkpointMismatch("unexpected tensor \(key) in \(tensorsPath)")
                }
            }
            _ = try model.load(stateDict: StateDict(modelEntries), strict: true)
            try optimizer.restoreState(optimizerState)
        } catch let e as TrainingError { throw e } catch {
            throw .checkpointMismatch("\(tensorsPath): \(error)")
        }
        schedule = saved.schedule
        do { try optimizer.apply(schedule) } catch { throw .checkpointMismatch("schedule: \(error)") }
        completedSteps = saved.completedSteps
        samplesSeen = saved.samplesSeen
        loaderState = saved.loader
        loaderState.endEpoch = max(loaderState.endEpoch, epochsNeeded)
        let digest = try weightsSHA256()
        guard digest == saved.weightsSHA256 else {
            throw .checkpointIO(path: tensorsPath, reason: "the loaded weights hash to \(digest), the checkpoint records \(saved.weightsSHA256)")
        }
    }

    /// The settings that differ, as `name old → new` phrases.
    static func differences(_ a: TrainingConfiguration, _ b: TrainingConfiguration) -> String {
        var out: [String] = []
        func note<T: Equatable>(_ name: String, _ x: T, _ y: T) { if x != y { out.append("\(name) \(x), this run \(y)") } }
        note("classes", a.numClasses, b.numClasses)
        note("seed", a.seed, b.seed)
        note("batch size", a.batchSize, b.batchSize)
        note("optimizer", a.optimizer, b.optimizer)
        note("schedule", a.schedule, b.schedule)
        note("warm-up", a.warmupSteps, b.warmupSteps)
        note("gradient clipping", a.clipGradientNorm, b.clipGradientNorm)
        note("label smoothing", a.labelSmoothing, b.labelSmoothing)
        note("augmentation", a.augmentation, b.augmentation)
        note("crop size", a.cropSize, b.cropSize)
        note("shuffle", a.shuffle, b.shuffle)
        note("skipping unreadable samples", a.skipsUnreadableSamples, b.skipsUnreadableSamples)
        return out.joined(separator: "; ")
    }

    /// Writes the model's weights as PyTorch does (`.pth`, `torch.save` of the state dict) or as
    /// safetensors (`.safetensors`), with torchvision's keys and dtypes, atomically.
    ///
    /// - Throws: ``TrainingError/invalidConfiguration(_:)`` for another extension,
    ///   ``TrainingError/checkpointIO(path:reason:)`` when the file cannot be written.
    public func exportWeights(to path: String) throws(TrainingError) {
        let dict: StateDict
        do { dict = try StateDict(module: model) } catch { throw .model("\(error)") }
        do {
            if path.hasSuffix(".pth") || path.hasSuffix(".pt") {
                try dict.writeTorchSave(to: path)
            } else if path.hasSuffix(".safetensors") {
                try dict.writeSafetensors(to: path)
            } else {
                throw TrainingError.invalidConfiguration("export to \(path): the name must end in .pth or .safetensors")
            }
        } catch let e as TrainingError { throw e } catch { throw .checkpointIO(path: path, reason: "\(error)") }
    }
}
