/// Which of PyTorch's CPU element-wise kernel sets an optimizer step reproduces.
///
/// PyTorch compiles its element-wise kernels once per CPU capability and picks one set when it
/// starts (`torch.backends.cpu.get_cpu_capability()`, forced with `ATEN_CPU_CAPABILITY`). The
/// vectorised sets (AVX2, AVX-512) contract `add_(other, alpha=a)`, `addcmul_` and both branches
/// of `lerp_` into one fused multiply-add per element (tail elements included); `addcdiv_`,
/// `mul_` and divisions never fuse. The `DEFAULT` set never fuses. The two give different last
/// bits, so Repro emulates either one: its result is a function of the inputs and this choice,
/// never of the CPU Repro runs on (a fused step is `addingProduct`, an unfused one two roundings).
///
/// ```swift
/// var sgd = try SGD(parameters: [("w", [3])], options: .init(learningRate: 0.1), arithmetic: .unfused)
/// sgd.arithmetic   // .unfused: what a torch with ATEN_CPU_CAPABILITY=default computes
/// ```
public enum TorchArithmetic: String, Codable, Sendable, CaseIterable {
    /// What torch computes on an AVX2 or AVX-512 CPU (the usual x86-64 case): multiply-adds fused.
    case fused
    /// What torch's `DEFAULT` kernels compute: every product and sum rounded separately.
    case unfused
}

/// A multiply-add with or without the intermediate rounding (chosen statically, so loops specialise).
protocol MultiplyAdd {
    /// `c + a·b`, fused (one rounding) or not (two).
    static func madd(_ a: Float, _ b: Float, _ c: Float) -> Float
}

/// One rounding: `c.addingProduct(a, b)`.
enum FusedMultiplyAdd: MultiplyAdd {
    @inline(__always) static func madd(_ a: Float, _ b: Float, _ c: Float) -> Float { c.addingProduct(a, b) }
}

/// Two roundings: `c + (a·b)`.
enum UnfusedMultiplyAdd: MultiplyAdd {
    @inline(__always) static func madd(_ a: Float, _ b: Float, _ c: Float) -> Float { c + a * b }
}

extension TorchArithmetic {
    /// The static multiply-add type of this kernel set.
    var multiplyAdd: any MultiplyAdd.Type {
        switch self {
        case .fused: return FusedMultiplyAdd.self
        case .unfused: return UnfusedMultiplyAdd.self
        }
    }
}
