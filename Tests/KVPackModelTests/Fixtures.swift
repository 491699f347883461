import Foundation
import KVPackModel
import Testing

/// The committed fixtures (`Fixtures/`, written by Tools/capture/make_gguf_fixtures.py from the
/// `gguf` Python package) and the real model files.
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    static func json(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: directory.appendingPathComponent(name))
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw FixtureError(description: "\(name) is not a JSON object")
        }
        return object
    }

    /// `dequant-expected.f32`: little-endian float32 values.
    static func expectedFloats() throws -> [Float] {
        let data = try Data(contentsOf: directory.appendingPathComponent("dequant-expected.f32"))
        return data.withUnsafeBytes { raw in
            (0..<data.count / 4).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
    }

    /// The real model file, found as `kvpack` finds it. A missing model fails the test (with how
    /// to install it), never skips it.
    static func model(_ model: ShippedModel) throws -> String {
        do {
            return try ModelLocator(interpreters: ["python3", repository.appendingPathComponent("Tools/capture/.venv/bin/python").path])
                .locate(model)
        } catch {
            throw FixtureError(description: "\(error)\nThis test needs the real model files: run Tools/scripts/setup.sh --tests")
        }
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
}

/// Opened model files, shared by the tests of one process (the Gemma vocabulary alone is 262,144 strings).
enum ModelFiles {
    static let smollm2 = Result { try GGUFFile(contentsOf: try Fixtures.model(.smollm2)) }
    static let gemma = Result { try GGUFFile(contentsOf: try Fixtures.model(.gemma3_270m)) }

    static func file(_ model: ShippedModel) throws -> GGUFFile {
        try (model == .smollm2 ? smollm2 : gemma).get()
    }
}
