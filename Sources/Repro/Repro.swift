// The umbrella module: `import Repro` brings in every Repro module, plus the
// run-level tools (seeding of every owned generator, environment fingerprint).
@_exported import ReproRandom
@_exported import ReproTensor
