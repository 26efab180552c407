import Repro

/// Objects in the image at `path`, found by torchvision's RetinaNet (v2 layout). The weights are
/// torch.manual_seed(3407)'s random init unless `checkpoint` names a torchvision .pth or .safetensors file.
func detectObjects(inImageAt path: String, checkpoint: String? = nil, minimumScore: Float = 0.5,
                   configuration: RetinaNetConfiguration = .v2) throws -> [Detection] {
    var model = try RetinaNet(configuration: configuration, seed: 3407)
    if let checkpoint { _ = try model.load(stateDict: StateDict(contentsOf: checkpoint)) }
    let image = try Image(contentsOfFile: path)
    return try model.detect([image])[0].filter { $0.score > minimumScore }
}
