import Foundation
import KVPackEval
import KVPackModel

/// The shipped SmolLM2 model (installed by Tools/scripts/setup.sh --tests; missing, the test
/// fails with how to install it) and the GPL-3 text the captures were made from.
enum FidelityFixtures {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let textPath = "/usr/share/common-licenses/GPL-3"

    struct Missing: Error, CustomStringConvertible { let description: String }

    static let smollm2 = Result { () throws -> FidelityModel in
        let path: String
        do {
            path = try ModelLocator(interpreters: ["python3", repository.appendingPathComponent("Tools/capture/.venv/bin/python").path])
                .locate(.smollm2)
        } catch {
            throw Missing(description: "\(error)\nThis test needs the real model files: run Tools/scripts/setup.sh --tests")
        }
        return try FidelityModel(file: try GGUFFile(contentsOf: path))
    }

    static func text() throws -> String { try String(contentsOfFile: textPath, encoding: .utf8) }
}
