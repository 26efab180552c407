#!/usr/bin/env python3
"""Writes Tests/DocExamplesTests/DocCommentExamples.swift: every ```swift example in a `///`
doc comment under Sources/ becomes the body of its own function, so `swift build --build-tests`
compiles each one and DocExamplesTests runs the ones that need no outside files.

Usage: scripts/extract_doc_examples.py [--check]
  --check  exit 1 if the generated file is out of date (DocExamplesTests checks the same).

An example that needs surrounding values gets them from CONTEXT below: the doc comment
shows the essential lines, the test adds the setup. Examples listed in COMPILE_ONLY are
compiled but not run (they read files a reader has, such as photo.jpg, or build full-size
models); THROWS lists examples expected to end in a thrown error.

Keys are (path, anchor) pairs, never line numbers, so editing a file above an example does
not detach its entry: `path` is the source file relative to the package root and `anchor`
is a piece of the example's code (normally its first line, stripped) that occurs in exactly
one example of that file; when two examples share a first line, use another line that tells
them apart (an anchor equal to an example's whole code names that example even when that
code also occurs inside a longer one). The script fails when a key matches no example or
several, so an entry cannot silently go stale.

An example whose first line declares a type (`struct`, `enum`, `class`, `actor`) compiles as
a local type inside its function; a doc comment that shows a member (a `mutating func walk`)
shows it inside a complete type declaration so it compiles as written.

The generated file imports `Repro` and `@_spi(Kernels) import ReproTensor`, so the kernel
examples (GEMM, Conv2dKernel, WinogradKernel, ...) compile against the SPI they document; their
CONTEXT set-ups allocate raw buffers that a `defer` frees when the example returns.

The generated file names and locates examples by file and ordinal (`Image.swift #2`), not
by line, so it only goes stale when an example's code changes, appears or disappears.
"""
import os, re, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "DocExamplesTests", "DocCommentExamples.swift")
# The modules whose examples are compiled.
MODULES = ["Repro", "ReproRandom", "ReproTensor", "ReproImage", "ReproNN", "ReproVision", "ReproData"]

# Per module: setup for an example that uses a generator `g` without declaring it.
DEFAULT_GENERATOR = {"ReproRandom": "var g = TorchGenerator(seed: UInt64(0))"}
SAVED = "let saved = TorchGenerator(seed: UInt64(1)).serializedState"
CHW = ("let x = CHWImage(try Image(width: 64, height: 48, channels: 3, pixels: [UInt8](repeating: 100, count: 64 * 48 * 3)))\n"
       "var g = SampleGenerator(SampleRandomness.generator(seed: 1, epoch: 0, index: 5))")
LOADER = ("let loader = try DataLoader(dataset: InMemoryDataset(Array(0..<10)), batchSize: 4, seed: 0,\n"
          "                            transform: { x, _ in x }, collate: { $0 })")
BATCH = "var iterator = loader.makeIterator()\nlet batch = try iterator.next()!.get()"
# Declared once at the top of the generated file.
PRELUDE = """/// A stream of the integers 1...10: the iterable dataset the ReproData examples read.
struct Counting: IterableDataset {
    struct Stream: SampleStream {
        var i = 0
        mutating func next() throws -> Int? { i += 1; return i <= 10 ? i : nil }
    }
    func makeStream(context: StreamContext) throws -> Stream { Stream() }
}"""
STREAM_LOADER = ("let loader = try StreamLoader(dataset: Counting(), batchSize: 4, seed: 0,\n"
                 "                              transform: { x, _ in x }, collate: { $0 })")

IMAGE = "var image = try Image(width: 256, height: 192, channels: 3, pixels: [UInt8](repeating: 128, count: 256 * 192 * 3))"
BYTES = "let bytes = try Image(width: 4, height: 3, channels: 3, pixels: [UInt8](repeating: 7, count: 36)).pngData()"
MINI = "let model = try RetinaNet(configuration: .mini, seed: 0)"
MINI_IMAGES = "let images = [try Image(width: 64, height: 48, channels: 3, pixels: [UInt8](repeating: 90, count: 64 * 48 * 3))]"
GEN = "var g = TorchGenerator(seed: 0)"
NHWC3 = "let x = try Tensor(shape: [1, 6, 6, 3], scalars: [Float](repeating: 0.5, count: 6 * 6 * 3))"
DICT = 'let dict = try StateDict(contentsOf: "weights.pth")'


# Setup code for examples that use values defined outside them.
CONTEXT = {
    ("Sources/ReproImage/Image+Drawing.swift", "image.fillRectangle(x0: 10, y0: 10, x1: 49, y1: 19, color: .black)"): IMAGE,
    ("Sources/ReproImage/Image+Drawing.swift", "image.drawRectangle(x0: 5, y0: 5, x1: 60, y1: 40, color: .forClass(3), lineWidth: 2)"): IMAGE,
    ("Sources/ReproImage/Image+Drawing.swift", 'image.drawText("PERSON 0.98", x: 4, y: 4, color: .white, scale: 2)'): IMAGE,
    ("Sources/ReproImage/Image+Drawing.swift", 'image.drawLabel("dog 0.87", x: 30, y: 12, background: .forClass(18))'): IMAGE,
    ("Sources/ReproImage/Image+Drawing.swift", 'image.drawDetection(x0: 12.4, y0: 30, x1: 200.6, y1: 180, label: "cat 0.91", classIndex: 17)'): IMAGE,
    ("Sources/ReproImage/Image.swift", "let topLeft = image.pixel(x: 0, y: 0)   // e.g. [255, 0, 0]"): IMAGE,
    ("Sources/ReproImage/PNGEncoder.swift", "let png = image.pngData()"): IMAGE,
    ("Sources/ReproImage/PNGEncoder.swift", 'try image.writePNG(to: "out.png")'): IMAGE,
    ("Sources/ReproImage/Image+Orientation.swift", "let d = try ImageDecoder.decode(bytes)"): BYTES,
    ("Sources/ReproImage/ImageDecoder.swift", "var options = ImageDecodingOptions()"): BYTES,
    ("Sources/ReproImage/ImageDecoder.swift", "let decoded = try ImageDecoder.decode(bytes)"): BYTES,
    ("Sources/ReproImage/ImageDecoder.swift", "let image = try Image(decoding: bytes)"): BYTES,
    ("Sources/ReproImage/ImageError.swift", "do { _ = try Image(decoding: bytes) }"): BYTES,
    ("Sources/ReproImage/Image+Tensor.swift", "var out = [Float](repeating: 0, count: 3 * h * w)"): "let (w, h) = (4, 3)\nlet pixels = [UInt8](repeating: 9, count: w * h * 3)",
    ("Sources/ReproNN/Module/CheckpointTensor+Tensor.swift", 'let w = try Tensor(checkpoint: dict.tensor("conv1.weight"), name: "conv1.weight")'): DICT,
    ("Sources/ReproNN/Module/LoadReport.swift", "let report = try model.load(stateDict: dict, strict: false)"): "var model = try RetinaNet(configuration: .mini, seed: 0)\n" + DICT,
    ("Sources/ReproNN/Layers/Conv2d.swift", "var conv = try Conv2d("): NHWC3,
    ("Sources/ReproNN/Layers/Linear.swift", "var fc = try Linear("):
        GEN + "\nlet features = try Tensor(shape: [2, 512], scalars: [Float](repeating: 0.25, count: 2 * 512))",
    ("Sources/ReproNN/Layers/Sequential.swift", "var block = Sequential("):
        GEN + "\nlet x = try Tensor(shape: [1, 6, 6, 64], scalars: [Float](repeating: 0.5, count: 6 * 6 * 64))",
    ("Sources/ReproNN/Layers/Sequential.swift", "var blocks = ModuleList<Conv2d>([c0, c1])"):
        GEN + "\nlet c0 = try Conv2d(inChannels: 3, outChannels: 4, kernelSize: 1, generator: &g)"
        "\nlet c1 = try Conv2d(inChannels: 4, outChannels: 4, kernelSize: 3, padding: 1, generator: &g)",
    ("Sources/ReproNN/Module/Module.swift", "var model = try ResNet(configuration: .resnet18, generator: &g)"): GEN,
    ("Sources/ReproNN/Module/Module.swift", "let scope = ModuleScope(observer:"):
        GEN + "\nvar model = try Linear(inFeatures: 4, outFeatures: 2, generator: &g)\ntry model.prepare(in: .root)"
        "\nlet x = try Tensor(shape: [1, 4], scalars: [Float]([1, 2, 3, 4]))",
    ("Sources/ReproVision/RetinaNet/RetinaNetConfiguration.swift", "isOfficialCOCOV1Checkpoint(sha256: fileHash)"):
        'let fileHash = String(repeating: "0", count: 64)',
    ("Sources/ReproVision/Detection/NonMaximumSuppression.swift", "let keep = NonMaximumSuppression.batched(boxes: boxes, scores: scores, labels: labels, iouThreshold: 0.5)"):
        "let boxes = [BoundingBox(x1: 0, y1: 0, x2: 10, y2: 10), BoundingBox(x1: 1, y1: 1, x2: 10, y2: 10)]\n"
        "let scores: [Float] = [0.9, 0.8]\nlet labels = [1, 1]",
    ("Sources/ReproVision/RetinaNet/Detection.swift", "for d in detections where d.score > 0.5 { print(COCO.name(of: d.label), d.score, d.box) }"):
        "let detections = [Detection(box: BoundingBox(x1: 0, y1: 0, x2: 4, y2: 4), score: 0.9, label: 18)]",
    ("Sources/ReproVision/RetinaNet/RetinaNet+Profile.swift", "print(times.body, times.total)"): MINI + "\n" + IMAGE,
    ("Sources/ReproVision/RetinaNet/RetinaNet+Profile.swift", "let (detections, times) = try model.profile(image)"): MINI + "\n" + IMAGE,
    ("Sources/ReproNN/Trace/TraceDocument.swift", "let f = ModuleFingerprint.architecture(of: model)"): MINI,
    ("Sources/ReproNN/Trace/TraceDocument.swift", "let w = ModuleFingerprint.weights(of: model)"): MINI,
    ("Sources/ReproNN/Trace/TraceComparison.swift", "let result = try TraceComparison.compare(a, b)"):
        'let a = TraceDocument(producer: "example", model: .init(arch: "mini", fingerprint: "f", weightsSHA256: "w"), images: [])\nlet b = a',
    ("Sources/ReproVision/RetinaNet/RetinaNet+Trace.swift", "let model = try RetinaNet(configuration: .mini, seed: 0)"): IMAGE,
    ("Sources/ReproVision/RetinaNet/RetinaNet+Trace.swift", 'let writer = try TraceTensorWriter(path: "run.trace.safetensors")'): MINI + "\n" + IMAGE,
    ("Sources/ReproRandom/TorchGenerator+State.swift", "let h = try TorchGenerator(serializedState: saved, capability: .generic)"): SAVED,
    ("Sources/ReproRandom/TorchGenerator+State.swift", "try g.setState(saved)"): SAVED,
    ("Sources/ReproRandom/TorchInit.swift", "TorchInit.constant(&bias, 0.1)"): "var bias = [Float](repeating: 0, count: 4)",
    ("Sources/ReproRandom/TorchInit.swift", "TorchInit.zeros(&bias)"): "var bias = [Float](repeating: 1, count: 4)",
    ("Sources/ReproRandom/TorchInit.swift", "TorchInit.ones(&scale)"): "var scale = [Float](repeating: 0, count: 4)",
    ("Sources/ReproRandom/TorchInit.swift", "try TorchInit.kaimingNormal(&w, shape: [64, 3, 7, 7], mode: .fanOut, nonlinearity: .relu, using: &g)"): "var w = [Float](repeating: 0, count: 64 * 3 * 7 * 7)",
    ("Sources/ReproRandom/TorchInit.swift", "try TorchInit.xavierUniform(&w, shape: [3, 5], using: &g)"): "var w = [Float](repeating: 0, count: 15)",
    ("Sources/ReproRandom/TorchInit.swift", "try TorchInit.xavierNormal(&w, shape: [3, 5], using: &g)"): "var w = [Float](repeating: 0, count: 15)",
    ("Sources/ReproData/Transforms/ColorJitter.swift", "let t = ColorJitter(brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1)"): CHW,
    ("Sources/ReproData/Transforms/Normalize.swift", "let y = try Normalize.imageNet.apply(x, using: &g)"): CHW,
    ("Sources/ReproData/Transforms/RandomFlip.swift", "let y = try RandomHorizontalFlip().apply(x, using: &g)"): CHW,
    ("Sources/ReproData/Transforms/RandomFlip.swift", "let y = try RandomVerticalFlip(p: 0.2).apply(x, using: &g)"): CHW,
    ("Sources/ReproData/Transforms/RandomResizedCrop.swift", "let t = RandomResizedCrop(size: 224)"): CHW,
    ("Sources/ReproData/Transforms/Resize.swift", "let r = Resize(shorterSide: 256)          // 500×375 → 341×256 (w×h)"): CHW,
    ("Sources/ReproData/Transforms/ImageTransform.swift", "let t = Compose([RandomResizedCrop(size: 224), RandomHorizontalFlip(), Normalize.imageNet])"):
        "let image = try Image(width: 300, height: 260, channels: 3, pixels: [UInt8](repeating: 80, count: 300 * 260 * 3))",
    ("Sources/ReproData/SampleGenerator.swift", "let u = try g.withTorchGenerator { try $0.rand(count: 1)[0] }"): "var g = SampleGenerator(TorchGenerator(seed: UInt64(0)))",
    ("Sources/ReproData/DataLoader.swift", "let shard = try DistributedSampler(count: 1000, worldSize: 4, rank: 1, seed: 7)"): "let ds = InMemoryDataset(Array(0..<1000))",
    ("Sources/ReproData/DataLoader+Iteration.swift", "for try await batch in loader.asyncBatches { print(batch.indices) }"): LOADER,
    ("Sources/ReproData/LoaderProgress.swift", "let watched = loader.reportingProgress { p in"): LOADER,
    ("Sources/ReproData/LoaderProgress.swift", "for result in loader.reportingProgress({ print($0.fraction) }) { _ = try result.get() }"): LOADER,
    ("Sources/ReproData/LoaderState.swift", "let saved = try JSONEncoder().encode(batch.stateAfter)"): LOADER + "\n" + BATCH,
    ("Sources/ReproData/IterableDataset.swift", "var s = try dataset.makeStream(context: StreamContext(seed: 0, epoch: 0))"): "let dataset = Counting()",
    ("Sources/ReproData/IterableDataset.swift", "var g = context.generator            // the stream's own randomness, e.g. a shuffle buffer"): "let context = StreamContext(seed: 0, epoch: 0)",
    ("Sources/ReproData/StreamLoader+Iteration.swift", "for try await batch in loader.asyncBatches { print(batch.indices) }"): STREAM_LOADER,
    ("Sources/ReproData/StreamLoader.swift", "let saved = try JSONEncoder().encode(batch.stateAfter)"): STREAM_LOADER + "\n" + BATCH,
    ("Sources/ReproData/StreamLoader.swift", "let loader = try StreamLoader(dataset: records, batchSize: 32, seed: 7, workers: 4,"): "let records = Counting()\n"
        "@Sendable func decodeAndAugment(_ r: Int, _ g: inout SampleGenerator) -> Int { r }\nfunc save(_ state: StreamLoaderState) {}",
    ("Sources/Repro/RunManifest.swift", "for f in rerun.changedFacts(since: recorded) { print(f.fact, f.recorded, \"→\", f.now) }"):
        'let recorded = try RunManifest(contentsOf: "recorded.manifest.json")\nlet rerun = recorded',
    ("Sources/ReproTensor/FloatingPointEnvironment.swift", "let fp = FloatingPointEnvironment.current"):
        "let x = try Tensor(shape: [2, 2], scalars: [Float]([1, 2, 3, 4]))\nlet w = x",
}
# Examples compiled but not run: they read files the reader has, write into the working
# directory, or build a full-size model (slow in a debug build).
COMPILE_ONLY = {
    ("Sources/ReproImage/Image+Tensor.swift", 'let x = try Image(contentsOfFile: "cat.jpg").rgb().chwUnitFloats()   // 3 * h * w floats'),
    ("Sources/ReproImage/Image.swift", 'let rgb = try Image(contentsOfFile: "logo.png").rgb()'),
    ("Sources/ReproImage/Image.swift", 'let image = try Image(contentsOfFile: "cat.jpg")'),
    ("Sources/ReproImage/ImageDecoder.swift", 'let image = try Image(contentsOfFile: "photo.jpg")'),
    ("Sources/ReproImage/PNGEncoder.swift", "let png = image.pngData()"),
    ("Sources/ReproImage/PNGEncoder.swift", 'try image.writePNG(to: "out.png")'),
    ("Sources/ReproNN/Checkpoint/CheckpointTensor.swift", 'let dict = try StateDict(contentsOf: "weights.pth")'),
    ("Sources/ReproVision/RetinaNet/StateDict+LegacyRetinaNet.swift", "upgradingLegacyRetinaNetKeys()"),
    ("Sources/ReproNN/Checkpoint/StateDict.swift", 'let dict = try StateDict(contentsOf: "retinanet_resnet50_fpn_v2_coco.pth")'),
    ("Sources/ReproNN/Checkpoint/StateDict+TorchSave.swift", 'try dict.writeTorchSave(to: "weights.pth")'),
    ("Sources/ReproNN/Module/Module.swift", 'StateDict(contentsOf: "resnet18.pth")'),
    ("Sources/ReproVision/RetinaNet/RetinaNet.swift", "let model = try RetinaNet(configuration: .v2, seed: 3407)"),
    ("Sources/ReproVision/RetinaNet/RetinaNet.swift", "var model = try RetinaNet(configuration: .v2, seed: 3407)"),
    ("Sources/ReproVision/RetinaNet/RetinaNetConfiguration.swift", "let model = try RetinaNet(configuration: .v2, seed: 3407)"),
    ("Sources/ReproNN/Module/CheckpointTensor+Tensor.swift", 'let w = try Tensor(checkpoint: dict.tensor("conv1.weight"), name: "conv1.weight")'),
    ("Sources/ReproNN/Module/LoadReport.swift", "let report = try model.load(stateDict: dict, strict: false)"),
    ("Sources/ReproVision/ResNet/ResNet.swift", "let logits = try model.classify(x)"),  # ResNet-18 at 224×224
    ("Sources/ReproVision/RetinaNet/RetinaNet.swift", "c.numClasses = 20"),  # full-size RetinaNet v2
    ("Sources/ReproVision/RetinaNet/RetinaNet.swift", 'let (model, report) = try RetinaNet.loading(StateDict(contentsOf: "retinanet_v2.pth"), configuration: .v2)'),
    ("Sources/ReproRandom/TorchGenerator+Permutation.swift", "let p = try g.randperm(214_748_364, as: Int32.self)"),  # 214,748,364 values
    ("Sources/ReproData/Transforms/CHWImage.swift", 'let x = CHWImage(try Image(contentsOfFile: "cat.jpg").rgb())   // values v / 255'),
    ("Sources/ReproData/ImageFolderDataset.swift", 'let ds = try ImageFolderDataset(root: "data/train")'),
    ("Sources/ReproNN/Checkpoint/StateDict+Prefix.swift", 'if let p = dict.sharedKeyPrefix { print("every key starts with", p) }'),
    ("Sources/ReproNN/Checkpoint/StateDict+Prefix.swift", 'let dict = try StateDict(contentsOf: "ddp.pth").strippingPrefix("module.")'),
    ("Sources/ReproNN/Checkpoint/StateDict+FileDigest.swift", 'let dict = try StateDict(contentsOf: "retinanet_v2.pth")'),
    ("Sources/ReproNN/Module/StateDict+Module.swift", "let model = try RetinaNet(configuration: .v2, seed: 3407)"),
    ("Sources/ReproVision/RetinaNet/CheckpointDiagnosis.swift", 'let dict = try StateDict(contentsOf: "finetuned.pth")'),
    ("Sources/Repro/RunManifest.swift", 'let manifest = try RunManifest(contentsOf: "run.manifest.json")'),
    ("Sources/Repro/RunManifest.swift", "for f in rerun.changedFacts(since: recorded) { print(f.fact, f.recorded, \"→\", f.now) }"),
    ("Sources/Repro/RunManifest.swift", 'let digest = try StateDict(contentsOf: "weights.safetensors").canonicalSHA256'),
    ("Sources/ReproNN/Trace/TraceDocument.swift", 'let doc = try TraceDocument(contentsOf: "a.trace.json")'),
    ("Sources/ReproNN/Checkpoint/SafetensorsFile.swift", 'let file = try SafetensorsFile(contentsOf: "run.trace.safetensors")'),
    ("Sources/ReproNN/Trace/TraceTensorWriter.swift", 'let writer = try TraceTensorWriter(path: "run.trace.safetensors")'),
    ("Sources/ReproVision/RetinaNet/RetinaNet+Trace.swift", 'let writer = try TraceTensorWriter(path: "run.trace.safetensors")'),
}
# Examples that end by showing an error (the test expects it to be thrown).
THROWS = {("Sources/ReproRandom/TorchGenerator.swift", 'try TorchGenerator.seed(parsing: "-1")                     // 18446744073709551615')}


# ReproTensor set-ups: small tensors (NCHW unless named NHWC) and, for the kernel examples
# behind `@_spi(Kernels)`, raw buffers freed when the example returns.
def floats(name, shape, value=0.5):
    """`let name = try Tensor(shape: shape, scalars: [Float](...))` with every element `value`."""
    count = 1
    for d in shape:
        count *= d
    return f"let {name} = try Tensor(shape: {list(shape)}, scalars: [Float](repeating: {value}, count: {count}))"


def buffer(name, count, value=0.5):
    """An initialised `UnsafeMutablePointer<Float>` of `count` floats, deallocated on return."""
    return (f"let {name} = UnsafeMutablePointer<Float>.allocate(capacity: {count})\n"
            f"{name}.initialize(repeating: {value}, count: {count})\n"
            f"defer {{ {name}.deallocate() }}")


def lines(*parts):
    return "\n".join(parts)


T = "Sources/ReproTensor/"
X = floats("x", [1, 3, 8, 8])
AB = lines(floats("a", [2, 3]), floats("b", [3, 4]))
T23 = floats("t", [2, 3])
NHWC4 = floats("x", [1, 8, 8, 4])
GN64 = lines(floats("g", [64], 1), floats("b", [64], 0))
GEOMETRY = ("let g = try ConvGeometry(batch: 1, inChannels: 3, height: 8, width: 8, outChannels: 4,\n"
            "                         kernelHeight: 3, kernelWidth: 3, padding: (1, 1))")
# A, B, the residual R and C of the GEMM + residual examples (4 × 3 · 3 × 5).
RESIDUAL_GEMM = lines(buffer("aPtr", 4 * 3), buffer("bPtr", 3 * 5), buffer("rPtr", 4 * 5), buffer("cPtr", 4 * 5, 0))
CONTEXT.update({
    (T + "ChannelAffine.swift", "let bn = try ChannelAffine.frozenBatchNorm("):
        lines(X, floats("g", [3], 1), floats("b", [3], 0), floats("m", [3], 0.25), floats("v", [3], 2)),
    (T + "ChannelAffine.swift", "let y = try x.applying(bn, relu: true)"):
        lines(X, "let bn = try ChannelAffine(scale: [1, 2, 3], shift: [0, -1, 0.5])"),
    (T + "Conv2d+Algorithm.swift", "let conv = try PreparedConv2d(weight: w, padding: (1, 1))"):
        floats("w", [256, 256, 3, 3], 0.01),
    (T + "Conv2d.swift", "let conv = try PreparedConv2d(weight: w, bias: b, stride: (2, 2), padding: (3, 3), relu: true)"):
        lines(floats("w", [8, 3, 7, 7], 0.01), floats("b", [8], 0.1), floats("x", [1, 3, 16, 16])),
    (T + "Conv2d.swift", "let y = try conv.forward(nhwc: x, threads: 2)"):
        lines("let conv = try PreparedConv2d(weight: try Tensor(repeating: Float(0.1), shape: [8, 4, 3, 3]), padding: (1, 1))",
              floats("x", [1, 6, 6, 4])),
    (T + "Conv2d.swift", "let y = try x.conv2d(weight: w, padding: (1, 1))"): lines(X, floats("w", [4, 3, 3, 3], 0.1)),
    (T + "Runtime.swift", "let y = try Runtime.withSettings(s) { try a.matmul(b) }"): AB,
    (T + "Runtime.swift", "let detections = try model.detect(images)"):
        lines(MINI, MINI_IMAGES),
    (T + "Runtime.swift", "let before = Runtime.freshStorageBytes"):
        lines(MINI, MINI_IMAGES),
    (T + "Runtime.swift", "let y = try Runtime.withSettings(RuntimeSettings(threads: 3)) { try x.relu() }"): X,
    (T + "Tensor+Access.swift", "let v: [Float] = try t.scalars()"): T23,
    (T + "Tensor+Access.swift", "let v: Float = try t.scalar(at: [0, 2])"): T23,
    (T + "Tensor+Access.swift", "let sum = try t.withUnsafeBufferPointer(as: Float.self) { $0.reduce(0, +) }"): T23,
    (T + "Tensor+Access.swift", "try t.withUnsafeMutableBufferPointer(as: Float.self) { $0[0] = 1 }"): "var " + T23[len("let "):],
    (T + "Tensor+Access.swift", "let h = t.bitsHash"): T23,
    (T + "Tensor+Conversion.swift", "let f = try image.converted(to: .float32)"):
        "let image = try Tensor(shape: [1, 3, 4, 4], scalars: [UInt8](repeating: 200, count: 48))",
    (T + "Tensor+Elementwise.swift", "let y = try x.relu()"): X,
    (T + "Tensor+Elementwise.swift", "let y = try x.exp()"): X,
    (T + "Tensor+Elementwise.swift", "let y = try x.log()"): X,
    (T + "Tensor+Elementwise.swift", "let p = try logits.sigmoid()"): floats("logits", [2, 5], -1),
    (T + "Tensor+Elementwise.swift", "let s = try a.adding(b)"): lines(floats("a", [2, 3]), floats("b", [2, 3], 1)),
    (T + "Tensor+InPlace.swift", "var y = try conv3.forward(nhwc: h, threads: 2)"):
        lines("let conv3 = try PreparedConv2d(weight: try Tensor(repeating: Float(0.1), shape: [4, 4, 1, 1]))",
              floats("h", [1, 6, 6, 4]), floats("identity", [1, 6, 6, 4], -0.25)),
    (T + "Tensor+InPlace.swift", "try y.add(shortcut, relu: true)"):
        lines("var " + floats("y", [1, 6, 6, 4])[len("let "):], floats("shortcut", [1, 6, 6, 4], -1)),
    (T + "Tensor+InPlace.swift", "try h.formGroupNormNHWC(groups: 32, weight: g, bias: b, relu: true)"):
        lines("var h = try Tensor(shape: [1, 4, 4, 64], scalars: (0..<1024).map { Float($0 % 7) })", GN64),
    (T + "Tensor+Indexing.swift", "let (v, i) = try scores.sortedDescending()"):
        "let scores = try Tensor(shape: [2, 4], scalars: [Float]([0.5, 2, 0.5, -1, 3, 1, 2, 0]))",
    (T + "Tensor+Indexing.swift", "let (scores, idx) = try levelScores.topK(1000)"):
        "let levelScores = try Tensor(shape: [1200], scalars: (0..<1200).map { Float(($0 * 37) % 1200) })",
    (T + "Tensor+Indexing.swift", "let all = try Tensor.concatenate([a, b, c], along: 1)"):
        lines(floats("a", [2, 1]), floats("b", [2, 2]), floats("c", [2, 3])),
    (T + "Tensor+Indexing.swift", "let kept = try boxes.indexSelect(dim: 0, indices: [4, 0, 2])"): floats("boxes", [5, 4]),
    (T + "Tensor+Indexing.swift", "let picked = try scores.gather(dim: 1, index: labels)"):
        lines(floats("scores", [3, 5]), "let labels = try Tensor(shape: [3, 1], scalars: [Int64(4), 0, 2])"),
    (T + "Tensor+Linear.swift", "let c = try a.matmul(b)"): AB,
    (T + "Tensor+NHWC.swift", "let x = try image.nhwcFromNCHW()"):
        lines(floats("image", [1, 3, 16, 16]),
              "let stem = try PreparedConv2d(weight: try Tensor(repeating: Float(0.01), shape: [8, 3, 7, 7]), stride: (2, 2), padding: (3, 3))"),
    (T + "Tensor+NHWC.swift", "let nhwc = try canvas.nhwcFromNCHW()"): floats("canvas", [1, 3, 8, 8]),
    (T + "Tensor+NHWC.swift", "let nchw = try p3.nchwFromNHWC()"): floats("p3", [1, 8, 8, 4]),
    (T + "Tensor+NHWC.swift", "let y = try x.maxPool2dNHWC(kernel: 3, stride: 2, padding: 1)   // ResNet stem"): NHWC4,
    (T + "Tensor+NHWC.swift", "let up = try t5.upsampledNearestNHWC(toHeight: 50, width: 68)"): floats("t5", [1, 25, 34, 2]),
    (T + "Tensor+NHWC.swift", "let y = try x.groupNormNHWC(groups: 32, weight: g, bias: b, eps: 1e-5, relu: true)"):
        lines(floats("x", [1, 4, 4, 64]), GN64),
    (T + "Tensor+Resampling.swift", "let y = try x.maxPool2d(kernel: 3, stride: 2, padding: 1)   // ResNet stem"): X,
    (T + "Tensor+Resampling.swift", "let up = try t5.upsampled(toHeight: 50, width: 68, mode: .nearest)"): floats("t5", [1, 2, 25, 34]),
    (T + "Tensor+Resampling.swift", "let y = try x.groupNorm(groups: 32, weight: g, bias: b, eps: 1e-5, relu: true)"):
        lines(floats("x", [1, 64, 4, 4]), GN64),
    (T + "Tensor+Views.swift", "let m = try t.reshaped([2, -1])"): T23,
    (T + "Tensor+Views.swift", "let nhwc = try nchw.permuted([0, 2, 3, 1])"): floats("nchw", [1, 3, 4, 4]),
    (T + "Tensor+Views.swift", "let firstTwo = try t.sliced(dim: 0, range: 0..<2)"): floats("t", [3, 4]),
    (T + "Tensor+Views.swift", "let c = try t.permuted([1, 0]).contiguous()"): T23,
    (T + "TensorError.swift", "do { _ = try a.matmul(b) } catch { print(error) }"): lines(floats("a", [2, 3]), floats("b", [4, 5])),
    # Four work chunks of 65,536 elements, so the pool can field a team of 4.
    (T + "ThreadPool.swift", "try Runtime.withThreadPool(pool) { try x.relu() }"): floats("x", [1, 4, 256, 256]),
    (T + "ThreadPool.swift", "let y = try Runtime.withThreadPool(pool) { try a.matmul(b) }"): AB,
    (T + "Kernels/Conv2dKernel.swift", "let w = Conv2dKernel.PackedWeights(oihw: wPtr, geometry: g)"):
        lines(GEOMETRY, buffer("wPtr", 4 * 3 * 3 * 3, 0.1), buffer("xPadded", 10 * 10 * 3), buffer("yNHWC", 8 * 8 * 4, 0)),
    (T + "Kernels/Epilogue.swift", "let e = Epilogue(bias: biasPointer, relu: true)"): buffer("biasPointer", 4),
    # 8 MiB and 1 Mi floats: above ParallelMemory.minimumParallelBytes, so the chunked paths run.
    (T + "Kernels/ParallelMemory.swift", "ParallelMemory.copy(from: src, to: dst, byteCount: 8 << 20, threads: 2)"):
        lines(buffer("src", 2 << 20), buffer("dst", 2 << 20, 0), buffer("left", 1 << 20), buffer("right", 1 << 20)),
    (T + "Kernels/GEMM.swift", "GEMM.multiply(m: 4, n: 5, k: 3,"):
        lines(buffer("aPtr", 4 * 3), buffer("bPtr", 3 * 5), buffer("cPtr", 4 * 5, 0)),
    (T + "Kernels/GEMM+Residual.swift", "GEMM.multiply(m: 4, a: .init(aPtr, rowStride: 3), packedB: packed,"):
        lines(RESIDUAL_GEMM, "let packed = GEMM.PackedMatrix(.init(bPtr, rowStride: 5), k: 3, n: 5, threads: 1)"),
    (T + "Kernels/GEMM+Residual.swift", "GEMM.multiply(m: 4, n: 5, k: 3, a: .init(aPtr, rowStride: 3), b: .init(bPtr, rowStride: 5),"):
        RESIDUAL_GEMM,
    (T + "Kernels/GroupNormKernel+NHWC.swift", "GroupNormKernel.forwardNHWC(x, y, batch: 1, spatial: 100 * 136, channels: 256, groups: 32,"):
        lines(buffer("x", 256 * 100 * 136), buffer("y", 256 * 100 * 136, 0), buffer("g", 256, 1), buffer("b", 256, 0)),
    (T + "Kernels/GroupNormKernel.swift", "GroupNormKernel.forward(x, y, batch: 1, channels: 256, spatial: 100 * 136, groups: 32,"):
        lines(buffer("x", 256 * 100 * 136), buffer("y", 256 * 100 * 136, 0), buffer("g", 256, 1), buffer("b", 256, 0)),
    (T + "Kernels/Layout.swift", "Layout.nhwcToNCHW(src, dst, n: 1, c: 256, hw: 100 * 136, threads: 2)"):
        lines(buffer("src", 256 * 100 * 136), buffer("dst", 256 * 100 * 136, 0)),
    (T + "Kernels/PackedMatrix.swift", "let w = GEMM.PackedMatrix(.init(wPtr, rowStride: 1, colStride: k), k: k, n: outChannels, threads: 1)"):
        lines("let (k, outChannels) = (27, 8)", buffer("wPtr", 27 * 8)),
    (T + "Kernels/Resampling+NHWC.swift", "Resampling.maxPool2dNHWC(x, y, batch: 1, height: 400, width: 544, channels: 64,"):
        lines(buffer("x", 400 * 544 * 64), buffer("y", 200 * 272 * 64, 0)),
    (T + "Kernels/Resampling.swift", "Resampling.maxPool2d(x, y, planes: n * c, height: 400, width: 544, kernel: 3, stride: 2, padding: 1, threads: 2)"):
        lines("let (n, c) = (1, 64)", buffer("x", 400 * 544 * 64), buffer("y", 200 * 272 * 64, 0)),
    (T + "Kernels/WinogradKernel.swift", "let w = WinogradKernel.PackedWeights(oihw: wPtr, outChannels: 256, inChannels: 256, variant: .f4x3)"):
        lines("let g = try ConvGeometry(batch: 1, inChannels: 256, height: 8, width: 8, outChannels: 256,\n"
              "                         kernelHeight: 3, kernelWidth: 3, padding: (1, 1))",
              buffer("wPtr", 256 * 256 * 9, 0.01), buffer("x", 256 * 8 * 8), buffer("y", 256 * 8 * 8, 0),
              "let bufferSize = WinogradKernel.paddedSize(g, variant: .f4x3)",
              buffer("buffer", "bufferSize.height * bufferSize.width * bufferSize.channels", 0)),
    # Backward kernels (training).
    (T + "Kernels/Conv2dBackward.swift", "Conv2dBackward.inputGradient(g, outputGradient: dy, weight: w, inputGradient: dx, threads: 2)"):
        lines(GEOMETRY, buffer("dy", 8 * 8 * 4), buffer("w", 4 * 3 * 3 * 3, 0.1), buffer("dx", 8 * 8 * 3, 0),
              buffer("x", 8 * 8 * 3), buffer("dwPerSample", 4 * 3 * 3 * 3, 0)),
    (T + "Kernels/PoolingBackward.swift", "let p = try Pool2dGeometry(batch: 1, height: 4, width: 4, channels: 8, kernel: (2, 2), stride: (2, 2))"):
        lines(buffer("x", 4 * 4 * 8), buffer("y", 2 * 2 * 8, 0), buffer("dy", 2 * 2 * 8), buffer("dx", 4 * 4 * 8, 0),
              "let idx = UnsafeMutablePointer<Int>.allocate(capacity: 2 * 2 * 8)", "defer { idx.deallocate() }"),
    (T + "Kernels/NormalizationTraining.swift", "let stats = try BatchNormKernel.trainingForward(x, y, batch: 4, spatial: 64, channels: 8,"):
        lines(buffer("x", 4 * 64 * 8), buffer("y", 4 * 64 * 8, 0), buffer("g", 8, 1), buffer("b", 8, 0)),
    (T + "Kernels/GroupNormKernel+Training.swift", "GroupNormKernel.trainingForwardNHWC(x, y, batch: 2, spatial: 64, channels: 32, groups: 8, gamma: g, beta: b,"):
        lines(buffer("x", 2 * 64 * 32), buffer("y", 2 * 64 * 32, 0), buffer("g", 32, 1), buffer("b", 32, 0),
              buffer("mean", 16, 0), buffer("rstd", 16, 0)),
})
COMPILE_ONLY |= {
    # Sets the process-wide thread count, which every other test in the process would see.
    (T + "Runtime.swift", "Runtime.threads = 2"),
}
THROWS |= {
    # Deterministic algorithms are on by default, so the gate refuses.
    (T + "Nondeterminism.swift", 'try Nondeterminism.check(op: "matmul", algorithm: "splitK", reason: "partial sums follow the thread count")'),
}


def examples():
    for module in MODULES:
        base = os.path.join(ROOT, "Sources", module)
        for dirpath, _, files in sorted(os.walk(base)):
            for name in sorted(files):
                if not name.endswith(".swift"):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, ROOT)
                lines = open(path, encoding="utf-8").read().split("\n")
                i = 0
                ordinal = 0
                while i < len(lines):
                    m = re.match(r"^(\s*)/// ```swift\s*$", lines[i])
                    if not m:
                        i += 1
                        continue
                    start = i
                    body = []
                    i += 1
                    while i < len(lines) and not re.match(r"^\s*/// ```\s*$", lines[i]):
                        text = re.sub(r"^\s*///", "", lines[i])
                        body.append(text[1:] if text.startswith(" ") else text)
                        i += 1
                    ordinal += 1
                    yield rel, ordinal, start + 1, body
                    i += 1


def identifier(rel, ordinal):
    stem = re.sub(r"[^A-Za-z0-9]", "_", os.path.splitext(rel[len("Sources/"):])[0])
    return f"{stem}_{ordinal}"


def resolve(found):
    """Maps every (path, anchor) key of CONTEXT, COMPILE_ONLY and THROWS to the one example
    (path, ordinal) it names; exits with a message when a key matches none or several."""
    by_path = {}
    for rel, ordinal, _, body in found:
        by_path.setdefault(rel, []).append((ordinal, "\n".join(body)))
    resolved, problems = {}, []
    for table, keys in (("CONTEXT", CONTEXT), ("COMPILE_ONLY", COMPILE_ONLY), ("THROWS", THROWS)):
        for rel, anchor in keys:
            candidates = by_path.get(rel, [])
            hits = [ordinal for ordinal, code in candidates if anchor == code] or \
                [ordinal for ordinal, code in candidates if anchor in code]
            if len(hits) != 1:
                problems.append(f"{table} key ({rel!r}, {anchor!r}) matches {len(hits)} examples, not 1")
            else:
                resolved[(rel, anchor)] = (rel, hits[0])
    if problems:
        sys.exit("extract_doc_examples.py: " + "\n".join(problems))
    return resolved


def generate():
    out = [
        "// Generated by scripts/extract_doc_examples.py from the ```swift examples in the doc",
        "// comments under Sources/. Do not edit: change the doc comment (or the script's CONTEXT)",
        "// and run the script again. DocExamplesTests fails when this file is out of date.",
        "// swiftlint:disable all",
        "import Foundation",
        "import Repro",
        "import _ReproDigest",
        "@_spi(Kernels) import ReproTensor",
        "",
        PRELUDE,
        "",
        "/// One generated example: where it comes from, its code, and whether the tests run it.",
        "struct DocCommentExample: Sendable {",
        "    var location: String",
        "    var code: String",
        "    var runs: Bool",
        "    var throwsError: Bool",
        "    var body: @Sendable () async throws -> Void",
        "}",
        "",
    ]
    found = list(examples())
    resolved = resolve(found)
    context = {resolved[k]: v for k, v in CONTEXT.items()}
    compile_only = {resolved[k] for k in COMPILE_ONLY}
    throws = {resolved[k] for k in THROWS}
    table = []
    for rel, ordinal, _, body in found:
        key = (rel, ordinal)
        location = f"{rel} #{ordinal}"
        name = identifier(rel, ordinal)
        code = "\n".join(body)
        out.append(f"// {location}")
        out.append(f"@Sendable func example_{name}() async throws {{")
        setups = context.get(key, "").split("\n")
        module = rel.split("/")[1]
        if module in DEFAULT_GENERATOR and re.search(r"\bg\b", code) and not re.search(r"\b(var|let) g\b", code):
            setups.insert(0, DEFAULT_GENERATOR[module])
        for setup in setups:
            if setup:
                out.append("    " + setup)
        for b in body:
            out.append(("    " + b) if b else "")
        out.append("}")
        out.append("")
        literal = code.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        table.append(f'    DocCommentExample(location: "{location}", code: "{literal}", runs: {"false" if key in compile_only else "true"}, throwsError: {"true" if key in throws else "false"}, body: example_{name}),')
    out.append("/// Every example, in source order.")
    out.append("let docCommentExamples: [DocCommentExample] = [")
    out.extend(table)
    out.append("]")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    text = generate()
    if "--check" in sys.argv:
        current = open(OUT, encoding="utf-8").read() if os.path.exists(OUT) else ""
        sys.exit(0 if current == text else 1)
    open(OUT, "w", encoding="utf-8").write(text)
