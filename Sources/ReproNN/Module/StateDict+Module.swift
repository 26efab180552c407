import ReproTensor

extension StateDict {
    /// A module's current parameters and buffers as checkpoint tensors, in PyTorch's
    /// `state_dict()` order, bit for bit — e.g. to save a seeded model with
    /// ``writeSafetensors(to:)``, or to build test checkpoints.
    ///
    /// ```swift
    /// let model = try RetinaNet(configuration: .v2, seed: 3407)
    /// try StateDict(module: model).writeSafetensors(to: "seeded.safetensors")
    /// ```
    ///
    /// - Throws: ``ModuleError/tensor(_:)`` or ``ModuleError/checkpoint(_:)`` if a value cannot be read.
    public init(module: some Module) throws(ModuleError) {
        let values = module.stateDict
        var entries: [(String, CheckpointTensor)] = []
        for spec in module.parameterSpecs {
            guard let t = values[spec.name] else { continue }
            var bytes: [UInt8] = []
            let dtype: CheckpointDType
            do {
                switch t.dtype {
                case .float32:
                    dtype = .float32
                    for v in try t.scalars(as: Float.self) { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 } }
                case .float64:
                    dtype = .float64
                    for v in try t.scalars(as: Double.self) { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 } }
                case .int64:
                    dtype = .int64
                    for v in try t.scalars(as: Int64.self) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
                case .uint8:
                    dtype = .uint8
                    bytes = try t.scalars(as: UInt8.self)
                }
            } catch {
                throw .tensor(error)
            }
            do {
                entries.append((spec.name, try CheckpointTensor(dtype: dtype, shape: t.shape, bytes: bytes, name: spec.name)))
            } catch {
                throw .checkpoint(error)
            }
        }
        self.init(entries)
    }
}
