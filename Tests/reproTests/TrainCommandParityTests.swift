import Foundation
import Testing
import Repro
import _ReproTestSupport

/// `repro train --augment none --shuffle none` trains exactly what the library's ResNet-18 parity
/// path trains (ResNet18TrainingParityTests: the seeded torchvision init, a batch of 4 with batch
/// norm in training mode, `valueAndGradient` of the mean cross-entropy, the running statistics
/// stored after each forward pass, then the optimizer's step; three steps of SGD with momentum and
/// three of AdamW with that test's hyper-parameters), bit for bit, from the same images.
///
/// The images are 4 PNGs of 64×64 in an ImageFolder whose file order differs from the order the
/// files were written in. The library side computes its input here, independently of the command's
/// data path: torchvision's `ImageFolder` order (sorted classes, sorted file names), `ToTensor`
/// (`Float(v) / 255`) and `Normalize` (ImageNet mean and std, float32 subtraction then division),
/// laid out NHWC. So decoding, normalisation, batch order, labels, the BatchNorm mode, the loss
/// reduction, the optimizer's wiring and the constant schedule of the command cannot differ from
/// the library's without failing here.
@Suite struct TrainCommandParityTests {
    /// Files as written (folder, name, synthetic-shapes sample); the ImageFolder order sorts them.
    static let files = [("cat", "2.png", 0), ("ant", "b.png", 1), ("cat", "10.png", 2), ("ant", "a.png", 3)]
    /// torchvision's ImageFolder order of ``files``: classes `ant` = 0, `cat` = 1; names sorted as strings.
    static let imageFolderOrder = [(3, 0), (1, 0), (2, 1), (0, 1)]   // (sample, label)

    /// The 4 images (drawn shapes with noise, 64×64 RGB) written as PNGs into `dir`.
    static func writeImages(in dir: URL) throws -> [Image] {
        let shapes = try SyntheticShapes(seed: 5, count: 4, imageSize: 64)
        let images = try (0..<4).map { try shapes.sample(at: $0).image }
        for (folder, name, sample) in files {
            let classDir = dir.appendingPathComponent(folder)
            try FileManager.default.createDirectory(at: classDir, withIntermediateDirectories: true)
            try Data(images[sample].pngData()).write(to: classDir.appendingPathComponent(name))
        }
        return images
    }

    /// The batch as torchvision's `ToTensor` + `Normalize` would give it, NHWC, and its labels.
    static func batch(_ images: [Image]) throws -> (input: Tensor, targets: [Int]) {
        let mean: [Float] = [0.485, 0.456, 0.406], std: [Float] = [0.229, 0.224, 0.225]
        var values: [Float] = []
        for (sample, _) in imageFolderOrder {
            let image = images[sample]
            #expect(image.channels == 3 && image.width == 64 && image.height == 64)
            for (i, v) in image.pixels.enumerated() {
                let c = i % 3
                values.append((Float(v) / 255 - mean[c]) / std[c])
            }
        }
        return (try Tensor(shape: [4, 64, 64, 3], scalars: values), imageFolderOrder.map(\.1))
    }

    /// The library path: three steps from ResNet-18's seed-0 init; the losses and the final state dict.
    static func libraryRun<O: Optimizer>(_ batch: (input: Tensor, targets: [Int]), _ make: (ResNet) throws -> O)
        throws -> (losses: [Float], state: [String: Tensor], keys: [String]) {
        var configuration = ResNetConfiguration.resnet18
        configuration.numClasses = 10
        var model = try ResNet(configuration: configuration, seed: 0)
        var optimizer = try make(model)
        var losses: [Float] = []
        for _ in 0..<3 {
            let result = try valueAndGradient(of: model, batchSize: 4) { model, scope in
                try model.forward(scope.constant(samplesOf: batch.input), in: scope).crossEntropy(targets: batch.targets)
            }
            losses.append(result.loss)
            model = try model.replacing(buffers: result.bufferUpdates)
            var named: [String: Tensor] = [:]
            for (name, g) in result.gradients.entries { named[name] = g }
            try optimizer.step(&model, gradients: named)
        }
        return (losses, model.stateDict, model.parameterSpecs.map(\.name))
    }

    /// `repro train` on the folder: the losses of its log (parsed from the text, as float32) and its export.
    static func commandRun(_ dir: URL, _ options: [String]) throws -> (losses: [Float], export: StateDict) {
        let export = dir.appendingPathComponent("out.safetensors").path
        let r = try runRepro(["train", dir.appendingPathComponent("images").path, "--arch", "resnet18", "--num-classes", "10",
                              "--seed", "0", "--batch-size", "4", "--steps", "3", "--augment", "none", "--shuffle", "none",
                              "--schedule", "constant", "--no-val", "--no-progress", "--threads", "2", "--log", "-",
                              "--export", export] + options)
        #expect(r.status == 0, "\(r.stderr)")
        var losses: [Float] = []
        for line in r.stdout.split(separator: "\n") where line.contains("\"loss\":") {
            let text = line.split(separator: "\"loss\":")[1].prefix { $0 != "," && $0 != "}" }
            losses.append(try #require(Float(String(text)), "\(line)"))
        }
        return (losses, try StateDict(contentsOf: export))
    }

    func check<O: Optimizer>(_ label: String, _ options: [String], _ make: (ResNet) throws -> O) throws {
        let dir = try makeTemporaryFolder("train-parity-\(label)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let images = try Self.writeImages(in: dir.appendingPathComponent("images"))
        let library = try Self.libraryRun(Self.batch(images), make)
        let command = try Self.commandRun(dir, options)
        #expect(command.losses.map(\.bitPattern) == library.losses.map(\.bitPattern),
                "\(label): losses \(command.losses) vs the library's \(library.losses)")
        #expect(Set(command.export.keys) == Set(library.keys), "\(label): the same keys")
        var differing: [String] = []
        for key in library.keys {
            let ours = try Tensor(checkpoint: command.export.tensor(key), name: key)
            let expected = try #require(library.state[key])
            if ours.bitsHash != expected.bitsHash { differing.append(key) }
        }
        #expect(differing.isEmpty, "\(label): \(differing.count) tensors differ from the library's, e.g. \(differing.prefix(3))")
        // The run moved the weights (a command that trained nothing cannot pass).
        let initial = try ResNet(configuration: { var c = ResNetConfiguration.resnet18; c.numClasses = 10; return c }(), seed: 0).stateDict
        #expect(initial["fc.weight"]!.bitsHash != library.state["fc.weight"]!.bitsHash)
        print("TrainCommandParityTests \(label): losses \(command.losses), \(library.keys.count) tensors identical")
    }

    @Test(.enabled(if: DetectionReference.fullSizeModelRuns, "ResNet-18 training: release builds, or REPRO_HEAVY_TESTS=1"))
    func sgdWithMomentumMatchesTheLibraryBitForBit() throws {
        try check("sgd", ["--optimizer", "sgd", "--lr", "0.01", "--momentum", "0.9", "--weight-decay", "1e-4"]) {
            try SGD(model: $0, options: .init(learningRate: 0.01, momentum: 0.9, weightDecay: 1e-4))
        }
    }

    @Test(.enabled(if: DetectionReference.fullSizeModelRuns, "ResNet-18 training: release builds, or REPRO_HEAVY_TESTS=1"))
    func adamWMatchesTheLibraryBitForBit() throws {
        try check("adamw", ["--optimizer", "adamw", "--lr", "0.001", "--weight-decay", "0.01"]) {
            try Adam(model: $0, options: .adamW(learningRate: 1e-3, weightDecay: 0.01))
        }
    }
}
