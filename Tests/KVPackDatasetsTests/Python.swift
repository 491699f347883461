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

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    @discardableResult
    static func interop(_ arguments: String...) throws -> String {
        try run(script: script, arguments)
    }

    /// Runs a Python script; a non-zero exit throws with its standard error.
    @discardableResult
    static func run(script: String, _ arguments: [String]) throws -> String {
        let result = try runAllowingFailure(script: script, arguments)
        guard result.status == 0 else {
            throw Failure(description: "python3 \(script) \(arguments.joined(separator: " ")) failed: " + result.stderr
                + "\n(install the test requirements: python3 -m pip install -r Tools/requirements-test.txt)")
        }
        return result.stdout
    }

    static func runAllowingFailure(script: String, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
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
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
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
