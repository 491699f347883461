import Foundation
import Testing

/// Runs `Tests/KVPackDatasetsTests/python/interop.py` with python3. h5py, numpy and safetensors
/// must be importable: the test command installs them (Tools/requirements-test.txt); a missing
/// module fails the test with that message rather than skipping it.
enum Python {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("python/interop.py").path

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    @discardableResult
    static func interop(_ arguments: String...) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "python3 interop.py \(arguments.joined(separator: " ")) failed: "
                + String(decoding: stderr, as: UTF8.self)
                + "\n(install the test requirements: python3 -m pip install -r Tools/requirements-test.txt)")
        }
        return String(decoding: stdout, as: UTF8.self)
    }
}

/// A fresh temporary directory, removed by the caller's `defer`.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("kvpack-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// The value formula interop.py writes: exact in float16.
func interopValue(layer: Int, tensor: Int, head: Int, token: Int, dim: Int) -> Float16 {
    Float16(Float((layer * 7 + tensor * 5 + head * 3 + token * 2 + dim) % 61 - 30) / 8)
}
