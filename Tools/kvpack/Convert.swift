import ArgumentParser
import Foundation
import KVPack
import KVPackDatasets

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Turn .safetensors or a directory of .npy tensors into an HDF5 capture.",
        discussion: """
            Tensors are named layers.<L>.keys / values / queries [/ probe_queries / probe_keys / probe_values], optionally with positions, query_positions and probe_positions; see Datasets/SCHEMA.md ("Importing tensors").
            """)

    @Argument(help: "A .safetensors file or a directory of .npy files.") var input: String
    @Option(name: .shortAndLong, help: "Output HDF5 capture.") var output: String
    @Option(name: .customLong("model-name"), help: "Model name to record.") var modelName: String = "imported"
    @Option(name: .customLong("rope-theta"), help: "RoPE base, if known.") var ropeTheta: Double?
    @Option(name: .customLong("sliding-windows"), parsing: .upToNextOption,
            help: "Sliding-window size per layer (0 = global), one value per layer.")
    var slidingWindows: [Int] = []
    @Flag(help: "Overwrite the output if it exists.") var force = false

    func run() throws {
        TemporaryFiles.installSignalCleanup()
        try failing {
            try OutputPath.prepareFile(output, overwrite: force, inputs: [input])
            let options = CaptureImport.Options(modelName: modelName, ropeTheta: ropeTheta,
                                                slidingWindows: slidingWindows.isEmpty ? nil : slidingWindows)
            let capture = try CaptureImport.capture(from: input, options: options)
            try capture.write(to: output, overwrite: force)
            let m = capture.model
            print("wrote \(output): \(m.layerCount) layers, \(m.queryHeads) query heads over \(m.kvHeads) KV heads, head dim \(m.headDim), \(capture.sequences[0].positions.tokens.count) tokens")
        }
    }
}
