// The umbrella module: `import Repro` brings in every Repro module, plus the
// run-level tools (seeding of every owned generator, environment fingerprint).
@_exported import ReproRandom
@_exported import ReproTensor
@_exported import ReproImage
@_exported import ReproNN
@_exported import ReproVision
@_exported import ReproData

/// Run-level seeding: ``seed(_:)-(IntegerSeed)`` and the default generators it resets.
///
/// (Named `Reproducibility`, not `Repro`, so that `Repro.RetinaNet` still names the
/// module's type.)
///
/// ```swift
/// let report = Reproducibility.seed(3407)
/// print(report)
/// ```
public enum Reproducibility {}
