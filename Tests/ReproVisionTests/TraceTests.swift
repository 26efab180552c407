import Foundation
import ReproImage
import ReproNN
import ReproTensor
import ReproVision
import Testing
import _ReproTestSupport

/// Activation traces: invariance across threads and batches, recording changes nothing, and
/// `TraceComparison` names the right first module for each kind of change.
@Suite(.serialized) struct TraceTests {
    static func image(_ name: String) throws -> Image {
        try Image(contentsOfFile: Fixtures.url("retinanet/images/\(name).png").path)
    }

    static func model() throws -> RetinaNet { try RetinaNetFixtureModels.model(RetinaNetFixtureModels.mini) }

    /// A one-image trace document of `model` on `image`.
    static func document(_ model: RetinaNet, _ image: Image, tensors: Bool = false) throws -> (TraceDocument, StateDict?) {
        let traced = try model.detect([image], tracing: tensors ? .tensors : .digests)
        let doc = TraceDocument(producer: "test", model: model.traceModel(arch: "mini"), tensors: tensors ? "t.safetensors" : nil,
                                images: [.init(file: "img", inputSHA256: image.rgbDigest, modules: traced[0].trace.entries)])
        return (doc, tensors ? try TraceDocument.tensorDict(traced.map(\.trace)) : nil)
    }

    /// Replaces one parameter tensor (adds `delta` to its first element) and prepares again.
    struct Perturb: ModuleVisitor {
        var key: String
        var delta: Float
        var found = false
        mutating func visit(_ k: String, _ tensor: inout Tensor, _ info: ParameterInfo) throws(ModuleError) {
            guard k == key else { return }
            var v: [Float]
            do { v = try tensor.scalars() } catch { throw .tensor(error) }
            v[0] += delta
            tensor = try .parameter(shape: tensor.shape, v)
            found = true
        }
    }

    static func perturbed(_ model: RetinaNet, _ key: String) throws -> RetinaNet {
        var m = model
        let v = try m.visit(with: Perturb(key: key, delta: 0.5))
        #expect(v.found, "\(key) is a parameter")
        try m.prepare(in: .root)
        return m
    }

    @Test func tracesAreIdenticalAcrossThreadsAndBatches() throws {
        let model = try Self.model()
        let coffee = try Self.image("img0_coffee_154x231"), synthetic = try Self.image("img1_synthetic_300x120")
        let reference = try model.detect([coffee], tracing: .digests)[0].trace.entries
        #expect(reference.count > 150)
        #expect(reference.first?.name == "backbone.body.bn1")
        #expect(reference.contains { $0.name == "head.regression_head.bbox_reg" && $0.op.contains("3x3 64->36") })
        for threads in [1, 2, 3] {
            var settings = Runtime.settings
            settings.threads = threads
            let pool = ThreadPool()
            let entries = try Runtime.withSettings(settings) {
                try Runtime.withThreadPool(pool) { try model.detect([coffee], tracing: .digests)[0].trace.entries }
            }
            #expect(entries == reference, "threads \(threads)")
            let ran = pool.statistics
            #expect(ran.serialFallbacks == 0 && ran.largestTeam == (threads > 1 ? threads : 0), "threads \(threads): \(ran)")
        }
        let batch = try model.detect([synthetic, coffee, synthetic], tracing: .digests)
        #expect(batch[1].trace.entries == reference, "batch of 3")
        #expect(batch[0].trace.entries == batch[2].trace.entries)
        #expect(batch[0].trace.entries != reference, "different images give different traces")
    }

    @Test func recordingChangesNoBit() throws {
        let model = try Self.model()
        let coffee = try Self.image("img0_coffee_154x231")
        let plain = try model.detect([coffee])[0]
        let traced = try model.detect([coffee], tracing: .tensors)[0]
        #expect(plain.count == 300)
        #expect(RetinaNetInvarianceTests.bits(traced.detections) == RetinaNetInvarianceTests.bits(plain))
        // Every module output seen through the plain hook (no recorder) equals the recorded one.
        final class Log: @unchecked Sendable { var outputs: [(String, Tensor)] = [] }
        let log = Log()
        let input = try Tensor(shape: [3, coffee.height, coffee.width], scalars: coffee.rgb().chwUnitFloats())
        let viaHook = try model.detect(input, observer: { path, output in log.outputs.append((path, output)) })[0]
        #expect(RetinaNetInvarianceTests.bits(viaHook) == RetinaNetInvarianceTests.bits(plain))
        let entries = traced.trace.entries, tensors = try #require(traced.trace.tensors)
        #expect(log.outputs.map(\.0) == entries.map(\.name))
        #expect(tensors.count == entries.count)
        for ((path, t), (e, kept)) in zip(log.outputs, zip(entries, tensors)) {
            #expect(TraceRecorder.digest(t) == e.sha256, "\(path)")
            #expect(kept.bitsHash == t.bitsHash, "\(path) kept tensor")
        }
    }

    /// `--trace-tensors`' path: every output streamed into the safetensors file as it is produced
    /// (two calls, one writer: images numbered on) equals the tensors a keeping recorder holds, with
    /// the same digests, and nothing is held in memory.
    @Test func streamedTensorsEqualKeptOnes() throws {
        let model = try Self.model()
        let coffee = try Self.image("img0_coffee_154x231"), synthetic = try Self.image("img1_synthetic_300x120")
        let kept = try model.detect([coffee, synthetic], tracing: .tensors)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("trace-stream-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("t.safetensors").path
        let writer = try TraceTensorWriter(path: path)
        let streamed = try model.detect([coffee], streamingTensorsTo: writer) + model.detect([synthetic], streamingTensorsTo: writer)
        try writer.commit()
        #expect(streamed.map(\.trace.entries) == kept.map(\.trace.entries))
        #expect(streamed.allSatisfy { $0.trace.tensors == nil })
        #expect(zip(streamed, kept).allSatisfy { RetinaNetInvarianceTests.bits($0.detections) == RetinaNetInvarianceTests.bits($1.detections) })
        let expected = try TraceDocument.tensorDict(kept.map(\.trace)), back = try StateDict(contentsOf: path)
        #expect(Set(back.keys) == Set(expected.keys) && expected.keys.count == kept.map(\.trace.entries.count).reduce(0, +))
        for k in expected.keys {
            let (a, b) = (try back.tensor(k), try expected.tensor(k))
            #expect(a.shape == b.shape && a.dtype == b.dtype && a.bytes == b.bytes, "\(k)")
        }
    }

    @Test(arguments: [
        ("backbone.body.layer2.0.conv2.weight", "backbone.body.layer2.0.bn2"),
        ("backbone.fpn.layer_blocks.1.0.weight", "backbone.fpn.layer_blocks.1.0"),
        ("head.classification_head.conv.1.0.weight", "head.classification_head.conv.1.0"),
        ("head.regression_head.bbox_reg.weight", "head.regression_head.bbox_reg"),
    ])
    func diffFindsThePerturbedModule(key: String, expected: String) throws {
        let model = try Self.model()
        let coffee = try Self.image("img0_coffee_154x231")
        let (a, ta) = try Self.document(model, coffee, tensors: true)
        let (b, tb) = try Self.document(try Self.perturbed(model, key), coffee, tensors: true)
        let r = try TraceComparison.compare(a, b, tensorsA: ta, tensorsB: tb)
        #expect(!r.identical)
        let d = try #require(r.firstDivergence)
        #expect(d.name == expected && d.occurrence == 0)
        #expect(d.opA == d.opB)
        #expect((d.differingValues ?? 0) > 0 && (d.maxAbsDiff ?? 0) > 0 && d.index != nil)
        #expect(r.notes.contains { $0.contains("weights differ") })
        // Everything before it compared equal: the same prefix of digests.
        let k = try #require(a.images[0].modules.firstIndex { $0.name == expected })
        #expect(a.images[0].modules[..<k] == b.images[0].modules[..<k])
        // Without tensors the module is still found; the sizes are then unknown.
        let digestsOnly = try TraceComparison.compare(a, b)
        #expect(digestsOnly.firstDivergence?.name == expected && digestsOnly.firstDivergence?.differingValues == nil)
    }

    @Test func diffFindsAForcedAlgorithm() throws {
        let model = try Self.model()
        let coffee = try Self.image("img0_coffee_154x231")
        var forced = model
        try forced.prepare(in: ModuleScope(algorithmOverrides: ["backbone.fpn.layer_blocks.1.0": .direct]))
        let (a, ta) = try Self.document(model, coffee, tensors: true)
        let (b, tb) = try Self.document(forced, coffee, tensors: true)
        #expect(a.model == b.model, "same weights, same architecture")
        let r = try TraceComparison.compare(a, b, tensorsA: ta, tensorsB: tb)
        let d = try #require(r.firstDivergence)
        #expect(d.name == "backbone.fpn.layer_blocks.1.0")
        #expect(d.opA == "Conv2d 3x3 64->64, winograd F(4x4,3x3)" && d.opB == "Conv2d 3x3 64->64, direct")
        // Winograd and direct differ by rounding only: a tolerance accepts the difference…
        let (maxAbs, count) = (try #require(d.maxAbsDiff), try #require(d.differingValues))
        #expect(count > 0 && maxAbs > 0 && maxAbs < 1e-3)
        let within = try TraceComparison.compare(a, b, tensorsA: ta, tensorsB: tb, tolerance: TraceTolerance(absolute: 1e-3, relative: 1e-3))
        #expect(within.identical, "\(String(describing: within.firstDivergence))")
        // …and a tolerance needs the tensors.
        #expect(throws: TraceError.self) { _ = try TraceComparison.compare(a, b, tolerance: TraceTolerance(absolute: 1)) }
        #expect(try TraceComparison.compare(a, a).identical)
    }

    @Test func fastDigestTracesChangeNoBitAndDoNotDependOnThreads() throws {
        let model = try Self.model()
        let coffee = try Self.image("img0_coffee_154x231")
        let plain = try model.detect([coffee])[0]
        let traced = try model.detect([coffee], tracing: .tensors, digest: .nh)[0]
        #expect(RetinaNetInvarianceTests.bits(traced.detections) == RetinaNetInvarianceTests.bits(plain))
        #expect(traced.trace.digest == .nh)
        let tensors = try #require(traced.trace.tensors)
        #expect(tensors.count == traced.trace.entries.count)
        for (e, t) in zip(traced.trace.entries, tensors) { #expect(e.sha256 == TraceDigest.nh.digest(t), "\(e.name)") }
        let sha = try model.detect([coffee], tracing: .digests)[0].trace.entries
        #expect(sha.map(\.name) == traced.trace.entries.map(\.name))
        #expect(zip(sha, traced.trace.entries).allSatisfy { $0.sha256 != $1.sha256 }, "the algorithms differ")
        for threads in [2, 3] {
            var settings = Runtime.settings
            settings.threads = threads
            let pool = ThreadPool()
            let entries = try Runtime.withSettings(settings) {
                try Runtime.withThreadPool(pool) { try model.detect([coffee], tracing: .digests, digest: .nh)[0].trace.entries }
            }
            #expect(entries == traced.trace.entries, "threads \(threads)")
            #expect(pool.statistics.largestTeam == threads, "threads \(threads): \(pool.statistics)")
        }
    }

    @Test func differentModelsAndImagesAreRefused() throws {
        let model = try Self.model()
        let coffee = try Self.image("img0_coffee_154x231"), synthetic = try Self.image("img1_synthetic_300x120")
        let (a, _) = try Self.document(model, coffee)
        var c = RetinaNetConfiguration.mini
        c.numClasses = 3
        let (other, _) = try Self.document(try RetinaNet(configuration: c, seed: 0), coffee)
        #expect(throws: TraceError.self) { _ = try TraceComparison.compare(a, other) }
        do { _ = try TraceComparison.compare(a, other) } catch { #expect(error.description.contains("different models")) }
        let (d, _) = try Self.document(model, synthetic)
        do { _ = try TraceComparison.compare(a, d); Issue.record("different images compared") } catch {
            guard case .differentInputs = error else { Issue.record("\(error)"); return }
        }
    }

    @Test func documentsRoundTripAndBadFilesAreTypedErrors() throws {
        let model = try Self.model()
        let coffee = try Self.image("img1_synthetic_300x120")
        let (doc, tensors) = try Self.document(model, coffee, tensors: true)
        let data = doc.jsonData()
        #expect(try TraceDocument(json: data) == doc)
        // The tensors survive the safetensors writer and reader bit for bit.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("repro-trace-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let t = try #require(tensors)
        try t.writeSafetensors(to: dir.appendingPathComponent("t.safetensors").path)
        let back = try StateDict(contentsOf: dir.appendingPathComponent("t.safetensors").path)
        #expect(back.keys == t.keys && back.keys.allSatisfy { back[$0] == t[$0] })
        try doc.write(to: dir.appendingPathComponent("a.json").path)
        #expect(try TraceDocument(contentsOf: dir.appendingPathComponent("a.json").path) == doc)

        func failure(_ bytes: Data) -> TraceError? {
            do { _ = try TraceDocument(json: bytes, path: "x.json"); return nil } catch { return error }
        }
        #expect(failure(data.prefix(data.count / 2)) == .malformed(path: "x.json", reason: "not a JSON object (empty, truncated or not JSON)"))
        #expect(failure(Data()) != nil)
        #expect(failure(Data("{\"format\": \"other\", \"version\": 1}".utf8))?.description.contains("expected \"repro-trace\"") == true)
        #expect(failure(Data("{\"format\": \"repro-trace\", \"version\": 99}".utf8)) == .unsupportedVersion(path: "x.json", version: 99))
        let noModules = String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\"modules\"", with: "\"mods\"")
        #expect(failure(Data(noModules.utf8))?.description.contains("\"modules\" is missing") == true)
        do { _ = try TraceDocument(contentsOf: dir.appendingPathComponent("missing.json").path); Issue.record("read a missing file") } catch {
            guard case .unreadable = error else { Issue.record("\(error)"); return }
        }
    }
}
