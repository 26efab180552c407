import ReproTensor

/// A node of a model tree: a layer or a composite that owns its parameters, buffers and children
/// under PyTorch's names.
///
/// A module describes itself once, in ``walk(_:)``: it hands every parameter and buffer to the
/// walker under its own name (`weight`, `running_mean`, …) and every child under its attribute
/// name (`layer1`, `0`, `downsample`, …), in the order PyTorch registers them. That one walk
/// yields the `state_dict()` key list (``parameterSpecs``), the current values (``stateDict``),
/// loading (``load(stateDict:strict:)``) and the re-initialisation passes that PyTorch runs over
/// `modules()`. ``prepare(in:)`` builds the inference form (folded norms, packed weights) from the
/// current values; it runs after construction and after every load.
///
/// ```swift
/// var model = try ResNet(configuration: .resnet18, generator: &g)
/// let keys = model.parameterSpecs.map(\.name)         // "conv1.weight", "bn1.weight", …
/// let report = try model.load(stateDict: StateDict(contentsOf: "resnet18.pth"))
/// ```
public protocol Module: Sendable {
    /// Hands every parameter, buffer and child to `walker`, in PyTorch's registration order.
    mutating func walk<V: ModuleVisitor>(_ walker: inout ModuleWalker<V>) throws(ModuleError)
    /// Rebuilds the inference form of this module and its children from the current values.
    ///
    /// - Parameter scope: where this module sits in the tree (used to name failures).
    mutating func prepare(in scope: ModuleScope) throws(ModuleError)
    /// Replaces parameters from a checkpoint, then prepares the module again.
    ///
    /// The default implementation is ``replaceParameters(from:strict:)`` followed by
    /// ``prepare(in:)``, on a copy: nothing changes unless both succeed.
    ///
    /// - Parameter strict: when `true` any missing, unexpected or shape-mismatched key is an
    ///   error; when `false` only shape mismatches are, and missing keys keep their values.
    /// - Returns: what was loaded, missing, unexpected and ignored.
    mutating func load(stateDict: StateDict, strict: Bool) throws(ModuleError) -> LoadReport
}

/// What a ``ModuleWalker`` tells a visitor about a parameter or buffer.
public struct ParameterInfo: Sendable, Hashable {
    /// The name inside its layer (`weight`, `bias`, `running_mean`, …).
    public var name: String
    /// `true` for buffers (running statistics, counters), `false` for learnable parameters.
    public var isBuffer: Bool
    /// The kind of layer that owns it (what PyTorch's `isinstance` checks in init loops look at).
    public var layer: LayerKind

    /// Creates the description.
    public init(name: String, isBuffer: Bool, layer: LayerKind) {
        self.name = name
        self.isBuffer = isBuffer
        self.layer = layer
    }
}

/// The layer types that own tensors.
public enum LayerKind: String, Sendable, Hashable, CaseIterable {
    /// ``Conv2d``.
    case conv2d
    /// ``BatchNorm2d``.
    case batchNorm2d
    /// ``FrozenBatchNorm2d``.
    case frozenBatchNorm2d
    /// ``GroupNorm``.
    case groupNorm
    /// ``Linear``.
    case linear
}

/// Receives the tensors of a module tree, one at a time, with their full state-dict keys.
///
/// ```swift
/// struct Counter: ModuleVisitor {
///     var total = 0
///     mutating func visit(_ key: String, _ tensor: inout Tensor, _ info: ParameterInfo) { total += tensor.count }
/// }
/// ```
public protocol ModuleVisitor {
    /// Called for each parameter and buffer; the visitor may replace `tensor`.
    mutating func visit(_ key: String, _ tensor: inout Tensor, _ info: ParameterInfo) throws(ModuleError)
    /// Called for a checkpoint key the module drops on load on purpose (e.g. `num_batches_tracked`
    /// of a frozen norm, as its `_load_from_state_dict` does).
    mutating func ignore(_ key: String)
}

extension ModuleVisitor {
    /// Ignored keys are of no interest to most visitors.
    public mutating func ignore(_ key: String) {}
}

/// Carries a visitor through a module tree and keeps the dotted path of the current module.
///
/// ```swift
/// struct Probe: Module {   // a child convolution and a parameter of its own
///     var conv1: Conv2d
///     var weight: Tensor
///
///     mutating func walk<V: ModuleVisitor>(_ walker: inout ModuleWalker<V>) throws(ModuleError) {
///         try walker.child("conv1", &conv1)
///         try walker.parameter("weight", &weight, layer: .linear)
///     }
///
///     mutating func prepare(in scope: ModuleScope) throws(ModuleError) { try conv1.prepare(in: scope.child("conv1")) }
/// }
/// ```
public struct ModuleWalker<Visitor: ModuleVisitor> {
    /// The visitor (read it back after the walk).
    public var visitor: Visitor
    /// The dotted path of the module being walked (`""` at the root).
    public private(set) var path: String

    /// A walker starting at the root, or at `path` for a subtree.
    public init(_ visitor: Visitor, path: String = "") {
        self.visitor = visitor
        self.path = path
    }

    /// The full key of `name` in the current module.
    public func key(_ name: String) -> String { path.isEmpty ? name : path + "." + name }

    /// Visits one parameter (`buffer: false`) or buffer of the current module.
    public mutating func parameter(
        _ name: String, _ tensor: inout Tensor, buffer: Bool = false, layer: LayerKind
    ) throws(ModuleError) {
        try visitor.visit(key(name), &tensor, ParameterInfo(name: name, isBuffer: buffer, layer: layer))
    }

    /// Declares a checkpoint key of the current module that loading drops on purpose.
    public mutating func ignore(_ name: String) { visitor.ignore(key(name)) }

    /// Walks a child module under its attribute name.
    public mutating func child<M: Module>(_ name: String, _ module: inout M) throws(ModuleError) {
        try child(name) { (w: inout Self) throws(ModuleError) in try module.walk(&w) }
    }

    /// Walks an optional child (PyTorch's `None` attribute: nothing is visited).
    public mutating func child<M: Module>(_ name: String, _ module: inout M?) throws(ModuleError) {
        guard var m = module else { return }
        try child(name, &m)
        module = m
    }

    /// Runs `body` with the path extended by `name` (for containers of existential layers).
    public mutating func child(_ name: String, _ body: (inout Self) throws(ModuleError) -> Void) throws(ModuleError) {
        let saved = path
        path = key(name)
        defer { path = saved }
        try body(&self)
    }
}

/// Where a module sits in its tree during ``Module/prepare(in:)`` and a forward pass, and who
/// observes its outputs: the per-module hook that tracing and gradient recording attach to.
///
/// ```swift
/// var seen: [String] = []
/// let scope = ModuleScope(observer: { path, output in seen.append("\(path) \(output.shape)") })
/// let logits = try model.forward(x, in: scope)
/// ```
///
/// A scope can also carry an ``operationObserver`` (which is told the operation and the algorithm
/// that produced each output, see ``TraceRecorder``) and, at preparation, ``algorithmOverrides``
/// that force a convolution algorithm on named modules.
public struct ModuleScope {
    /// The dotted module path (`""` at the root).
    public let path: String
    /// Called with a module's path and its output after the module ran (`nil`: no hook).
    public let observer: ModuleObserver?
    /// Called with a module's path, its output and a description of the operation that ran
    /// (`nil`: no hook; the description is then never built).
    public let operationObserver: ModuleOperationObserver?
    /// Convolution algorithms forced at ``Module/prepare(in:)``, keyed by the convolution's dotted
    /// path (e.g. `backbone.fpn.layer_blocks.0.0`); other convolutions keep the shape rule.
    public let algorithmOverrides: [String: PreparedConv2d.Algorithm]

    /// A root scope with optional hooks and algorithm overrides.
    public init(path: String = "", observer: ModuleObserver? = nil, operationObserver: ModuleOperationObserver? = nil,
                algorithmOverrides: [String: PreparedConv2d.Algorithm] = [:]) {
        self.path = path
        self.observer = observer
        self.operationObserver = operationObserver
        self.algorithmOverrides = algorithmOverrides
    }

    /// The root scope without an observer.
    public static var root: ModuleScope { ModuleScope() }

    /// The scope of a child module.
    public func child(_ name: String) -> ModuleScope {
        ModuleScope(path: path.isEmpty ? name : path + "." + name, observer: observer,
                    operationObserver: operationObserver, algorithmOverrides: algorithmOverrides)
    }

    /// Reports this module's output to the observers (if any); `operation` is evaluated only when
    /// an ``operationObserver`` is installed, so an unobserved pass builds no string.
    public func report(_ output: Tensor, operation: @autoclosure () -> String) {
        observer?(path, output)
        operationObserver?(path, output, operation)
    }

    /// Whether an observer watches this scope: a module may then skip work whose only effect is
    /// an intermediate value nobody sees (a held-back normalisation), never changing its output.
    package var isObserved: Bool { observer != nil || operationObserver != nil }

    /// Reports this module's output to the observers (if any) without naming the operation.
    public func report(_ output: Tensor) { report(output, operation: "") }

    /// Runs a tensor operation and names this module in its failure.
    public func run<R>(_ body: () throws(TensorError) -> R) throws(ModuleError) -> R {
        do { return try body() } catch { throw .layer(path: path, error) }
    }
}

/// The per-module hook: called with the module's dotted path and its output.
public typealias ModuleObserver = (_ path: String, _ output: Tensor) -> Void

/// The per-module hook that also learns what ran: the module's dotted path, its output, and a
/// closure that describes the operation and algorithm (e.g. `Conv2d 3x3 256->256, winograd F(4x4,3x3)`);
/// call it only if the description is needed.
public typealias ModuleOperationObserver = (_ path: String, _ output: Tensor, _ operation: () -> String) -> Void

/// A module with a forward pass.
///
/// Image layers compute on channels-last activations `[N, H, W, C]` (the layout the kernels
/// use, so no transposition happens between layers); ``Linear`` on `[N, F]`.
public protocol Layer: Module {
    /// Computes the output; `scope` names the module in failures and carries the hook.
    func forward(_ input: Tensor, in scope: ModuleScope) throws(ModuleError) -> Tensor
}

extension Layer {
    /// Runs the layer at the root scope without a hook.
    public func callAsFunction(_ input: Tensor) throws(ModuleError) -> Tensor {
        try forward(input, in: .root)
    }
}
