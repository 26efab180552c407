import Foundation
import Repro
import _ReproDigest

/// The two fingerprints `repro demo` compares detections by.
enum DemoDigest {
    /// SHA-256 of the exact bits: per detection the label (Int64, little-endian), the score and the
    /// four box corners (Float bit patterns, little-endian), in output order. Equal only when every
    /// bit of every detection is equal.
    static func bits(_ detections: [Detection]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(detections.count * 28)
        func append<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
        for d in detections {
            append(Int64(d.label))
            for v in [d.score, d.box.x1, d.box.y1, d.box.x2, d.box.y2] { append(v.bitPattern) }
        }
        return SHA256.hash(bytes).hex
    }

    /// The text that both Repro and torchvision produce identically for the same model and image: one
    /// line per detection, `label score x1 y1 x2 y2` with the score rounded to 2 decimals and the box
    /// corners to whole pixels (C's `%d %.2f %.0f %.0f %.0f %.0f` on the float32 value widened to
    /// double: exact value, ties to even, as Python's `%` formatting), lines sorted bytewise, each
    /// followed by a newline.
    ///
    /// Why rounded: two libraries that sum in different orders differ in the last float32 bits
    /// (Repro vs PyTorch on the sample: scores ~1e-7 apart, boxes ~6e-4 px); rounding to a precision
    /// far coarser than that makes the texts equal unless a value sits within that distance of a
    /// rounding boundary, which `scripts/make_demo_reference.py` checks for the pinned case (it
    /// records the margins). Sorting the lines makes near-ties in rank irrelevant.
    static func canonicalText(_ detections: [Detection]) -> String {
        let lines = detections.map { d in
            String(format: "%d %.2f %.0f %.0f %.0f %.0f", d.label, Double(d.score),
                   Double(d.box.x1), Double(d.box.y1), Double(d.box.x2), Double(d.box.y2))
        }
        return lines.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }.map { $0 + "\n" }.joined()
    }

    /// SHA-256 of ``canonicalText(_:)``: the digest `repro demo` compares with torchvision's.
    static func canonical(_ detections: [Detection]) -> String {
        SHA256.hash(Array(canonicalText(detections).utf8)).hex
    }
}

/// The images of `repro demo`, all made from the built-in sample (no files needed); the same three
/// that `scripts/make_demo_reference.py` feeds PyTorch.
enum DemoImages {
    /// The batch of three: the 640×480 sample, the sample mirrored left-right, and a 360×480
    /// portrait crop of it (columns 160..<520). Different aspect ratios make torchvision pad the
    /// batch; Repro gives each image its own canvas.
    static func batch() throws -> [(name: String, image: Image)] {
        let sample = try SampleImage.make()
        return [("sample", sample), ("mirrored", try mirrored(sample)), ("portrait", try crop(sample, columns: 160..<520))]
    }

    static func mirrored(_ image: Image) throws -> Image {
        let w = image.width, c = image.channels
        var px = image.pixels
        for y in 0..<image.height {
            for x in 0..<w {
                for k in 0..<c { px[(y * w + x) * c + k] = image.pixels[(y * w + (w - 1 - x)) * c + k] }
            }
        }
        return try Image(width: w, height: image.height, channels: c, pixels: px)
    }

    static func crop(_ image: Image, columns: Range<Int>) throws -> Image {
        let c = image.channels
        var px: [UInt8] = []
        px.reserveCapacity(columns.count * image.height * c)
        for y in 0..<image.height {
            let row = y * image.width * c
            px.append(contentsOf: image.pixels[(row + columns.lowerBound * c)..<(row + columns.upperBound * c)])
        }
        return try Image(width: columns.count, height: image.height, channels: c, pixels: px)
    }
}

/// What `repro demo` pins from PyTorch (`Tests/Fixtures/demo/demo_reference.json`, written by
/// `scripts/make_demo_reference.py`; the tests check these constants against it). PyTorch's
/// thread and batch behaviour is also recorded in docs/retinanet.md ("PyTorch across threads and
/// batches").
enum DemoReference {
    /// The seed of the seeded steps (the README's, and `repro detect`'s default).
    static let seed = IntegerSeed(3407)
    /// torchvision's ``DemoDigest/canonical(_:)`` on the built-in sample for `torch.manual_seed(3407)` +
    /// `retinanet_resnet50_fpn_v2(weights=None, weights_backbone=None)` (torch 2.13, torchvision 0.28).
    static let torchvisionDigest = "926cda7215a5e389a708dc02ef5e362ce49a48e3936067bf7893d0d0fab484bd"
    /// torchvision's number of detections there.
    static let torchvisionCount = 104

    /// PyTorch's measured behaviour on the same model and images (torch 2.13.0 CPU, AVX-512 kernels;
    /// `pytorch_threads_1_vs_2` and `pytorch_batch_1_vs_3` in the fixture).
    static let pytorchThreads = "not bit-identical (scores move by up to 2.5e-7, boxes by 2.1e-4 px; same 104 detections)"
    /// torchvision pads a batch to its largest height and width (here 1088x1088), which changes every image's result.
    static let pytorchBatch = "every image changes: 104→275, 107→289, 130→243 detections (batch padded to 1088x1088)"
}

/// Step 4 of the demo: `repro doctor`'s view (``CheckpointDiagnosis``) of a model given no
/// checkpoint entry. Every tensor is missing; the diagnosis separates those that keep a random,
/// seed-dependent value from those that start at a constant (norm scales and shifts, running
/// statistics), grouped by module (the first two name components).
struct DemoDoctor: Encodable {
    /// One module group (`backbone.body`, `backbone.fpn`, `head.classification_head`, …).
    struct Group: Encodable {
        var module: String
        var missing: Int
        var random: Int
        var constant: Int
    }

    var groups: [Group]
    var tensors: Int
    var missing: Int
    var randomTensors: Int
    var constantTensors: Int
    var verdict: String

    init(_ d: CheckpointDiagnosis) {
        let random = Set(d.random)
        var order: [String] = []
        var byGroup: [String: Group] = [:]
        for name in d.missing + d.mismatched.map(\.name) {
            let module = name.split(separator: ".").prefix(2).joined(separator: ".")
            if byGroup[module] == nil {
                order.append(module)
                byGroup[module] = Group(module: module, missing: 0, random: 0, constant: 0)
            }
            byGroup[module]!.missing += 1
            if random.contains(name) { byGroup[module]!.random += 1 } else { byGroup[module]!.constant += 1 }
        }
        groups = order.map { byGroup[$0]! }
        tensors = d.expectedCount
        missing = d.missing.count + d.mismatched.count
        randomTensors = d.random.count
        constantTensors = missing - randomTensors
        verdict = d.verdict.rawValue
    }
}
