import KVPack

/// A synthetic decode cache of a given shape for benchmarks: one layer, `sequences` sequences of
/// `tokens` tokens per KV head, every token kept. The pages come from a tile of `tileTokens`
/// distinct random tokens encoded once and reused along every head (page i of a head is page
/// i mod tile of the tile): building is fast at any shape, and the kernels still read every page
/// from its own address, so the bytes read are exact and, above the GPU's L2 size, all come from
/// device memory.
struct SyntheticDecodeCache {
    let cache: CompressedCache
    /// Dense f16 bytes of the same K and V (`2 · 2 · B · Hkv · N · d`).
    let denseBytes: Int

    /// - Parameter encodings: the (key, value) encoding of each page of the tile, cycled.
    init(queryHeads: Int, kvHeads: Int, headDim d: Int, tokens: Int, sequences: Int, pageSize: Int,
         pageEncodings: [(PageEncoding, PageEncoding)], sparsity: Double, tileTokens: Int = 4096, seed: UInt64 = 7) throws {
        let tile = min(tokens, tileTokens)
        var rng = BenchRandom(seed: seed)
        let keys = try HeadTensor(heads: 1, tokens: tile, headDim: d, storage: rng.halves(tile * d))
        let values = try HeadTensor(heads: 1, tokens: tile, headDim: d, storage: rng.halves(tile * d))
        // Tile pages: consecutive runs of pageSize tokens, each run in the next encoding pair.
        var tilePages: [Page] = []
        var start = 0
        while start < tile {
            let n = min(pageSize, tile - start)
            let enc = pageEncodings[tilePages.count % pageEncodings.count]
            let head = try HeadPages.pack(keys: keys, values: values, head: 0, kept: Array(start..<start + n),
                                          positions: Array(0..<tile), encodings: Array(repeating: enc, count: n),
                                          pageSize: pageSize, keySparsity: sparsity, valueSparsity: sparsity)
            tilePages += head.pages
            start += n
        }
        // One head: the tile's pages repeated, positions renumbered to run on.
        var pages: [Page] = []
        var position: Int32 = 0
        var filled = 0
        var i = 0
        while filled < tokens {
            let p = tilePages[i % tilePages.count]
            let n = min(p.tokenCount, tokens - filled)
            let positions = (0..<Int32(n)).map { position + $0 }
            if n == p.tokenCount {
                pages.append(try Page(positions: positions, keys: p.keys, values: p.values))
            } else {
                // The last page of a length the page size does not divide: re-encode its first n rows.
                let k = Array(p.keys.decode().prefix(n * d)), v = Array(p.values.decode().prefix(n * d))
                pages.append(try Page.encode(positions: positions, keys: k, values: v, dim: d, keyEncoding: p.keys.encoding,
                                             valueEncoding: p.values.encoding, keySparsity: sparsity, valueSparsity: sparsity))
            }
            position += Int32(n)
            filled += n
            i += 1
        }
        let head = try HeadPages(pages: pages)
        let model = try ModelFacts(name: "synthetic", queryHeads: queryHeads, kvHeads: kvHeads, headDim: d, layerKinds: [.global])
        let sequence = CompressedSequence(id: "0", originalTokens: tokens, layers: [Array(repeating: head, count: kvHeads)])
        cache = try CompressedCache(model: model, pageSize: pageSize, policy: "synthetic",
                                    sequences: (0..<sequences).map { s in
                                        var seq = sequence
                                        seq.id = "\(s)"
                                        return seq
                                    })
        denseBytes = 2 * 2 * sequences * kvHeads * tokens * d
    }
}
