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

// The hot loops (attention over pages, policies' scoring, dequantization, the model's forward
// pass) are compiled optimized in debug builds too: the test suite runs them over real samples
// and models, and unoptimized they took most of its time on 2 cores.
let optimizedInDebug: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
    name: "KVPack",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "KVPack", targets: ["KVPack"]),
        .library(name: "KVPackDatasets", targets: ["KVPackDatasets"]),
        .library(name: "KVPackVulkan", targets: ["KVPackVulkan"]),
        .library(name: "KVPackPolicies", targets: ["KVPackPolicies"]),
        .library(name: "KVPackEval", targets: ["KVPackEval"]),
        .library(name: "KVPackModel", targets: ["KVPackModel"]),
        .library(name: "KVPackServer", targets: ["KVPackServer"]),
        .executable(name: "kvpack", targets: ["kvpack"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // SHA-256 of capture files in evaluation reports.
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        // Live sessions' logs and metrics: silent unless the application bootstraps a backend.
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        // `swift package generate-documentation --target KVPack` (the DocC catalog in Sources/KVPack).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
        // `kvpack serve`: the HTTP server, its start-up and graceful shutdown, /metrics in Prometheus text;
        // `kvpack loadtest` and the server's test: the HTTP client.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
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
        // Vulkan headers only (libvulkan-dev puts them on the default include path); the loader is
        // dlopen'ed at run time, so pkg-config's `-lvulkan` must not reach the link line.
        .systemLibrary(name: "CVulkan", path: "Sources/CVulkan"),
        // OpenBLAS's CBLAS (the model runtime's matrix products, on every core).
        .systemLibrary(
            name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"]), .brew(["openblas"])]),

        // MARK: - Half-precision row kernels (C, runtime-dispatched F16C/AVX2)
        .target(name: "CKVPackHalf", path: "Sources/CKVPackHalf", cSettings: [.unsafeFlags(["-O2"], .when(configuration: .debug))]),

        // MARK: - Core library
        .target(
            name: "KVPack",
            dependencies: [
                "CKVPackHalf", "CZstd", "CLZ4", .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            path: "Sources/KVPack", swiftSettings: optimizedInDebug),

        // MARK: - Policies: one file per method, plus the shared plan, spec grammar and registry
        .target(name: "KVPackPolicies", dependencies: ["KVPack", "CKVPackHalf"], path: "Policies", swiftSettings: optimizedInDebug),

        // MARK: - Evaluation: sweeps, metrics against the dense reference, reports and plots; next-token
        // fidelity with the model runtime in the loop (KVPackModel)
        .target(
            name: "KVPackEval",
            dependencies: ["KVPack", "KVPackPolicies", "KVPackModel", .product(name: "Crypto", package: "swift-crypto")],
            path: "Sources/KVPackEval", swiftSettings: optimizedInDebug),

        // MARK: - Vulkan runtime (the loader is opened at run time; no link-time dependency) and the
        // kernels: Kernels/*.comp compiled by glslc at build time and embedded (KernelCompiler).
        .executableTarget(name: "SPIRVEmbed", path: "Kernels/Plugin/SPIRVEmbed"),
        .plugin(
            name: "KernelCompiler", capability: .buildTool(), dependencies: ["SPIRVEmbed"],
            path: "Kernels/Plugin/KernelCompiler"),
        .target(
            name: "KVPackVulkan", dependencies: ["CVulkan", "KVPack"], path: "Sources/KVPackVulkan",
            plugins: ["KernelCompiler"]),

        // MARK: - Model runtime: GGUF reader, tokenizers (and the CPU forward pass) for the shipped models
        .target(name: "KVPackModel", dependencies: ["KVPack", "CBLAS"], path: "Sources/KVPackModel", swiftSettings: optimizedInDebug),

        // MARK: - Text-generation server: batched decode scheduler, OpenAI-style HTTP API on Hummingbird
        // (the KVPack library itself does not depend on Hummingbird)
        .target(
            name: "KVPackServer",
            dependencies: [
                "KVPack", "KVPackModel", "KVPackPolicies",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            path: "Sources/KVPackServer"),

        // MARK: - Datasets: HDF5 / npy / safetensors I/O, synthetic captures
        .target(
            name: "KVPackDatasets", dependencies: ["KVPack", "CHDF5"],
            path: "Datasets/KVPackDatasets"),

        // MARK: - Tools
        .executableTarget(
            name: "kvpack",
            dependencies: [
                "KVPack", "KVPackDatasets", "KVPackPolicies", "KVPackEval", "KVPackVulkan", "KVPackModel", "KVPackServer", "CBLAS", "CHDF5",
                "CZstd", "CLZ4",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tools/kvpack"),

        // MARK: - Tests (one target per library target, plus the CLI)
        // What the test targets share: the seeded generator, synthetic captures, tolerance helpers
        // and the CI rule for devices (a missing Vulkan device fails under CI, skips elsewhere).
        .target(name: "KVPackTestSupport", dependencies: ["KVPack"], path: "Tests/KVPackTestSupport"),
        .testTarget(
            name: "KVPackTests",
            dependencies: ["KVPack", "KVPackTestSupport", .product(name: "MetricsTestKit", package: "swift-metrics")],
            path: "Tests/KVPackTests"),
        .testTarget(
            name: "KVPackDatasetsTests", dependencies: ["KVPack", "KVPackDatasets", "KVPackTestSupport"],
            path: "Tests/KVPackDatasetsTests", exclude: ["python"]),
        .testTarget(
            name: "KVPackPoliciesTests", dependencies: ["KVPack", "KVPackPolicies", "KVPackDatasets", "KVPackTestSupport"],
            path: "Tests/KVPackPoliciesTests"),
        .testTarget(
            name: "KVPackEvalTests", dependencies: ["KVPack", "KVPackEval", "KVPackPolicies", "KVPackDatasets", "KVPackModel", "KVPackTestSupport"],
            path: "Tests/KVPackEvalTests"),
        .testTarget(
            name: "KVPackVulkanTests", dependencies: ["KVPackVulkan", "KVPack", "KVPackPolicies", "KVPackModel", "KVPackTestSupport"],
            path: "Tests/KVPackVulkanTests"),
        .testTarget(
            name: "KVPackModelTests", dependencies: ["KVPackModel", "KVPack", "KVPackDatasets", "KVPackPolicies", "KVPackTestSupport"],
            path: "Tests/KVPackModelTests", exclude: ["Fixtures"]),
        .testTarget(
            name: "KVPackServerTests",
            dependencies: [
                "KVPackServer", "KVPackModel", "KVPack", "KVPackTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            path: "Tests/KVPackServerTests"),
        .testTarget(
            name: "KVPackCLITests", dependencies: ["kvpack", "KVPackTestSupport"], path: "Tests/KVPackCLITests"),
    ],
    swiftLanguageModes: [.v6]
)
