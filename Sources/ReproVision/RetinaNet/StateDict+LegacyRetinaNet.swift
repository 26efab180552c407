import ReproNN

extension StateDict {
    /// Renames RetinaNet keys from torchvision's first layout to the current
    /// one, as torchvision does on load for a module whose stored version is
    /// missing or below 2 (this is the legacy-name table):
    ///
    /// - heads (`head.classification_head.`, `head.regression_head.`):
    ///   `conv.{2i}.{weight,bias}` → `conv.{i}.0.{weight,bias}` for i in 0..<4;
    /// - FPN (`backbone.fpn.`): `{inner,layer}_blocks.{i}.{weight,bias}` →
    ///   `{inner,layer}_blocks.{i}.0.{weight,bias}` for i in 0..<`fpnBlocks`.
    ///
    /// Keys of modules stored with version ≥ 2 are left alone; a state dict
    /// without metadata (safetensors) counts as version "missing", like torchvision.
    ///
    /// ```swift
    /// let dict = try StateDict(contentsOf: "retinanet_resnet50_fpn_coco.pth").upgradingLegacyRetinaNetKeys()
    /// ```
    public func upgradingLegacyRetinaNetKeys(fpnBlocks: Int = 3) -> StateDict {
        var renames: [String: String] = [:]
        func legacy(_ module: String) -> Bool { (moduleVersions[module] ?? 0) < 2 }
        for head in ["head.classification_head", "head.regression_head"] where legacy(head) {
            for i in 0..<4 {
                for t in ["weight", "bias"] { renames["\(head).conv.\(2 * i).\(t)"] = "\(head).conv.\(i).0.\(t)" }
            }
        }
        if legacy("backbone.fpn") {
            for block in ["inner_blocks", "layer_blocks"] {
                for i in 0..<fpnBlocks {
                    for t in ["weight", "bias"] { renames["backbone.fpn.\(block).\(i).\(t)"] = "backbone.fpn.\(block).\(i).0.\(t)" }
                }
            }
        }
        let entries = keys.compactMap { k in self[k].map { (renames[k] ?? k, $0) } }
        return StateDict(entries, format: format, moduleVersions: moduleVersions)
    }
}
