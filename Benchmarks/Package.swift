// swift-tools-version: 6.1
// Benchmarks for Repro, kept in their own package (as swift-collections does)
// so that the root package's `swift test` never builds package-benchmark.
//
//   swift package benchmark                      # ordo-one/benchmark suite
//   swift run -c release repro-bench --threads 1,2  # GFLOP/s table (used by bench/tensor_bench.py)
//   swift run -c release repro-rng-bench rng        # generator timings as JSON (used by bench/rng_bench.py)
import Foundation
import PackageDescription

// A path dependency's identity is its directory name, which depends on where
// the repository was cloned; derive it instead of hard-coding "repro".
let rootIdentity = URL(fileURLWithPath: Context.packageDirectory)
    .deletingLastPathComponent().lastPathComponent.lowercased()

// Same ISA flags as the root package's numeric targets (see ../Package.swift).
#if arch(x86_64)
let numericSettings: [SwiftSetting] = [.unsafeFlags(["-Xcc", "-mavx2", "-Xcc", "-mfma"])]
#else
let numericSettings: [SwiftSetting] = []
#endif

let package = Package(
    name: "ReproBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/package-benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "repro-bench",
            dependencies: [.product(name: "ReproTensor", package: rootIdentity)],
            path: "Sources/repro-bench",
            swiftSettings: numericSettings
        ),
        .executableTarget(
            name: "repro-rng-bench",
            dependencies: [.product(name: "Repro", package: rootIdentity)],
            path: "Sources/repro-rng-bench",
            swiftSettings: numericSettings
        ),
        .executableTarget(
            name: "RandomBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "Repro", package: rootIdentity),
            ],
            path: "Benchmarks/RandomBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
        .executableTarget(
            name: "TensorBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "ReproTensor", package: rootIdentity),
            ],
            path: "Benchmarks/TensorBenchmarks",
            swiftSettings: numericSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
