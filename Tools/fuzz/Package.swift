// swift-tools-version:6.1
// libFuzzer targets for the .kvp reader and the GGUF reader. Built on their own (not part of the main package):
//   cd Tools/fuzz && swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
//   .build/release/kvp-fuzz corpus/ -max_total_time=600
//   .build/release/gguf-fuzz gguf-corpus/ -max_total_time=600    (seed it with ../../Tests/KVPackModelTests/Fixtures/*.gguf)
import PackageDescription

let package = Package(
    name: "KVPFuzz",
    dependencies: [.package(name: "KVPack", path: "../..")],
    targets: [
        .target(name: "FuzzDriver"),
        .executableTarget(name: "kvp-fuzz", dependencies: ["FuzzDriver", .product(name: "KVPack", package: "KVPack")]),
        .executableTarget(name: "gguf-fuzz", dependencies: ["FuzzDriver", .product(name: "KVPackModel", package: "KVPack")]),
    ],
    swiftLanguageModes: [.v6]
)
