// swift-tools-version:6.1
import PackageDescription

// KVPack: KV-cache compression with attention computed directly on the compressed form.
//
// Layout (required by the project): Sources/ (core library and C shims), Policies/, Kernels/,
// Datasets/ (capture I/O, schema, samples), Tools/ (the `kvpack` CLI), Tests/.
//
// System libraries come from pkg-config (Debian: libhdf5-dev, libzstd-dev, liblz4-dev,
// libvulkan-dev). Debian's HDF5 lives under its `serial` prefix; its `hdf5.pc` alternative
// carries those paths, so no user flags are needed.

let package = Package(
    name: "KVPack",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "KVPack", targets: ["KVPack"]),
        .library(name: "KVPackDatasets", targets: ["KVPackDatasets"]),
        .executable(name: "kvpack", targets: ["kvpack"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // MARK: - System libraries (tiny modulemaps over pkg-config)
        .systemLibrary(
            name: "CHDF5", path: "Sources/CHDF5", pkgConfig: "hdf5",
            providers: [.apt(["libhdf5-dev"]), .brew(["hdf5"])]),
        .systemLibrary(
            name: "CZstd", path: "Sources/CZstd", pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"]), .brew(["zstd"])]),
        .systemLibrary(
            name: "CLZ4", path: "Sources/CLZ4", pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"]), .brew(["lz4"])]),
        .systemLibrary(
            name: "CVulkan", path: "Sources/CVulkan", pkgConfig: "vulkan",
            providers: [.apt(["libvulkan-dev"]), .brew(["vulkan-loader"])]),

        // MARK: - Half-precision row kernels (C, runtime-dispatched F16C/AVX2)
        .target(name: "CKVPackHalf", path: "Sources/CKVPackHalf"),

        // MARK: - Core library
        .target(
            name: "KVPack", dependencies: ["CKVPackHalf"], path: "Sources/KVPack"),

        // MARK: - Datasets: HDF5 / npy / safetensors I/O, synthetic captures
        .target(
            name: "KVPackDatasets", dependencies: ["KVPack", "CHDF5"],
            path: "Datasets/KVPackDatasets"),

        // MARK: - Tools
        .executableTarget(
            name: "kvpack",
            dependencies: [
                "KVPack", "KVPackDatasets",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Tools/kvpack"),

        // MARK: - Tests (one target per library target, plus the CLI)
        .testTarget(name: "KVPackTests", dependencies: ["KVPack"], path: "Tests/KVPackTests"),
        .testTarget(
            name: "KVPackDatasetsTests", dependencies: ["KVPack", "KVPackDatasets"],
            path: "Tests/KVPackDatasetsTests"),
        .testTarget(
            name: "KVPackCLITests", dependencies: ["kvpack"], path: "Tests/KVPackCLITests"),
    ],
    swiftLanguageModes: [.v6]
)
