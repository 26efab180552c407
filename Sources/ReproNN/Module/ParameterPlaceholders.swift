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

    /// Whether ``Conv2d``'s seeded constructor only advances its generator in this task (see
    /// ``discardingConvolutionDraws(_:)``).
    @TaskLocal package static var discardsConvolutionDraws = false

    /// Runs `body` with ``discardsConvolutionDraws`` set: ``Conv2d``'s seeded constructor then
    /// advances the generator exactly as its default initialisation would (`kaiming_uniform_`
    /// and the bias draws, one `random()` word per value) without computing a value, and holds
    /// placeholders. For a builder whose own init loop overwrites every convolution it
    /// constructed (torchvision's ResNet, FPN and RetinaNet head): those values are never seen,
    /// only the generator's position after them is, so skipping them changes no bit. The builder
    /// must replace every placeholder before the model is used (``requireNoPlaceholders(in:)``).
    package static func discardingConvolutionDraws<R>(_ body: () throws(ModuleError) -> R) throws(ModuleError) -> R {
        do {
            return try $discardsConvolutionDraws.withValue(true) { try body() }
        } catch let error as ModuleError {
            throw error
        } catch {
            throw .invalidConfiguration("\(error)")
        }
    }

    /// Throws naming the first parameter of `module` that is still a placeholder: the check a
    /// builder that used ``discardingConvolutionDraws(_:)`` runs once its init loops are done.
    package static func requireNoPlaceholders(in module: inout some Module) throws(ModuleError) {
        _ = try module.visit(with: PlaceholderCheck())
    }

    /// A placeholder float32 tensor of `shape`.
    package static func tensor(_ shape: [Int]) throws(ModuleError) -> Tensor {
        do { return try Tensor.unallocatedZeros(shape: shape) } catch { throw .tensor(error) }
    }
}

/// Fails on the first placeholder (a tensor of more than one element whose strides are all 0).
private struct PlaceholderCheck: ModuleVisitor {
    mutating func visit(_ key: String, _ tensor: inout Tensor, _ info: ParameterInfo) throws(ModuleError) {
        if tensor.count > 1 && tensor.strides.allSatisfy({ $0 == 0 }) {
            throw .invalidConfiguration("\(key) was never initialised (a construction placeholder was left in place)")
        }
    }
}
