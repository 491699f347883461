import ArgumentParser
import KVPack

@main
struct KVPackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kvpack",
        abstract: "Compress LLM key/value caches and measure what each saving costs in accuracy.",
        discussion: """
            Captures are HDF5 files of real (or synthetic) K/V tensors with the queries that read them; see Datasets/SCHEMA.md. Start with `kvpack summarize` on a capture, or with no argument to summarize the bundled samples (or, without them, a synthetic capture made on the fly).

            Exit codes: 0 success, 64 bad usage, 65 bad input data, 66 input not found, 69 no usable Vulkan device (or it failed), 70 the server stopped on an error, 73 output cannot be created (or exists without --force), 75 a page pool without room, 130 / 143 interrupted (SIGINT / SIGTERM), 1 anything else.
            """,
        version: KVPackVersion.string,
        subcommands: [Eval.self, Summarize.self, Compress.self, Inspect.self, Decompress.self, Synth.self, Convert.self, Bench.self, Doctor.self, ModelCheck.self, Serve.self, LoadTest.self])
}

enum KVPackVersion {
    static let string = "0.1.0"
}
