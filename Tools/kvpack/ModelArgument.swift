import Foundation
import KVPackModel

/// A `--model` argument: a shipped model's name (found by `ModelLocator`) or a GGUF file.
enum ModelArgument {
    /// The GGUF file `argument` names.
    /// - Throws: `ModelLocatorError` when it is neither a file nor an installed shipped model.
    static func path(_ argument: String) throws -> String {
        if FileManager.default.fileExists(atPath: argument) { return argument }
        return try ModelLocator().locate(named: argument)
    }
}
