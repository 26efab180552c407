// swift-tools-version: 6.2
// Benchmarks for Repro, kept in their own package (depending on the root
// package by path, as swift-collections does) so that the root package's
// `swift test` never builds the benchmark framework.
//
//   cd Benchmarks && swift package benchmark            # package-benchmark suites
//   cd Benchmarks && swift run -c release repro-bench rng  # plain timings as JSON (used by ../bench/*.py)

import PackageDescription

let package = Package(
    name: "ReproBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "Repro", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // package-benchmark suite: generator throughput.
        .executableTarget(
            name: "RandomBenchmarks",
            dependencies: [
                .product(name: "Repro", package: "Repro"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/RandomBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Plain timing executable whose JSON output the bench/ scripts compare
        // with PyTorch/NumPy in the same run.
        .executableTarget(
            name: "repro-bench",
            dependencies: [.product(name: "Repro", package: "Repro")],
            path: "Sources/repro-bench"
        ),
    ]
)
