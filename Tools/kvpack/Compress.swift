import ArgumentParser
import Foundation
import KVPack
import KVPackDatasets
import KVPackPolicies

extension PageEncoding: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
}

struct Compress: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compress a capture into a .kvp file.",
        discussion: """
            With --policy, a policy spec decides what is kept and how it is encoded:

              kvpack compress capture.h5 -o c.kvp \\
                  --policy "snapkv(keep=0.25) | quant(bits=4)"

            Policies (README "Policies" has the details):
              dense
              snapkv(keep, window=32, kernel=5, pool=avg|max, gqa=mean|repeat)
              h2o(keep, recent=0.5, window=32)
              streaming(sinks=4, keep)      knorm(keep)      random(keep, seed=0)
              paged(keep, block=16, score=vk|v|invk, mode=global|local, candidates=4)
              arkv(keep, window=32, quant=token|ENC, gamma=263.81, tau1, tau2, tau3)
              mustafar(k=0.5, v=0.5, recent=32)
              taskkv(keep, sinks=16, recent=256, window=32, kernel=7, top=256,
                     beta=0.25, m=1)
              quant(bits=8|4, group=32 | keys=ENC, values=ENC,
                    key_sparsity, value_sparsity)
            keep is what stays: a share (0.25), a token count per head (512), or a cache size (4MiB). `A | B` applies B to what A kept.

            Without --policy every token is kept in one key and one value encoding: f16, int8, int4 (token groups of 32, or int8/g64, int4/c16 for groups of 16 tokens per channel as KIVI does for keys), bitmap (pruning at --key-sparsity / --value-sparsity).
            """)

    @Argument(help: "An HDF5 capture.") var capture: String
    @Option(name: .shortAndLong, help: "Output .kvp file.") var output: String
    @Option(help: "A policy spec, e.g. \"snapkv(keep=0.25) | quant(bits=4)\".") var policy: String?
    @Option(help: "Key encoding, without --policy (default f16).") var keys: PageEncoding?
    @Option(help: "Value encoding, without --policy (default f16).") var values: PageEncoding?
    @Option(name: .customLong("key-sparsity"), help: "Share of each key row a bitmap encoding prunes, without --policy (default 0.5).")
    var keySparsity: Double?
    @Option(name: .customLong("value-sparsity"), help: "Share of each value row a bitmap encoding prunes, without --policy (default 0.5).")
    var valueSparsity: Double?
    @Option(name: .customLong("page-size"), help: "Tokens per page.") var pageSize = 16
    @Flag(help: "lz4 sections instead of zstd: faster, larger.") var fast = false
    @Flag(help: "Overwrite the output if it exists.") var force = false

    func validate() throws {
        for (name, s) in [("--key-sparsity", keySparsity), ("--value-sparsity", valueSparsity)] {
            if let s, !(0..<1).contains(s) { throw ValidationError("\(name) must be in [0, 1); got \(s)") }
        }
        if !(1...65535).contains(pageSize) { throw ValidationError("--page-size must be in 1...65535; got \(pageSize)") }
        let uniform = [("--keys", keys != nil), ("--values", values != nil), ("--key-sparsity", keySparsity != nil),
                       ("--value-sparsity", valueSparsity != nil)].filter(\.1).map(\.0)
        if keySparsity != nil && keys != .bitmap || valueSparsity != nil && values != .bitmap {
            throw ValidationError("--key-sparsity / --value-sparsity prune bitmap pages only; add --keys bitmap / --values bitmap, or leave them out")
        }
        if policy != nil, !uniform.isEmpty {
            throw ValidationError("""
                \(uniform.joined(separator: ", ")) \(uniform.count == 1 ? "applies" : "apply") only without --policy; with a policy, \
                end it with a quant stage, e.g. --policy "snapkv(keep=0.25) | quant(keys=int8,values=int8)"
                """)
        }
    }

    func run() throws {
        TemporaryFiles.installSignalCleanup()
        try failing {
            try OutputPath.prepareFile(output, overwrite: force, inputs: [self.capture])
            let file = try CaptureFile.open(self.capture)
            var positions: [SequencePositions] = []
            for s in 0..<file.sequenceCount { positions.append(try file.sequence(at: s).positions) }
            // The spec fitted to the capture (a stage it cannot serve fails here, before the read).
            let pipeline = try policy.map { p throws(PolicyError) in
                try PolicyPipeline(parsing: p).resolved(for: file.model, sequences: positions)
            }
            var reading = Progress("compress: reading \(self.capture)", total: file.sequenceCount * file.model.layerCount)
            let capture = try file.readCapture { done, _ in reading.update(done) }
            reading.finish()
            let cache: CompressedCache
            if let pipeline {
                let plan = try Progress.during("compress: planning \(pipeline)") { try pipeline.plan(capture, pageSize: pageSize) }
                for line in pipeline.warnings + plan.warnings { warn(line) }
                cache = try Progress.during("compress: packing pages") { try plan.build(capture, policy: pipeline.description) }
            } else {
                let k = keys ?? .f16, v = values ?? .f16
                var spec = "uniform(keys=\(k),values=\(v)"
                if k == .bitmap { spec += ",key_sparsity=\(keySparsity ?? 0.5)" }
                if v == .bitmap { spec += ",value_sparsity=\(valueSparsity ?? 0.5)" }
                spec += ")"
                cache = try Progress.during("compress: packing pages") {
                    try CompressedCache.uniform(capture, keys: k, values: v, pageSize: pageSize, keySparsity: keySparsity ?? 0.5,
                                                valueSparsity: valueSparsity ?? 0.5, policy: spec)
                }
            }
            try Progress.during("compress: encoding and writing \(output)") {
                try KVPFile.write(cache, to: output, codec: fast ? .lz4 : .zstd, overwrite: force, kvpackVersion: KVPackVersion.string)
            }
            let size = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? Int) ?? 0
            // Interpolated counts: `%d` reads 32 bits, and caches pass 4 GiB.
            print("wrote \(output): \(cache.policy), \(cache.byteCount) bytes in memory (\(String(format: "%.3f", cache.ratio)) of the dense f16 cache), \(size) bytes on disk")
        }
    }
}
