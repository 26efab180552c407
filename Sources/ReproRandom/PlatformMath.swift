#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The platform C math library (libm), used **only** by compatibility streams
/// that must reproduce what another library computes through libm.
///
/// Repro's own kernels never call libm: its bits differ between libm versions
/// and vendors (glibc picks FMA variants at run time; Apple's and musl's libm
/// may differ in the last bit). PyTorch's scalar `randn` path (`log1p`, `sin`,
/// `cos`), its float64 block path (`log`, `sin`, `cos`), its non-AVX2 float32
/// block path (`logf`, `sinf`, `cosf`), NumPy's legacy Gaussian (`log`), the
/// ziggurat's rare tail and wedge branches (`log1p`, `exp`) and CPython's
/// `gauss` (`log`, `sin`, `cos`) are specified in terms of libm, so those
/// streams match their library bit for bit only where the libm matches the one
/// the reference vectors were made with (glibc 2.36, x86-64). Every such use
/// goes through this namespace so it can be audited in one place.
public enum PlatformMath {
    /// libm `log` (natural logarithm, double).
    @inlinable public static func log(_ x: Double) -> Double { Glibc_log(x) }
    /// libm `log1p` (double).
    @inlinable public static func log1p(_ x: Double) -> Double { Glibc_log1p(x) }
    /// libm `exp` (double).
    @inlinable public static func exp(_ x: Double) -> Double { Glibc_exp(x) }
    /// libm `sin` (double).
    @inlinable public static func sin(_ x: Double) -> Double { Glibc_sin(x) }
    /// libm `cos` (double).
    @inlinable public static func cos(_ x: Double) -> Double { Glibc_cos(x) }
    /// libm `pow` (double). Python's `x ** y` on floats is this call; PyTorch's
    /// `calculate_gain('leaky_relu', slope)` squares the slope with it, and
    /// glibc's `pow(x, 2)` differs from the correctly rounded `x * x` for
    /// about 1 in 1,300 random slopes.
    @inlinable public static func pow(_ x: Double, _ y: Double) -> Double { Glibc_pow(x, y) }
    /// libm `logf` (single).
    @inlinable public static func logf(_ x: Float) -> Float { Glibc_logf(x) }
    /// libm `sinf` (single).
    @inlinable public static func sinf(_ x: Float) -> Float { Glibc_sinf(x) }
    /// libm `cosf` (single).
    @inlinable public static func cosf(_ x: Float) -> Float { Glibc_cosf(x) }
}

// Thin indirections so the call sites above read unambiguously. These are the C library's functions
// on purpose: the compatibility streams must call exactly what PyTorch, NumPy and CPython call
// (docs/random.md, "What depends on the platform"); repro-lint is told so on each line.
@usableFromInline func Glibc_log(_ x: Double) -> Double { log(x) }  // repro-lint: allow platform-math — compatibility stream: the libm call the reference library makes
@usableFromInline func Glibc_log1p(_ x: Double) -> Double { log1p(x) }  // repro-lint: allow platform-math — compatibility stream: the libm call the reference library makes
@usableFromInline func Glibc_exp(_ x: Double) -> Double { exp(x) }  // repro-lint: allow platform-math — compatibility stream: the libm call the reference library makes
@usableFromInline func Glibc_sin(_ x: Double) -> Double { sin(x) }  // repro-lint: allow platform-math — compatibility stream: the libm call the reference library makes
@usableFromInline func Glibc_cos(_ x: Double) -> Double { cos(x) }  // repro-lint: allow platform-math — compatibility stream: the libm call the reference library makes
// Not optimised: LLVM rewrites `pow(x, 2.0)` as `x * x` when it sees the
// constant, which would make release builds differ from debug builds (and from
// Python) whenever glibc's pow is not correctly rounded.
@usableFromInline @_optimize(none) @inline(never)
func Glibc_pow(_ x: Double, _ y: Double) -> Double { pow(x, y) }  // repro-lint: allow platform-math — compatibility stream: the libm call the reference library makes
@usableFromInline func Glibc_logf(_ x: Float) -> Float { logf(x) }  // repro-lint: allow platform-math — compatibility stream: the libm call the reference library makes
@usableFromInline func Glibc_sinf(_ x: Float) -> Float { sinf(x) }  // repro-lint: allow platform-math — compatibility stream: the libm call the reference library makes
@usableFromInline func Glibc_cosf(_ x: Float) -> Float { cosf(x) }  // repro-lint: allow platform-math — compatibility stream: the libm call the reference library makes
