// swift-tools-version:6.1
// libFuzzer target for the .kvp reader. Built on its own (not part of the main package):
//   cd Tools/fuzz && swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
//   .build/release/kvp-fuzz corpus/ -max_total_time=600
import PackageDescription

let package = Package(
    name: "KVPFuzz",
    dependencies: [.package(name: "KVPack", path: "../..")],
    targets: [
        .executableTarget(name: "kvp-fuzz", dependencies: [.product(name: "KVPack", package: "KVPack")]),
    ],
    swiftLanguageModes: [.v6]
)
