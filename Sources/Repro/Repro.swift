// The umbrella module: `import Repro` brings in every Repro module, plus the
// run-level tools (seeding of every owned generator, environment fingerprint).
@_exported import ReproRandom
@_exported import ReproTensor
@_exported import ReproImage
@_exported import ReproNN
@_exported import ReproVision
@_exported import ReproData

/// Run-level entry points: the version, ``seed(_:)-(IntegerSeed)`` and the default generators.
///
/// ```swift
/// import Repro
/// let report = Repro.seed(3407)
/// print(report)
/// ```
public enum Repro {
    /// The Repro release this build is (semantic versioning). Part of every
    /// environment fingerprint: bit-identical results are promised for the same
    /// inputs and the same version.
    public static let version = "0.1.0"
}
