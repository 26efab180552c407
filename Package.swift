// swift-tools-version: 6.2
// Tools version 6.2: SwiftPM accepts `unsafeFlags` (the ISA flags below) in a
// package that another package depends on by version only from 6.2 on, so a
// user can depend on Repro from their own package.

import PackageDescription

// MARK: - Build switches
//
// Determinism contract (docs/architecture.md): no fast-math, ever. None of the
// flags below enables it; Swift never contracts `a * b + c` into a fused
// multiply-add, so every FMA in Repro is written explicitly with
// `addingProduct`, and debug and release builds compute the same bits.
//
// On x86-64 the numeric targets are compiled with AVX2 + FMA code generation.
// Without it every `SIMD8<Float>.addingProduct` lowers to eight calls of
// `fmaf` (same bits, ~150x slower). The manifest is evaluated on the host, so
// this picks the host architecture; arm64 needs no flags (NEON FMA is native).
//
// `REPRO_NO_ISA_FLAGS=1` in the environment of `swift build` drops the flags
// on x86-64 too. It exists only for `scripts/check_build_invariance.sh`, which
// proves that the baseline build computes the same bits (slowly).
#if arch(x86_64)
let numericSettings: [SwiftSetting] =
    Context.environment["REPRO_NO_ISA_FLAGS"] == "1"
    ? []
    : [.unsafeFlags(["-Xcc", "-mavx2", "-Xcc", "-mfma"])]
#else
let numericSettings: [SwiftSetting] = []
#endif

// Every target is built in the Swift 6 language mode (strict concurrency).
let commonSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "Repro",
    platforms: [.macOS(.v15)],  // macOS 15: `Synchronization.Atomic` (ThreadPool spin)
    products: [
        // The umbrella library: `import Repro` re-exports every module.
        .library(name: "Repro", targets: ["Repro"]),
        // Generators alone, for users who only need library-compatible streams.
        .library(name: "ReproRandom", targets: ["ReproRandom"]),
        // Tensors, runtime configuration and the deterministic CPU kernels.
        .library(name: "ReproTensor", targets: ["ReproTensor"]),
        // PNG/JPEG decoding (bit-identical to Pillow) and PNG encoding alone.
        .library(name: "ReproImage", targets: ["ReproImage"]),
        // The command-line tool.
        .executable(name: "repro", targets: ["repro"]),
        // The determinism linter (swift-syntax): a product of its own, so that library users never build swift-syntax.
        .executable(name: "repro-lint", targets: ["repro-lint"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // Documentation only: `swift package generate-documentation` (DocC catalogs in
        // Sources/<Module>/<Module>.docc). A command plugin, never linked into a product.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
        // Only `repro-lint` (and its tests) depend on it: parsing Swift source for the determinism rules.
        .package(url: "https://github.com/swiftlang/swift-syntax", from: "603.0.1"),
    ],
    targets: [
        // MARK: Implementation details (underscored: not API)
        // SHA-256 compression on the x86 SHA extensions (C, per-function
        // `target` attributes, no unsafe flags); an empty stub on other CPUs.
        .target(name: "_ReproDigestAccel"),
        // NH chunk sums of the `repro-nh-v1` trace digest (C with AVX2/AVX-512
        // paths chosen at run time; integer sums, identical on every path).
        .target(name: "_ReproTraceAccel"),
        // Prefetch hints for the tensor kernels (inline C: Swift has no prefetch
        // instruction); they change timing, never a value.
        .target(name: "_ReproKernelHints"),
        // AVX-512F GEMM tiles for ReproTensor (C, per-function `target` attributes, no
        // unsafe flags), chosen at run time by CPUID + XCR0; a stub on other CPUs.
        // Same bits as the Swift kernels (docs/architecture.md, "The contract").
        .target(name: "_ReproKernelsAVX512"),
        // Embeds the source commit in `Repro` at build time (`ReproBuild.commit`, `repro env`):
        // a prebuild command runs git before every build (works from a clean clone and in CI).
        .plugin(name: "BuildInfoPlugin", capability: .buildTool()),

        // SHA-256 used for fingerprints of tensors, images, weights and manifests;
        // picks `_ReproDigestAccel` at run time when the CPU has SHA-NI.
        .target(
            name: "_ReproDigest",
            dependencies: ["_ReproDigestAccel"],
            swiftSettings: commonSettings
        ),

        // MARK: Modules (one-way dependencies; see docs/architecture.md)
        // Depends only on the underscored `_ReproDigest` (SHA-512 for CPython's
        // string seeding), never on another Repro module.
        .target(
            name: "ReproRandom",
            dependencies: ["_ReproDigest"],
            swiftSettings: commonSettings + numericSettings
        ),
        // PNG/JPEG decoding bit-identical to Pillow, PNG encoding, overlay drawing.
        .target(
            name: "ReproImage",
            dependencies: ["_ReproDigest"],
            // Integer-only SIMD (IDCT, colour conversion): AVX2 changes speed, never bits.
            swiftSettings: commonSettings + numericSettings
        ),
        .target(
            name: "ReproTensor",
            dependencies: ["_ReproDigest", "_ReproKernelHints", "_ReproKernelsAVX512"],
            swiftSettings: commonSettings + numericSettings
        ),
        .target(
            name: "ReproNN",
            dependencies: ["ReproTensor", "ReproRandom", "_ReproDigest", "_ReproTraceAccel"],
            swiftSettings: commonSettings + numericSettings
        ),
        .target(
            name: "ReproVision",
            dependencies: ["ReproNN", "ReproTensor", "ReproImage", "ReproRandom"],
            swiftSettings: commonSettings + numericSettings
        ),
        .target(
            name: "ReproData",
            // ReproImage decodes folder datasets; ReproTensor resizes and supplies Repro's own exp/log.
            dependencies: ["ReproRandom", "ReproImage", "ReproTensor"],
            swiftSettings: commonSettings
        ),
        .target(
            name: "Repro",
            dependencies: ["ReproRandom", "ReproTensor", "ReproNN", "ReproVision", "ReproData", "ReproImage", "_ReproDigest"],
            swiftSettings: commonSettings,
            plugins: ["BuildInfoPlugin"]
        ),

        // MARK: Command-line tool
        .executableTarget(
            name: "repro",
            dependencies: [
                "Repro",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: commonSettings
        ),

        // The determinism linter: a library of rules (tested) and a thin executable.
        .target(
            name: "ReproLintKit",
            dependencies: [
                .product(name: "SwiftSyntax", package: "swift-syntax"),
                .product(name: "SwiftParser", package: "swift-syntax"),
            ],
            swiftSettings: commonSettings
        ),
        .executableTarget(
            name: "repro-lint",
            dependencies: [
                "ReproLintKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: commonSettings
        ),

        // MARK: Tests
        // Shared helpers: fixture lookup, vector decoding, bit-pattern comparison.
        .target(
            name: "_ReproTestSupport",
            dependencies: ["_ReproDigest"],
            path: "Tests/_ReproTestSupport",
            swiftSettings: commonSettings
        ),
        .testTarget(
            name: "ReproRandomTests",
            dependencies: ["ReproRandom", "_ReproTestSupport"],
            swiftSettings: commonSettings
        ),
        .testTarget(
            name: "ReproNNTests",
            dependencies: ["ReproNN", "ReproTensor", "_ReproTestSupport"],
            swiftSettings: commonSettings
        ),
        .testTarget(
            name: "ReproVisionTests",
            dependencies: ["ReproVision", "ReproNN", "ReproTensor", "ReproImage", "_ReproTestSupport"],
            swiftSettings: commonSettings
        ),
        .testTarget(
            name: "ReproDataTests",
            dependencies: ["ReproData", "ReproImage", "ReproRandom", "_ReproTestSupport"],
            swiftSettings: commonSettings
        ),
        .testTarget(
            name: "ReproImageTests",
            dependencies: ["ReproImage", "_ReproTestSupport"],
            swiftSettings: commonSettings
        ),
        .testTarget(
            name: "ReproTensorTests",
            dependencies: ["ReproTensor", "ReproRandom", "_ReproTestSupport"],
            swiftSettings: commonSettings + numericSettings
        ),
        .testTarget(
            name: "ReproTests",
            dependencies: ["Repro", "_ReproTestSupport"],
            swiftSettings: commonSettings
        ),
        // The public doc-comment examples and the README's library example, compiled and run.
        .testTarget(
            name: "DocExamplesTests",
            dependencies: ["Repro", "ReproTensor", "_ReproDigest", "_ReproTestSupport"],
            swiftSettings: commonSettings
        ),
        .testTarget(
            name: "ReproLintKitTests",
            dependencies: ["ReproLintKit", "repro-lint"],
            swiftSettings: commonSettings
        ),
        .testTarget(
            name: "reproTests",
            // Repro: the verify/doctor tests write seeded checkpoints with the library.
            dependencies: ["repro", "Repro", "ReproImage", "ReproNN", "ReproTensor", "ReproVision", "_ReproTestSupport"],
            swiftSettings: commonSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
