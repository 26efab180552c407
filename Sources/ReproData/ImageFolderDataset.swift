import Foundation
import ReproImage

/// A labelled image read from disk.
public struct LabeledImage: Sendable, Equatable {
    /// The decoded image, converted to RGB.
    public let image: Image
    /// The class label.
    public let label: Int
    /// The file it came from.
    public let path: String
}

/// Images in a folder, decoded with ReproImage (Pillow-identical pixels) and
/// converted to RGB.
///
/// Two layouts:
/// - ``init(root:)``: one subfolder per class (torchvision `ImageFolder`);
///   labels are the subfolders' positions in code-point order of their names,
///   files are listed in the same order, `.jpg`, `.jpeg` and `.png` only.
/// - ``init(listFile:root:)``: a text file of `path label` lines (paths
///   relative to `root`, by default the list file's folder; blank lines and
///   lines starting with `#` are skipped).
///
/// ```swift
/// let ds = try ImageFolderDataset(root: "data/train")
/// ds.classes            // ["cat", "dog"]
/// let s = try ds.sample(at: 0)   // s.image, s.label, s.path
/// ```
public struct ImageFolderDataset: Dataset {
    /// Every sample's path and label, in index order.
    public let entries: [(path: String, label: Int)]
    /// Class names by label (subfolder layout); empty for a list file.
    public let classes: [String]

    /// The number of images.
    public var count: Int { entries.count }

    /// Lists `root/CLASS/FILE` images.
    ///
    /// - Throws: ``ImageDatasetError`` when `root` is not a readable folder or holds no images.
    public init(root: String) throws(ImageDatasetError) {
        let names = try Self.list(root).filter { Self.isDirectory(root + "/" + $0) }
        var entries: [(String, Int)] = []
        for (label, name) in names.enumerated() {
            let dir = root + "/" + name
            for file in try Self.list(dir) where Self.isImage(file) { entries.append((dir + "/" + file, label)) }
        }
        guard !entries.isEmpty else { throw .noImages(path: root) }
        self.entries = entries
        classes = names
    }

    /// Reads `path label` lines from `listFile`.
    ///
    /// - Throws: ``ImageDatasetError`` when the file cannot be read or a line is malformed.
    public init(listFile: String, root: String? = nil) throws(ImageDatasetError) {
        let text: String
        do { text = try String(contentsOfFile: listFile, encoding: .utf8) } catch {
            throw .unreadable(path: listFile, reason: error.localizedDescription)
        }
        let base = root ?? (listFile as NSString).deletingLastPathComponent
        var entries: [(String, Int)] = []
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let cut = line.lastIndex(of: " "), let label = Int(line[line.index(after: cut)...]), label >= 0 else {
                throw .malformedListLine(path: listFile, line: n + 1, text: line)
            }
            let rel = line[..<cut].trimmingCharacters(in: .whitespaces)
            guard !rel.isEmpty else { throw .malformedListLine(path: listFile, line: n + 1, text: line) }
            entries.append((rel.hasPrefix("/") || base.isEmpty ? rel : base + "/" + rel, label))
        }
        guard !entries.isEmpty else { throw .noImages(path: listFile) }
        self.entries = entries
        classes = []
    }

    /// Decodes image `index` (RGB).
    ///
    /// - Throws: ``ImageDatasetError/decodingFailed(path:reason:)`` naming the file, or
    ///   ``DataLoaderError/indexOutOfRange(index:count:)``.
    public func sample(at index: Int) throws -> LabeledImage {
        guard entries.indices.contains(index) else { throw DataLoaderError.indexOutOfRange(index: index, count: count) }
        let (path, label) = entries[index]
        do {
            return LabeledImage(image: try Image(contentsOfFile: path).rgb(), label: label, path: path)
        } catch {
            throw ImageDatasetError.decodingFailed(path: path, reason: error.description)
        }
    }

    static func list(_ dir: String) throws(ImageDatasetError) -> [String] {
        guard isDirectory(dir) else { throw .notADirectory(path: dir) }
        do {
            return try FileManager.default.contentsOfDirectory(atPath: dir)
                .filter { !$0.hasPrefix(".") }
                .sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
        } catch {
            throw .unreadable(path: dir, reason: error.localizedDescription)
        }
    }

    static func isDirectory(_ path: String) -> Bool {
        var dir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &dir) && dir.boolValue
    }

    static func isImage(_ name: String) -> Bool {
        let ext = (name as NSString).pathExtension.lowercased()
        return ext == "jpg" || ext == "jpeg" || ext == "png"
    }
}

/// Why an image dataset could not be listed or a file could not be read; every case names the path.
public enum ImageDatasetError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The path is not a folder.
    case notADirectory(path: String)
    /// The folder or list file could not be read.
    case unreadable(path: String, reason: String)
    /// No images were found.
    case noImages(path: String)
    /// A list-file line is not `path label` with a non-negative integer label.
    case malformedListLine(path: String, line: Int, text: String)
    /// An image file could not be decoded.
    case decodingFailed(path: String, reason: String)

    /// A sentence naming the path and the problem.
    public var description: String {
        switch self {
        case .notADirectory(let p): return "\(p): not a directory"
        case let .unreadable(p, r): return "\(p): cannot read: \(r)"
        case .noImages(let p): return "\(p): no images (.jpg, .jpeg, .png) found"
        case let .malformedListLine(p, n, t): return "\(p):\(n): expected 'path label', got '\(t)'"
        case let .decodingFailed(p, r): return "\(p): cannot decode image: \(r)"
        }
    }
}
