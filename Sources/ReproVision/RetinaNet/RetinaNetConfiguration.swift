/// The architecture and inference settings of a torchvision-style RetinaNet.
///
/// ```swift
/// let model = try RetinaNet(configuration: .v2, seed: 3407)
/// let small = RetinaNetConfiguration.mini   // the `mini` fixture's narrow layout
/// ```
public struct RetinaNetConfiguration: Sendable, Equatable {
    /// Which torchvision builder the layout follows.
    public enum Style: String, Sendable, Equatable {
        /// `retinanet_resnet50_fpn_v2`: BatchNorm2d body, P6 from C5, GroupNorm head.
        case v2
        /// `retinanet_resnet50_fpn`: P6 from P5, plain head; the body's norms are FrozenBatchNorm2d
        /// layers (the COCO checkpoint's key layout) with ``RetinaNetConfiguration/normEpsilon``.
        case v1
    }

    /// The layout style.
    public var style: Style
    /// Stem output channels (64 in ResNet-50).
    public var stemChannels = 64
    /// Bottleneck widths per stage (64, 128, 256, 512 in ResNet-50).
    public var planes = [64, 128, 256, 512]
    /// Blocks per stage (3, 4, 6, 3 in ResNet-50).
    public var blocks = [3, 4, 6, 3]
    /// Bottleneck expansion.
    public var expansion = 4
    /// FPN and head channels.
    public var fpnChannels = 256
    /// GroupNorm groups in the v2 head.
    public var headGroups = 32
    /// Backbone norm epsilon.
    ///
    /// The rule (torchvision's): 1e-5 for every model built from a seed — v2 and v1 alike, since
    /// `retinanet_resnet50_fpn(weights=None)` builds `nn.BatchNorm2d` (eps 1e-5), which in eval mode
    /// computes what our frozen norm with eps 1e-5 computes — and for a user's checkpoint unless told
    /// otherwise; **0** only for torchvision's official COCO v1 checkpoint, to which torchvision applies
    /// `overwrite_eps(model, 0.0)` when it loads it. Recognise that file with
    /// ``isOfficialCOCOV1Checkpoint(sha256:)`` and set this to 0 before building the model.
    public var normEpsilon: Float = 1e-5
    /// Number of classes including torchvision's background slot.
    public var numClasses = 91
    /// Resize target of the short side.
    public var minSize = 800
    /// Resize bound of the long side.
    public var maxSize = 1333
    /// Per-channel normalisation mean.
    public var imageMean: [Float] = [0.485, 0.456, 0.406]
    /// Per-channel normalisation standard deviation.
    public var imageStd: [Float] = [0.229, 0.224, 0.225]
    /// Canvas size divisor.
    public var sizeDivisor = 32
    /// Candidate score threshold (strict `>`).
    public var scoreThreshold: Float = 0.05
    /// Candidates kept per level before NMS.
    public var topKCandidates = 1000
    /// IoU above which a same-class box is suppressed.
    public var nmsThreshold: Float = 0.5
    /// Detections kept per image.
    public var detectionsPerImage = 300
    /// The first hex digits of the SHA-256 of torchvision's official COCO v1 checkpoint
    /// `retinanet_resnet50_fpn_coco-eeacb38b.pth` (torch hub names carry them and check them the same way).
    public static let officialCOCOV1SHA256Prefix = "eeacb38b"

    /// Whether a checkpoint file is torchvision's official COCO v1 file, whose norms use eps 0:
    /// its SHA-256 (hex) starts with ``officialCOCOV1SHA256Prefix``, as torch hub verifies it.
    ///
    /// ```swift
    /// var c = RetinaNetConfiguration.v1
    /// if RetinaNetConfiguration.isOfficialCOCOV1Checkpoint(sha256: fileHash) { c.normEpsilon = 0 }
    /// ```
    public static func isOfficialCOCOV1Checkpoint(sha256: String) -> Bool {
        sha256.lowercased().hasPrefix(officialCOCOV1SHA256Prefix)
    }

    /// The cls_logits bias given by torchvision's initialisation (prior 0.01).
    public var clsPriorBias: Float = -4.59511985013459

    /// Stage output channels (`planes · expansion`).
    public var stageChannels: [Int] { planes.map { $0 * expansion } }
    /// Input channels of P6: C5's for v2, the FPN width for v1.
    public var p6InputChannels: Int { style == .v2 ? stageChannels[3] : fpnChannels }
    /// True for the narrow fixture bodies (anything that is not ResNet-50's widths): the fixture
    /// recipe builds them by replacing the stages of a standard 1-block ResNet.
    var isNarrow: Bool { planes != [64, 128, 256, 512] || blocks != [3, 4, 6, 3] }

    /// The body's ResNet layout (classifier of 1000 classes, drawn then dropped as torchvision does).
    var bodyConfiguration: ResNetConfiguration {
        var r = ResNetConfiguration(block: .bottleneck, layers: blocks)
        r.planes = planes
        r.stemChannels = stemChannels
        r.expansion = expansion
        r.norm = style == .v1 ? .frozenBatchNorm : .batchNorm
        r.normEpsilon = normEpsilon
        return r
    }

    /// Anchors per location.
    public var anchorsPerLocation: Int { AnchorGenerator.retinaNet.anchorsPerLocation }

    /// Creates a configuration with ResNet-50 widths (norm epsilon 1e-5).
    public init(style: Style) {
        self.style = style
    }

    /// torchvision's `retinanet_resnet50_fpn_v2`.
    public static let v2 = RetinaNetConfiguration(style: .v2)
    /// torchvision's `retinanet_resnet50_fpn` (eps 1e-5; set ``normEpsilon`` to 0 for the official COCO file).
    public static let v1 = RetinaNetConfiguration(style: .v1)

    /// The `mini` fixture layout: planes 16/32/64/128, 2 blocks per stage, 64-channel FPN, sizes 160/256.
    public static let mini: RetinaNetConfiguration = {
        var c = RetinaNetConfiguration(style: .v2)
        c.planes = [16, 32, 64, 128]
        c.blocks = [2, 2, 2, 2]
        c.fpnChannels = 64
        c.minSize = 160
        c.maxSize = 256
        return c
    }()

    /// The `mini_v1` fixture layout (v1 style of ``mini``), whose recipe uses eps 0 like the COCO file.
    public static let miniV1: RetinaNetConfiguration = {
        var c = mini
        c.style = .v1
        c.normEpsilon = 0
        return c
    }()

    /// Checks the settings that would otherwise fail deep inside a layer.
    func validate() throws(RetinaNetError) {
        guard planes.count == 4, blocks.count == 4, blocks.allSatisfy({ $0 >= 1 }), planes.allSatisfy({ $0 > 0 }) else {
            throw .invalidConfiguration("planes and blocks need four positive entries")
        }
        guard stemChannels > 0, expansion > 0, fpnChannels > 0, numClasses > 0 else {
            throw .invalidConfiguration("channel counts must be positive")
        }
        guard style == .v1 || fpnChannels % headGroups == 0 else {
            throw .invalidConfiguration("headGroups \(headGroups) must divide fpnChannels \(fpnChannels)")
        }
        guard minSize > 0, maxSize > 0, sizeDivisor > 0, imageMean.count == 3, imageStd.count == 3 else {
            throw .invalidConfiguration("transform sizes and 3-channel mean/std required")
        }
        guard topKCandidates > 0, detectionsPerImage >= 0 else { throw .invalidConfiguration("top-k and detection limits") }
        guard normEpsilon >= 0, normEpsilon.isFinite else { throw .invalidConfiguration("normEpsilon must be finite and ≥ 0") }
    }
}
