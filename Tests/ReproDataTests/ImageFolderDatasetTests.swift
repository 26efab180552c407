import Foundation
import Testing
import ReproImage
@testable import ReproData

/// A temp folder removed when the test ends.
func tempFolder() throws -> String {
    let p = FileManager.default.temporaryDirectory.appendingPathComponent("repro-data-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
    return p
}

func writePNG(_ path: String, width: Int, height: Int, seed: Int) throws {
    let px = (0..<(width * height * 3)).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ seed) }
    try Image(width: width, height: height, channels: 3, pixels: px).writePNG(to: path)
}

@Suite struct ImageFolderDatasetTests {
    @Test func classFoldersGiveSortedLabels() throws {
        let root = try tempFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        for (name, files) in [("zebra", ["b.png", "a.PNG"]), ("ant", ["x.png"]), ("Bee", ["1.png", "notes.txt"])] {
            try FileManager.default.createDirectory(atPath: root + "/" + name, withIntermediateDirectories: true)
            for f in files {
                if f.hasSuffix("txt") { try Data("x".utf8).write(to: URL(fileURLWithPath: root + "/\(name)/\(f)")) }
                else { try writePNG(root + "/\(name)/\(f)", width: 4, height: 3, seed: f.count) }
            }
        }
        let ds = try ImageFolderDataset(root: root)
        #expect(ds.classes == ["Bee", "ant", "zebra"], "code-point order, like Python's sorted()")
        #expect(ds.count == 4)
        #expect(ds.entries.map(\.label) == [0, 1, 2, 2])
        #expect(ds.entries.map { ($0.path as NSString).lastPathComponent } == ["1.png", "x.png", "a.PNG", "b.png"])
        let s = try ds.sample(at: 3)
        #expect(s.label == 2 && s.image.width == 4 && s.image.height == 3 && s.image.channels == 3)
        #expect(throws: DataLoaderError.self) { try ds.sample(at: 4) }
    }

    @Test func listFileAndErrors() throws {
        let root = try tempFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try writePNG(root + "/one.png", width: 2, height: 2, seed: 1)
        try Data("# comment\none.png 7\n\nmissing.png 3\n".utf8).write(to: URL(fileURLWithPath: root + "/list.txt"))
        let ds = try ImageFolderDataset(listFile: root + "/list.txt")
        #expect(ds.entries.map(\.label) == [7, 3])
        #expect(try ds.sample(at: 0).label == 7)
        #expect(throws: ImageDatasetError.self) { try ds.sample(at: 1) }
        do { _ = try ds.sample(at: 1) } catch let e as ImageDatasetError {
            guard case .decodingFailed(let path, _) = e else { Issue.record("wrong error \(e)"); return }
            #expect(path == root + "/missing.png")
        }
        try Data("one.png seven\n".utf8).write(to: URL(fileURLWithPath: root + "/bad.txt"))
        #expect(throws: ImageDatasetError.malformedListLine(path: root + "/bad.txt", line: 1, text: "one.png seven")) {
            try ImageFolderDataset(listFile: root + "/bad.txt")
        }
        #expect(throws: ImageDatasetError.notADirectory(path: root + "/nope")) { try ImageFolderDataset(root: root + "/nope") }
        #expect(throws: ImageDatasetError.noImages(path: root)) { try ImageFolderDataset(root: root) }
    }

    /// The loader surfaces a failing image with its sample index and path.
    @Test func loaderReportsFailingImage() throws {
        let root = try tempFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try writePNG(root + "/a.png", width: 2, height: 2, seed: 1)
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: root + "/b.png"))
        try Data("a.png 0\nb.png 1\n".utf8).write(to: URL(fileURLWithPath: root + "/l.txt"))
        let loader = try DataLoader(dataset: ImageFolderDataset(listFile: root + "/l.txt"), batchSize: 2, shuffle: .none,
                                    seed: 0, workers: 2, collate: { $0.count })
        let results = Array(loader)
        guard case .failure(.sampleFailed(let index, _, let why)) = results.first else {
            Issue.record("expected a sample failure, got \(results)"); return
        }
        #expect(index == 1 && why.contains("b.png"))
    }
}

@Suite struct LoaderProgressTests {
    @Test(arguments: [0, 3])
    func reportsEveryBatchInOrder(workers: Int) throws {
        final class Log: @unchecked Sendable {
            let lock = NSLock()
            var seen: [LoaderProgress] = []
            func add(_ p: LoaderProgress) { lock.lock(); seen.append(p); lock.unlock() }
        }
        let log = Log()
        let loader = try DataLoader(dataset: InMemoryDataset(Array(0..<10)), batchSize: 4, seed: 1, workers: workers,
                                    epochs: 2, collate: { $0 })
        let n = loader.reportingProgress(log.add).map { _ in 1 }.count
        #expect(n == 6)
        #expect(log.seen.map(\.delivered) == Array(1...6))
        #expect(log.seen.map(\.epoch) == [0, 0, 0, 1, 1, 1])
        #expect(log.seen.map(\.position) == [0, 1, 2, 0, 1, 2])
        #expect(log.seen.last?.fraction == 1 && log.seen.allSatisfy { $0.total == 6 && $0.batchesPerEpoch == 3 })
    }
}
