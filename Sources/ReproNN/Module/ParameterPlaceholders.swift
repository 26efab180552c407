import ReproTensor

/// Construction without random initialisation, for a model that a checkpoint then fills
/// completely (`repro detect --weights`): drawing millions of values only to overwrite them costs
/// most of a model's construction time.
///
/// Inside ``building(_:)`` the layer constructors that draw (``Conv2d``, ``Linear``) give their
/// weight and bias ``Tensor/unallocatedZeros(shape:dtype:)`` placeholders (the right shape, one
/// stored element) and draw nothing, and models skip their initialisation passes and their
/// preparation. Such a tree is not a usable model: its only use is a **strict** load, which
/// replaces every parameter and buffer or fails naming the missing keys, and then prepares it.
/// A non-strict load must construct from a seed instead (PyTorch keeps the random initial value of a
/// missing key; a placeholder would silently be zero). The generator passed to the constructors is
/// not advanced.
package enum ParameterPlaceholders {
    /// Whether constructors in this task build placeholders.
    @TaskLocal package static var isActive = false

    /// Runs `body` with ``isActive`` set.
    package static func building<R>(_ body: () throws(ModuleError) -> R) throws(ModuleError) -> R {
        do {
            return try $isActive.withValue(true) { try body() }
        } catch let error as ModuleError {
            throw error
        } catch {
            throw .invalidConfiguration("\(error)")
        }
    }

    /// A placeholder float32 tensor of `shape`.
    package static func tensor(_ shape: [Int]) throws(ModuleError) -> Tensor {
        do { return try Tensor.unallocatedZeros(shape: shape) } catch { throw .tensor(error) }
    }
}
