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

              kvpack compress capture.h5 -o c.kvp --policy "snapkv(keep=0.25) | quant(bits=4)"

            Policies (README "Policies" has the details):
              dense
              snapkv(keep, window=32, kernel=5, pool=avg|max, gqa=mean|repeat)
              h2o(keep, recent=0.5, window=32)
              streaming(sinks=4, keep)      knorm(keep)      random(keep, seed=0)
              paged(keep, block=16, score=vk|v|invk, mode=global|local, candidates=4)
              arkv(keep, window=32, quant=token|ENC, gamma=263.81, tau1, tau2, tau3)
              mustafar(k=0.5, v=0.5, recent=32)
              taskkv(keep, sinks=16, recent=256, window=32, kernel=7, top=256, beta=0.25, m=1)
              quant(bits=8|4, group=32 | keys=ENC, values=ENC, key_sparsity, value_sparsity)
            keep is what stays: a share (0.25), a token count per head (512), or a cache size
            (4MiB). `A | B` applies B to what A kept.

            Without --policy every token is kept in one key and one value encoding: f16, int8,
            int4 (token groups of 32, or int8/g64, int4/c16 for groups of 16 tokens per channel as
            KIVI does for keys), bitmap (pruning at --key-sparsity / --value-sparsity).
            """)

    @Argument(help: "An HDF5 capture.") var capture: String
    @Option(name: .shortAndLong, help: "Output .kvp file.") var output: String
    @Option(help: "A policy spec, e.g. \"snapkv(keep=0.25) | quant(bits=4)\".") var policy: String?
    @Option(help: "Key encoding.") var keys: PageEncoding = .f16
    @Option(help: "Value encoding.") var values: PageEncoding = .f16
    @Option(name: .customLong("key-sparsity"), help: "Share of each key row a bitmap encoding prunes.") var keySparsity = 0.5
    @Option(name: .customLong("value-sparsity"), help: "Share of each value row a bitmap encoding prunes.") var valueSparsity = 0.5
    @Option(name: .customLong("page-size"), help: "Tokens per page.") var pageSize = 16
    @Flag(help: "lz4 sections instead of zstd: faster, larger.") var fast = false
    @Flag(help: "Overwrite the output if it exists.") var force = false

    func validate() throws {
        for (name, s) in [("--key-sparsity", keySparsity), ("--value-sparsity", valueSparsity)] where !(0..<1).contains(s) {
            throw ValidationError("\(name) must be in [0, 1); got \(s)")
        }
        if !(1...65535).contains(pageSize) { throw ValidationError("--page-size must be in 1...65535; got \(pageSize)") }
    }

    func run() throws {
        try failing {
            let capture = try Capture.read(from: self.capture)
            if let policy {
                let pipeline = try PolicyPipeline(parsing: policy)
                let cache = try pipeline.compress(capture, pageSize: pageSize)
                try KVPFile.write(cache, to: output, codec: fast ? .lz4 : .zstd, overwrite: force, kvpackVersion: KVPackVersion.string)
                print(String(format: "wrote %@: %@, %d bytes in memory (%.3f of dense f16)", output, cache.policy, cache.byteCount, cache.ratio))
                return
            }
            var spec = "uniform(keys=\(keys),values=\(values)"
            if keys == .bitmap { spec += ",key_sparsity=\(keySparsity)" }
            if values == .bitmap { spec += ",value_sparsity=\(valueSparsity)" }
            spec += ")"
            let cache = try CompressedCache.uniform(capture, keys: keys, values: values, pageSize: pageSize,
                                                    keySparsity: keySparsity, valueSparsity: valueSparsity, policy: spec)
            try KVPFile.write(cache, to: output, codec: fast ? .lz4 : .zstd, overwrite: force, kvpackVersion: KVPackVersion.string)
            let size = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? Int) ?? 0
            print(String(format: "wrote %@: %@, %d bytes in memory (%.3f of dense f16), %d bytes on disk",
                         output, spec, cache.byteCount, cache.ratio, size))
        }
    }
}
