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
        var commands: [Command] = []
        var spirv: [URL] = []
        for source in sources {
            let name = source.deletingPathExtension().lastPathComponent
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
        let path = (environment["PATH"] ?? "") + ":/usr/bin:/usr/local/bin:/opt/homebrew/bin"
        for dir in path.split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(dir)).appending(path: "glslc")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw KernelCompilerError.glslcNotFound
    }
}

enum KernelCompilerError: Error, CustomStringConvertible {
    case glslcNotFound

    var description: String {
        "glslc not found on PATH (set GLSLC to its path); install it with `apt-get install glslc` (Debian/Ubuntu) or the Vulkan SDK"
    }
}
