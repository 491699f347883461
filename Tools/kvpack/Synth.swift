import ArgumentParser
import Foundation
import KVPack
import KVPackDatasets

struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a seeded synthetic capture with decoder-like statistics.",
        discussion: """
            Keys and queries carry RoPE, attention sinks, outlier key channels, local and retrieval heads, and GQA (see SyntheticCapture in Datasets/). Layers are generated and written one at a time, so large shapes need memory for one layer only:

              kvpack synth --preset llama3-8b --tokens 32768 -o llama8b-32k.h5
            """)

    @OptionGroup var shape: ShapeOptions
    @Option(name: .shortAndLong, help: "Output HDF5 file.") var output: String
    @Flag(help: "Overwrite the output if it exists.") var force = false

    func run() throws {
        TemporaryFiles.installSignalCleanup()
        try failing {
            try OutputPath.prepareFile(output, overwrite: force, inputs: [])
            let spec = shape.spec()
            let facts = try spec.modelFacts()
            let positions = try SequencePositions.contiguous(tokens: spec.tokens, window: spec.window, probes: spec.probes)
            let writer = try CaptureFileWriter(
                path: output, model: facts,
                provenance: ["source": "kvpack synth", "seed": String(spec.seed), "kvpack_version": KVPackVersion.string],
                overwrite: force)
            var progress = Progress("synth \(output)", total: spec.layers * spec.sequences)
            for s in 0..<spec.sequences {
                try writer.beginSequence(String(s), positions: positions)
                for l in 0..<spec.layers {
                    try writer.writeLayer(l, SyntheticCapture.layer(spec, index: l, sequence: s), sequence: String(s))
                    progress.update(s * spec.layers + l + 1)
                }
            }
            try writer.finish()
            progress.finish()
            print("wrote \(output): \(spec.layers) layers, \(spec.queryHeads) query heads over \(spec.kvHeads) KV heads, head dim \(spec.headDim), \(spec.tokens) tokens")
        }
    }
}
