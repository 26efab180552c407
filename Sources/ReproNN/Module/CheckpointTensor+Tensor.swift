import ReproTensor

extension Tensor {
    /// Converts a checkpoint tensor into a ``Tensor`` without changing any bit.
    ///
    /// A float32 tensor is copied once, straight from the checkpoint's bytes (a memory-mapped
    /// file's pages) into the new tensor's storage; `float16` and `bfloat16` become float32 by
    /// exact widening (``HalfPrecision``); integer and bool dtypes become int64. `float64` is
    /// refused rather than silently rounded.
    ///
    /// ```swift
    /// let w = try Tensor(checkpoint: dict.tensor("conv1.weight"), name: "conv1.weight")
    /// ```
    /// - Throws: ``ModuleError/unsupportedDType(key:dtype:)`` or ``ModuleError/tensor(_:)``.
    public init(checkpoint: CheckpointTensor, name: String = "") throws(ModuleError) {
        do {
            switch checkpoint.dtype {
            case .float32:
                self = try Tensor(copyingFloat32: checkpoint)
            case .float16, .bfloat16:
                self = try Tensor(shape: checkpoint.shape, scalars: try checkpoint.floats(name: name))
            case .int64, .int32, .int16, .int8, .uint8, .bool:
                self = try Tensor(shape: checkpoint.shape, scalars: try checkpoint.integers(name: name))
            case .float64:
                throw ModuleError.unsupportedDType(key: name, dtype: checkpoint.dtype.rawValue)
            }
        } catch let e as ModuleError {
            throw e
        } catch let e as TensorError {
            throw .tensor(e)
        } catch let e as CheckpointError {
            throw .checkpoint(e)
        } catch {
            throw .invalidConfiguration("\(name): \(error)")
        }
    }
}

extension Tensor {
    /// A float32 tensor holding a float32 checkpoint tensor's elements: one copy from the
    /// checkpoint's bytes into the new storage (little-endian bytes are the values on a
    /// little-endian host; elsewhere each element is converted from little-endian).
    init(copyingFloat32 checkpoint: CheckpointTensor) throws(TensorError) {
        self = try Tensor(unsafeUninitializedShape: checkpoint.shape, dtype: .float32) { dst in
            checkpoint.withUnsafeBytes { src in
                #if _endian(little)
                if src.count > 0 { dst.copyMemory(from: src) }
                #else
                for i in 0..<(src.count / 4) {
                    let v = UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
                    dst.storeBytes(of: Float(bitPattern: v), toByteOffset: 4 * i, as: Float.self)
                }
                #endif
            }
        }
    }
}
