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

The generated file names and locates examples by file and ordinal (`Image.swift #2`), not
by line, so it only goes stale when an example's code changes, appears or disappears.
"""
import os, re, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "DocExamplesTests", "DocCommentExamples.swift")
# The modules whose examples are compiled so far (ReproTensor's examples still need their
# CONTEXT entries).
MODULES = ["Repro", "ReproRandom", "ReproImage", "ReproNN", "ReproVision", "ReproData"]

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
    ("Sources/ReproNN/Module/Module.swift", 'StateDict(contentsOf: "resnet18.pth")'),
    ("Sources/ReproVision/RetinaNet/RetinaNet.swift", "let model = try RetinaNet(configuration: .v2, seed: 3407)"),
    ("Sources/ReproVision/RetinaNet/RetinaNet.swift", "var model = try RetinaNet(configuration: .v2, seed: 3407)"),
    ("Sources/ReproVision/RetinaNet/RetinaNetConfiguration.swift", "let model = try RetinaNet(configuration: .v2, seed: 3407)"),
    ("Sources/ReproNN/Module/CheckpointTensor+Tensor.swift", 'let w = try Tensor(checkpoint: dict.tensor("conv1.weight"), name: "conv1.weight")'),
    ("Sources/ReproNN/Module/LoadReport.swift", "let report = try model.load(stateDict: dict, strict: false)"),
    ("Sources/ReproVision/ResNet/ResNet.swift", "let logits = try model.classify(x)"),  # ResNet-18 at 224×224
    ("Sources/ReproVision/RetinaNet/RetinaNet.swift", "c.numClasses = 20"),  # full-size RetinaNet v2
    ("Sources/ReproRandom/TorchGenerator+Permutation.swift", "let p = try g.randperm(214_748_364, as: Int32.self)"),  # 214,748,364 values
    ("Sources/ReproData/Transforms/CHWImage.swift", 'let x = CHWImage(try Image(contentsOfFile: "cat.jpg").rgb())   // values v / 255'),
    ("Sources/ReproData/ImageFolderDataset.swift", 'let ds = try ImageFolderDataset(root: "data/train")'),
}
# Examples that end by showing an error (the test expects it to be thrown).
THROWS = {("Sources/ReproRandom/TorchGenerator.swift", 'try TorchGenerator.seed(parsing: "-1")                     // 18446744073709551615')}


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
