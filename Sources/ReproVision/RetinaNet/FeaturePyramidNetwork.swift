import ReproNN
import ReproRandom
import ReproTensor

/// torchvision's attribute names of the FPN modules (each spelled once, here).
enum FPNNames {
    static let p6 = "p6", p7 = "p7", innerBlocks = "inner_blocks", layerBlocks = "layer_blocks", extraBlocks = "extra_blocks"
    static let body = "body", fpn = "fpn"
}

/// torchvision's `LastLevelP6P7`: `p6` (3×3, stride 2) on C5 — or on P5 when its input width equals
/// its output width — and `p7` (3×3, stride 2) on `relu(P6)`.
public struct LastLevelP6P7: Module {
    /// P6 convolution.
    public var p6: Conv2d
    /// P7 convolution.
    public var p7: Conv2d
    /// `true` when P6 reads P5 (input width == output width), `false` for C5.
    public let usesP5: Bool
    private var prepared: [PreparedConv2d] = []

    /// Constructs both convolutions (default draws) and re-initialises them with
    /// `kaiming_uniform_(a=1)` and zero bias, as its constructor does.
    public init(inChannels: Int, outChannels: Int, generator g: inout TorchGenerator) throws(ModuleError) {
        p6 = try Conv2d(inChannels: inChannels, outChannels: outChannels, kernelSize: 3, stride: 2, padding: 1, generator: &g)
        p7 = try Conv2d(inChannels: outChannels, outChannels: outChannels, kernelSize: 3, stride: 2, padding: 1, generator: &g)
        usesP5 = inChannels == outChannels
        try initialiseConvolutions(.kaimingUniformA1, generator: &g)
    }

    /// Visits `p6`, `p7`.
    public mutating func walk<V: ModuleVisitor>(_ walker: inout ModuleWalker<V>) throws(ModuleError) {
        try walker.child(FPNNames.p6, &p6)
        try walker.child(FPNNames.p7, &p7)
    }

    /// Packs both convolutions.
    public mutating func prepare(in scope: ModuleScope) throws(ModuleError) {
        prepared = [try p6.prepared(in: scope.child(FPNNames.p6)), try p7.prepared(in: scope.child(FPNNames.p7))]
    }

    /// P6 and P7 (NHWC) from C5 and P5.
    public func forward(c5: Tensor, p5: Tensor, in scope: ModuleScope) throws(ModuleError) -> (p6: Tensor, p7: Tensor) {
        guard prepared.count == 2 else { throw .notPrepared(path: scope.path) }
        let s6 = scope.child(FPNNames.p6), s7 = scope.child(FPNNames.p7)
        let y6 = try prepared[0].run(usesP5 ? p5 : c5, in: s6)
        s6.report(y6, operation: prepared[0].operationDescription)
        let y7 = try prepared[1].run(try s7.run { () throws(TensorError) in try y6.relu() }, in: s7)
        s7.report(y7, operation: prepared[1].operationDescription + " (on ReLU(p6))")
        return (y6, y7)
    }
}

/// torchvision's `FeaturePyramidNetwork` with a ``LastLevelP6P7``: `inner_blocks.i.0` (1×1 lateral),
/// `layer_blocks.i.0` (3×3 output), `extra_blocks`.
public struct FeaturePyramidNetwork: Module {
    /// Lateral 1×1 convolutions (one `Conv2dNormActivation` each).
    public var innerBlocks: ModuleList<Sequential>
    /// Output 3×3 convolutions.
    public var layerBlocks: ModuleList<Sequential>
    /// P6 and P7.
    public var extraBlocks: LastLevelP6P7

    /// Constructs the blocks (lateral and output block per input level, alternately), runs the FPN's
    /// init loop over them (`kaiming_uniform_(a=1)`, zero bias), then attaches `extraBlocks` —
    /// which torchvision constructs before the FPN, so the caller draws it first.
    public init(inChannels: [Int], outChannels: Int, extraBlocks: LastLevelP6P7, generator g: inout TorchGenerator) throws(ModuleError) {
        var inner: [Sequential] = [], layer: [Sequential] = []
        for c in inChannels {
            inner.append(try .convNormActivation(inChannels: c, outChannels: outChannels, kernelSize: 1, norm: .none, relu: false, generator: &g))
            layer.append(try .convNormActivation(inChannels: outChannels, outChannels: outChannels, kernelSize: 3, norm: .none, relu: false, generator: &g))
        }
        innerBlocks = ModuleList(inner)
        layerBlocks = ModuleList(layer)
        try innerBlocks.initialiseConvolutions(.kaimingUniformA1, generator: &g)
        try layerBlocks.initialiseConvolutions(.kaimingUniformA1, generator: &g)
        self.extraBlocks = extraBlocks
    }

    /// Visits `inner_blocks`, `layer_blocks`, `extra_blocks`.
    public mutating func walk<V: ModuleVisitor>(_ walker: inout ModuleWalker<V>) throws(ModuleError) {
        try walker.child(FPNNames.innerBlocks, &innerBlocks)
        try walker.child(FPNNames.layerBlocks, &layerBlocks)
        try walker.child(FPNNames.extraBlocks, &extraBlocks)
    }

    /// Prepares every block.
    public mutating func prepare(in scope: ModuleScope) throws(ModuleError) {
        try innerBlocks.prepare(in: scope.child(FPNNames.innerBlocks))
        try layerBlocks.prepare(in: scope.child(FPNNames.layerBlocks))
        try extraBlocks.prepare(in: scope.child(FPNNames.extraBlocks))
    }

    /// The pyramid (NHWC) from the body's last three stages: top-down from the coarsest level with
    /// nearest upsampling, then P6/P7.
    public func forward(_ features: [Tensor], in scope: ModuleScope) throws(ModuleError) -> [Tensor] {
        let n = innerBlocks.count
        guard features.count == n, n > 0 else {
            throw .layer(path: scope.path, .invalidArgument(op: "fpn", reason: "expected \(n) feature maps, got \(features.count)"))
        }
        let inner = scope.child(FPNNames.innerBlocks), outer = scope.child(FPNNames.layerBlocks)
        var last = try innerBlocks[n - 1].forward(features[n - 1], in: inner.child(String(n - 1)))
        var ps = [try layerBlocks[n - 1].forward(last, in: outer.child(String(n - 1)))]
        for i in stride(from: n - 2, through: 0, by: -1) {
            var lateral = try innerBlocks[i].forward(features[i], in: inner.child(String(i)))
            let top = last
            try inner.child(String(i)).run { () throws(TensorError) in
                let up = try top.upsampledNearestNHWC(toHeight: lateral.shape[1], width: lateral.shape[2])
                // Observed, `lateral` was just reported and may be held: out of place rather than copied first (same bits).
                if scope.isObserved { lateral = try lateral.adding(up) } else { try lateral.add(up) }
            }
            last = lateral
            ps.insert(try layerBlocks[i].forward(last, in: outer.child(String(i))), at: 0)
        }
        let extra = try extraBlocks.forward(c5: features[n - 1], p5: ps[n - 1], in: scope.child(FPNNames.extraBlocks))
        return ps + [extra.p6, extra.p7]
    }
}

/// torchvision's `BackboneWithFPN` for RetinaNet: `body` (a ResNet without its classifier) and `fpn`.
public struct BackboneWithFPN: Module {
    /// The ResNet body (`conv1` … `layer4`).
    public var body: ResNet
    /// The feature pyramid.
    public var fpn: FeaturePyramidNetwork

    /// Visits `body`, `fpn`.
    public mutating func walk<V: ModuleVisitor>(_ walker: inout ModuleWalker<V>) throws(ModuleError) {
        try walker.child(FPNNames.body, &body)
        try walker.child(FPNNames.fpn, &fpn)
    }

    /// Prepares both.
    public mutating func prepare(in scope: ModuleScope) throws(ModuleError) {
        try body.prepare(in: scope.child(FPNNames.body))
        try fpn.prepare(in: scope.child(FPNNames.fpn))
    }
}
