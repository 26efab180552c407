#!/usr/bin/env python3
"""Writes Tests/DocExamplesTests/DocCommentExamples.swift: every ```swift example in a `///`
doc comment under Sources/ becomes the body of its own function, so `swift build --build-tests`
compiles each one and DocExamplesTests runs the ones that need no outside files.

Usage: scripts/extract_doc_examples.py [--check]
  --check  exit 1 if the generated file is out of date (DocExamplesTests checks the same).

An example that needs surrounding values gets them from CONTEXT below (keyed by
"path:line" of its ```swift line): the doc comment shows the essential lines, the test
adds the setup. Examples listed in COMPILE_ONLY are compiled but not run (they read files
a reader has, such as photo.jpg, or build full-size models).
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
DICT = 'let dict = try StateDict(contentsOf: "weights.pth")'


# Setup code for examples that use values defined outside them.
CONTEXT = {
    "Sources/ReproImage/Image+Drawing.swift:71": IMAGE,
    "Sources/ReproImage/Image+Drawing.swift:84": IMAGE,
    "Sources/ReproImage/Image+Drawing.swift:99": IMAGE,
    "Sources/ReproImage/Image+Drawing.swift:122": IMAGE,
    "Sources/ReproImage/Image+Drawing.swift:139": IMAGE,
    "Sources/ReproImage/Image.swift:112": IMAGE,
    "Sources/ReproImage/PNGEncoder.swift:11": IMAGE,
    "Sources/ReproImage/PNGEncoder.swift:72": IMAGE,
    "Sources/ReproImage/Image+Orientation.swift:6": BYTES,
    "Sources/ReproImage/ImageDecoder.swift:13": BYTES,
    "Sources/ReproImage/ImageDecoder.swift:62": BYTES,
    "Sources/ReproImage/ImageDecoder.swift:99": BYTES,
    "Sources/ReproImage/ImageError.swift:7": BYTES,
    "Sources/ReproImage/Image+Tensor.swift:10": "let (w, h) = (4, 3)\nlet pixels = [UInt8](repeating: 9, count: w * h * 3)",
    "Sources/ReproNN/Module/CheckpointTensor+Tensor.swift:10": DICT,
    "Sources/ReproNN/Module/LoadReport.swift:29": "var model = try RetinaNet(configuration: .mini, seed: 0)\n" + DICT,
    "Sources/ReproNN/Module/Module.swift:37": DICT,
    "Sources/ReproVision/Detection/NonMaximumSuppression.swift:17":
        "let boxes = [BoundingBox(x1: 0, y1: 0, x2: 10, y2: 10), BoundingBox(x1: 1, y1: 1, x2: 10, y2: 10)]\n"
        "let scores: [Float] = [0.9, 0.8]\nlet labels = [1, 1]",
    "Sources/ReproVision/RetinaNet/Detection.swift:3":
        "let detections = [Detection(box: BoundingBox(x1: 0, y1: 0, x2: 4, y2: 4), score: 0.9, label: 18)]",
    "Sources/ReproVision/RetinaNet/RetinaNet+Profile.swift:14": MINI + "\n" + IMAGE,
    "Sources/ReproVision/RetinaNet/RetinaNet+Profile.swift:42": MINI + "\n" + IMAGE,
    "Sources/ReproRandom/TorchGenerator+State.swift:59": SAVED,
    "Sources/ReproRandom/TorchGenerator+State.swift:105": SAVED,
    "Sources/ReproRandom/TorchInit.swift:200": "var bias = [Float](repeating: 0, count: 4)",
    "Sources/ReproRandom/TorchInit.swift:209": "var bias = [Float](repeating: 1, count: 4)",
    "Sources/ReproRandom/TorchInit.swift:216": "var scale = [Float](repeating: 0, count: 4)",
    "Sources/ReproRandom/TorchInit.swift:245": "var w = [Float](repeating: 0, count: 64 * 3 * 7 * 7)",
    "Sources/ReproRandom/TorchInit.swift:263": "var w = [Float](repeating: 0, count: 15)",
    "Sources/ReproRandom/TorchInit.swift:279": "var w = [Float](repeating: 0, count: 15)",
    "Sources/ReproData/Transforms/ColorJitter.swift:9": CHW,
    "Sources/ReproData/Transforms/Normalize.swift:4": CHW,
    "Sources/ReproData/Transforms/RandomFlip.swift:4": CHW,
    "Sources/ReproData/Transforms/RandomFlip.swift:23": CHW,
    "Sources/ReproData/Transforms/RandomResizedCrop.swift:14": CHW,
    "Sources/ReproData/Transforms/Resize.swift:9": CHW,
    "Sources/ReproData/Transforms/ImageTransform.swift:4":
        "let image = try Image(width: 300, height: 260, channels: 3, pixels: [UInt8](repeating: 80, count: 300 * 260 * 3))",
    "Sources/ReproData/SampleGenerator.swift:52": "var g = SampleGenerator(TorchGenerator(seed: UInt64(0)))",
    "Sources/ReproData/DataLoader.swift:79": "let ds = InMemoryDataset(Array(0..<1000))",
    "Sources/ReproData/DataLoader+Iteration.swift:102": LOADER,
    "Sources/ReproData/LoaderProgress.swift:3": LOADER,
    "Sources/ReproData/LoaderProgress.swift:28": LOADER,
    "Sources/ReproData/LoaderState.swift:4": LOADER + "\n" + BATCH,
    "Sources/ReproData/IterableDataset.swift:43": "let dataset = Counting()",
    "Sources/ReproData/IterableDataset.swift:73": "let context = StreamContext(seed: 0, epoch: 0)",
    "Sources/ReproData/StreamLoader+Iteration.swift:167": STREAM_LOADER,
    "Sources/ReproData/StreamLoader.swift:137": STREAM_LOADER + "\n" + BATCH,
    "Sources/ReproData/StreamLoader.swift:19": "let records = Counting()\n"
        "@Sendable func decodeAndAugment(_ r: Int, _ g: inout SampleGenerator) -> Int { r }\nfunc save(_ state: StreamLoaderState) {}",
}
# Examples compiled but not run: they read files the reader has, write into the working
# directory, or build a full-size model (slow in a debug build).
COMPILE_ONLY = {
    "Sources/ReproImage/Image+Tensor.swift:40", "Sources/ReproImage/Image.swift:70", "Sources/ReproImage/Image.swift:9",
    "Sources/ReproImage/ImageDecoder.swift:108", "Sources/ReproImage/PNGEncoder.swift:11",
    "Sources/ReproImage/PNGEncoder.swift:72", "Sources/ReproNN/Checkpoint/CheckpointTensor.swift:76",
    "Sources/ReproNN/Checkpoint/StateDict+Legacy.swift:14", "Sources/ReproNN/Checkpoint/StateDict.swift:12",
    "Sources/ReproNN/Module/Module.swift:10", "Sources/ReproVision/RetinaNet/RetinaNet+TorchInit.swift:17",
    "Sources/ReproVision/RetinaNet/RetinaNet.swift:13", "Sources/ReproVision/RetinaNet/RetinaNetConfiguration.swift:3",
    "Sources/ReproNN/Module/CheckpointTensor+Tensor.swift:10", "Sources/ReproNN/Module/LoadReport.swift:29",
    "Sources/ReproNN/Module/Module.swift:37",
    "Sources/ReproRandom/TorchGenerator+Permutation.swift:28",  # 214,748,364 values
    "Sources/ReproData/Transforms/CHWImage.swift:5", "Sources/ReproData/ImageFolderDataset.swift:25",
}
# Examples that end by showing an error (the test expects it to be thrown).
THROWS = {"Sources/ReproRandom/TorchGenerator.swift:135"}
# Examples that are not Swift statements (left out, with the reason).
SKIP = {}


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
                    yield rel, start + 1, body
                    i += 1


def identifier(rel, line):
    stem = re.sub(r"[^A-Za-z0-9]", "_", os.path.splitext(rel[len("Sources/"):])[0])
    return f"{stem}_{line}"


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
    table = []
    for rel, line, body in examples():
        key = f"{rel}:{line}"
        if key in SKIP:
            continue
        name = identifier(rel, line)
        code = "\n".join(body)
        out.append(f"// {key}")
        out.append(f"@Sendable func example_{name}() async throws {{")
        setups = CONTEXT.get(key, "").split("\n")
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
        table.append(f'    DocCommentExample(location: "{key}", code: "{literal}", runs: {"false" if key in COMPILE_ONLY else "true"}, throwsError: {"true" if key in THROWS else "false"}, body: example_{name}),')
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
