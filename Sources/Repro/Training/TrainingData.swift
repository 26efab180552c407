import Foundation
import ReproData
import ReproImage
import ReproTensor
import _ReproDigest

/// The labelled images a ``TrainingRun`` trains on (or evaluates): the built-in
/// ``ReproData/SyntheticShapes`` set or an image folder, with an identity that a checkpoint records
/// so that a run is never resumed on other data.
public struct TrainingData: Dataset {
    enum Source: Sendable {
        case synthetic(SyntheticShapes)
        case folder(ImageFolderDataset)
    }

    let source: Source
    /// What the data is, e.g. `synthetic-shapes train seed 0 count 10000 size 32` or
    /// `image-folder 1200 images 10 classes sha256 …` (SHA-256 of every relative path, label and file size).
    public let identity: String
    /// The number of classes (10 for the built-in set; the class folders of an image folder).
    public let classCount: Int
    /// Class names by label.
    public let classNames: [String]

    /// The built-in data set (``ReproData/SyntheticShapes``): `count` images of `imageSize`² pixels.
    ///
    /// - Throws: ``TrainingError/invalidData(_:)`` for a count or size the generator refuses.
    public static func builtIn(seed: UInt64 = 0, split: SyntheticShapes.Split = .train, count: Int? = nil,
                               imageSize: Int = 32) throws(TrainingError) -> TrainingData {
        let shapes: SyntheticShapes
        do { shapes = try SyntheticShapes(seed: seed, split: split, count: count, imageSize: imageSize) } catch {
            throw .invalidData("built-in data set: \(error)")
        }
        return TrainingData(source: .synthetic(shapes),
                            identity: "synthetic-shapes \(split.rawValue) seed \(seed) count \(shapes.count) size \(imageSize)",
                            classCount: SyntheticShapes.classCount, classNames: SyntheticShapes.shapeNames)
    }

    /// An image folder (one subfolder per class, in sorted order, as torchvision's `ImageFolder`)
    /// or a list file of `path label` lines.
    ///
    /// - Throws: ``TrainingError/invalidData(_:)`` when the folder cannot be read, holds no
    ///   images, or a class folder holds none (named).
    public static func imageFolder(_ path: String) throws(TrainingError) -> TrainingData {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .invalidData("\(path): no such file or folder")
        }
        let dataset: ImageFolderDataset
        do {
            dataset = isDirectory.boolValue ? try ImageFolderDataset(root: path) : try ImageFolderDataset(listFile: path)
        } catch { throw .invalidData("\(error)") }
        var perLabel: [Int: Int] = [:]
        for e in dataset.entries { perLabel[e.label, default: 0] += 1 }
        if !dataset.classes.isEmpty {
            for (label, name) in dataset.classes.enumerated() where perLabel[label] == nil {
                throw .invalidData("\(path)/\(name): class folder without images (.jpg, .jpeg, .png)")
            }
        }
        let classCount = dataset.classes.isEmpty ? (dataset.entries.map(\.label).max() ?? 0) + 1 : dataset.classes.count
        var hasher = SHA256()
        let prefix = path.hasSuffix("/") ? path : path + "/"
        for e in dataset.entries {
            let relative = e.path.hasPrefix(prefix) ? String(e.path.dropFirst(prefix.count)) : e.path
            let size = (try? FileManager.default.attributesOfItem(atPath: e.path)[.size] as? Int) ?? -1
            hasher.update(Array("\(relative)\u{0}\(e.label)\u{0}\(size)\n".utf8))
        }
        return TrainingData(source: .folder(dataset),
                            identity: "image-folder \(dataset.count) images \(classCount) classes sha256 \(hasher.finalize().hex)",
                            classCount: classCount,
                            classNames: dataset.classes.isEmpty ? (0..<classCount).map(String.init) : dataset.classes)
    }

    /// The number of images.
    public var count: Int {
        switch source {
        case .synthetic(let s): return s.count
        case .folder(let f): return f.count
        }
    }

    /// The image, label and path of sample `index`.
    public func sample(at index: Int) throws -> LabeledImage {
        switch source {
        case .synthetic(let s): return try s.sample(at: index)
        case .folder(let f): return try f.sample(at: index)
        }
    }

    /// The path of sample `index` (for messages).
    public func path(at index: Int) -> String {
        switch source {
        case .synthetic(let s): return "synthetic-shapes/\(s.split.rawValue)/\(index)"
        case .folder(let f): return f.entries.indices.contains(index) ? f.entries[index].path : "#\(index)"
        }
    }
}

/// A collated batch: NHWC images, int64 labels and the data-set indices they came from.
struct TrainingBatch: Sendable {
    let images: Tensor
    let labels: Tensor
    let samples: [Int]
    let skipped: [String]
}

/// One transformed sample (nil values: skipped as unreadable).
struct TrainingItem: Sendable {
    let index: Int
    let label: Int
    let values: CHWImage?
    let skippedReason: String?
}

/// The per-sample transform and the collate step of ``TrainingRun``.
struct TrainingPipeline: Sendable {
    let augmentation: TrainingAugmentation
    let cropSize: Int
    let training: Bool
    let numClasses: Int

    private var colourPipeline: Compose {
        training ? Compose([RandomHorizontalFlip(), ColorJitter(brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1),
                            Normalize.imageNet])
            : Compose([Normalize.imageNet])
    }

    /// The training transform (random crop + flip + jitter + normalise) or the evaluation one
    /// (resize to the crop size + normalise); `--augment none` is `ToTensor` + `Normalize` alone.
    func transform(_ sample: LabeledImage, index: Int, generator g: inout SampleGenerator) throws -> CHWImage {
        switch augmentation {
        case .none:
            return try ToTensorNormalize().apply(sample.image)
        case .standard:
            if training {
                let x = try RandomResizedCrop(size: cropSize).apply(sample.image, using: &g)
                return try colourPipeline.apply(x, using: &g)
            }
            let x = try Resize(height: cropSize, width: cropSize).apply(CHWImage(sample.image), using: &g)
            return try colourPipeline.apply(x, using: &g)
        }
    }

    /// Stacks the readable items into `[n, H, W, 3]` (NHWC) and their labels.
    func collate(_ items: [TrainingItem]) throws -> TrainingBatch {
        let kept = items.filter { $0.values != nil }
        let skipped = items.compactMap(\.skippedReason)
        guard let first = kept.first?.values else {
            throw TrainingError.invalidData("every sample of the batch was skipped: \(skipped.joined(separator: "; "))")
        }
        let (c, h, w) = (first.channels, first.height, first.width)
        guard c == 3 else { throw TrainingError.invalidData("expected RGB images, got \(c) channels") }
        for item in kept {
            let im = item.values!
            guard (im.channels, im.height, im.width) == (c, h, w) else {
                throw TrainingError.invalidData(
                    "images of different sizes in one batch (\(w)×\(h) and \(im.width)×\(im.height)): use --augment standard, which crops to one size")
            }
            guard item.label >= 0 && item.label < numClasses else {
                throw TrainingError.invalidData("sample \(item.index) has label \(item.label), outside 0..<\(numClasses)")
            }
        }
        // CHW → NHWC straight into the batch tensor's storage: every element is written once.
        let plane = h * w
        let images = try Tensor(unsafeUninitializedShape: [kept.count, h, w, c], dtype: .float32) { raw in
            let out = raw.bindMemory(to: Float.self)
            for (n, item) in kept.enumerated() {
                item.values!.values.withUnsafeBufferPointer { src in
                    let base = n * plane * c
                    for p in 0..<plane {
                        for ch in 0..<c { out[base + p * c + ch] = src[ch * plane + p] }
                    }
                }
            }
        }
        let labels = try Tensor(shape: [kept.count], scalars: kept.map { Int64($0.label) })
        return TrainingBatch(images: images, labels: labels, samples: kept.map(\.index), skipped: skipped)
    }
}
