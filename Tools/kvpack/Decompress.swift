import ArgumentParser
import Foundation
import KVPack
import KVPackDatasets

struct Decompress: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the tensors a .kvp file keeps as an HDF5 capture.",
        discussion: """
            Each sequence's positions are the union of the positions any layer or head kept; a head's rows at positions it did not keep are zeros, and each layer's `kept` dataset ([kvHeads, tokens], 1 = kept) says which rows are real. Pruned bitmap elements are zeros; quantized values are dequantized to f16. Window and probe queries are not part of a compressed cache, so the capture has none.
            """)

    @Argument(help: "A .kvp file.") var file: String
    @Option(name: .shortAndLong, help: "Output HDF5 capture.") var output: String
    @Flag(help: "Overwrite the output if it exists.") var force = false

    func run() throws {
        TemporaryFiles.installSignalCleanup()
        try failing {
            try OutputPath.prepareFile(output, overwrite: force, inputs: [file])
            let cache = try KVPFile.read(from: file)
            let m = cache.model, d = m.headDim
            let writer = try CaptureFileWriter(path: output, model: m,
                                               provenance: ["source": "kvpack decompress \(file)", "policy": cache.policy],
                                               overwrite: force)
            for seq in cache.sequences {
                let union = Set(seq.layers.flatMap { $0.flatMap(\.positions) }).sorted()
                let index = Dictionary(uniqueKeysWithValues: union.enumerated().map { ($1, $0) })
                try writer.beginSequence(seq.id, positions: try SequencePositions(tokens: union, window: []))
                for (l, heads) in seq.layers.enumerated() {
                    var keys = try HeadTensor<Float16>(zeros: m.kvHeads, union.count, d)
                    var values = try HeadTensor<Float16>(zeros: m.kvHeads, union.count, d)
                    var kept = [UInt8](repeating: 0, count: m.kvHeads * union.count)
                    for (h, head) in heads.enumerated() {
                        let (positions, k, v) = head.decoded()
                        for (i, p) in positions.enumerated() {
                            let t = index[p]!
                            kept[h * union.count + t] = 1
                            for c in 0..<d {
                                keys[h, t, c] = k[i * d + c]
                                values[h, t, c] = v[i * d + c]
                            }
                        }
                    }
                    try writer.writeLayer(l, LayerCapture(keys: keys, values: values, queries: HeadTensor(zeros: m.queryHeads, 0, d)),
                                          sequence: seq.id)
                    try writer.writeKeptMask(l, mask: kept, sequence: seq.id)
                }
            }
            try writer.finish()
            print("wrote \(output)")
        }
    }
}
