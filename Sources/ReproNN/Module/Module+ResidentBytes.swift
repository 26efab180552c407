import ReproTensor

/// The memory a model holds for its weights, as the runtime accounts it
/// (``Module/residentBytes``).
public struct ResidentBytes: Sendable, Equatable {
    /// Bytes of the distinct tensor storages the tree refers to: its parameters and buffers as
    /// loaded or initialised (what ``Module/stateDict`` returns), each storage counted once
    /// however many views or prepared layers share it.
    public var tensors: Int
    /// Bytes of the inference forms built by ``Module/prepare(in:)``: packed convolution weights
    /// (1×1, strided and stem layers; Winograd layers keep none — they transform their raw weights
    /// per call), fused biases and folded norm vectors (``PreparedConv2d/preparedBytes``).
    public var prepared: Int
    /// `tensors + prepared`.
    public var total: Int { tensors + prepared }
}

extension Module {
    /// The bytes this model holds for its weights: every tensor storage once, plus every prepared
    /// form. Activations, the thread pool's workspace and the storage cache are not included.
    ///
    /// Found by reflection over the tree's stored values (private ones included), so a module
    /// needs no code of its own to be counted.
    ///
    /// ```swift
    /// let model = try RetinaNet(configuration: .mini, seed: 0)
    /// let bytes = model.residentBytes
    /// print(bytes.tensors, bytes.prepared)
    /// ```
    public var residentBytes: ResidentBytes {
        var seen: Set<ObjectIdentifier> = []
        var result = ResidentBytes(tensors: 0, prepared: 0)
        func count(_ tensor: Tensor) {
            if seen.insert(tensor.storageIdentity).inserted { result.tensors += tensor.storageBytes }
        }
        func visit(_ value: Any, depth: Int) {
            switch value {
            case let t as Tensor:
                count(t)
            case let conv as PreparedConv2d:
                count(conv.weight)
                result.prepared += conv.preparedBytes
            case let affine as ChannelAffine:
                result.prepared += 4 * (affine.scale.count + affine.shift.count)
            case is [Float], is [Double], is [Int], is [Int64], is [UInt8], is String:
                return  // plain values (sizes, names, anchors): not weights
            default:
                // Structs, enums with payloads, optionals, arrays and existentials hold the tree;
                // nothing in it is nested deeper than a few dozen levels.
                guard depth < 64 else { return }
                for child in Mirror(reflecting: value).children { visit(child.value, depth: depth + 1) }
            }
        }
        visit(self, depth: 0)
        return result
    }
}
