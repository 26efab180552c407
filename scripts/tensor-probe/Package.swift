// swift-tools-version: 6.2
// The build-invariance probe: a separate package that depends on Repro by
// path, exactly as a user's package would. See ../check_build_invariance.sh.
import Foundation
import PackageDescription

// A path dependency's identity is the folder name of the checkout.
let rootIdentity = URL(fileURLWithPath: Context.packageDirectory)
    .deletingLastPathComponent().deletingLastPathComponent().lastPathComponent.lowercased()

let package = Package(
    name: "tensor-probe",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "../..")],
    targets: [
        .executableTarget(
            name: "tensor-probe",
            dependencies: [
                .product(name: "ReproTensor", package: rootIdentity),
                .product(name: "ReproRandom", package: rootIdentity),
                .product(name: "ReproImage", package: rootIdentity),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
