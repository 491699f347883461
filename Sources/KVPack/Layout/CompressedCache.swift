/// A compressed KV cache: per sequence, layer and KV head, the kept tokens in pages.
///
/// Every head keeps at least one token: attention over an empty head is undefined, so a policy
/// that would evict everything must keep a sink token (`LayoutError.emptyHead` otherwise).
public struct CompressedCache: Sendable, Hashable, CacheMemory {
    /// The cache's shape: `kvHeads` counts the stored heads (the model's KV heads, or one copy per
    /// query head after `snapkv(gqa=repeat)`).
    public let model: ModelFacts
    /// KV heads of the model's own dense cache, which this cache replaces: `model.kvHeads` unless
    /// heads were repeated. Memory ratios are against the dense cache of these heads.
    public let denseKVHeads: Int
    /// Most tokens per page.
    public let pageSize: Int
    /// The policy spec that made this cache (free text until the policy grammar exists).
    public var policy: String
    public private(set) var sequences: [CompressedSequence]

    /// - Parameter denseKVHeads: the model's KV heads when `model.kvHeads` counts repeated copies
    ///   (a divisor of it); nil when they are the same.
    public init(model: ModelFacts, pageSize: Int = 16, policy: String, sequences: [CompressedSequence],
                denseKVHeads: Int? = nil) throws(LayoutError) {
        guard (1...65535).contains(pageSize) else { throw .invalidPageSize(pageSize) }
        let denseHeads = denseKVHeads ?? model.kvHeads
        guard denseHeads > 0, model.kvHeads % denseHeads == 0 else {
            throw .payloadMismatch("\(model.kvHeads) stored heads are not whole copies of \(denseHeads) KV heads")
        }
        for (s, seq) in sequences.enumerated() {
            guard seq.layers.count == model.layerCount else {
                throw .shapeMismatch(expected: [model.layerCount], found: [seq.layers.count])
            }
            for (l, heads) in seq.layers.enumerated() {
                guard heads.count == model.kvHeads else { throw .shapeMismatch(expected: [model.kvHeads], found: [heads.count]) }
                for (h, head) in heads.enumerated() {
                    guard head.tokenCount > 0 else { throw .emptyHead(sequence: s, layer: l, head: h) }
                    for page in head.pages {
                        guard page.tokenCount <= pageSize else { throw .pageTooLarge(tokens: page.tokenCount, pageSize: pageSize) }
                        guard page.keys.dim == model.headDim else {
                            throw .shapeMismatch(expected: [model.headDim], found: [page.keys.dim])
                        }
                    }
                }
            }
        }
        self.model = model
        self.denseKVHeads = denseHeads
        self.pageSize = pageSize
        self.policy = policy
        self.sequences = sequences
    }

    /// Exact bytes of the whole cache: every head's directory entry and every page (table entry,
    /// positions, key and value payloads). The same bytes the flattened pools and page table hold.
    public var byteCount: Int { sequences.reduce(0) { $0 + $1.byteCount } }

    /// Tokens of each sequence's dense cache (the denominator of `ratio`, `CacheMemory`).
    public var originalTokenCounts: [Int] { sequences.map(\.originalTokens) }

    /// Payload bytes per encoding kind (keys and values together).
    public var payloadBytesByEncoding: [PageEncodingKind: Int] {
        var out: [PageEncodingKind: Int] = [:]
        for s in sequences { for heads in s.layers { for head in heads { for p in head.pages {
            out[p.keys.encoding.kind, default: 0] += p.keys.byteCount
            out[p.values.encoding.kind, default: 0] += p.values.byteCount
        } } } }
        return out
    }
}

/// One sequence of a compressed cache.
public struct CompressedSequence: Sendable, Hashable {
    public var id: String
    /// Tokens of the dense cache this came from (the denominator of `ratio`).
    public var originalTokens: Int
    /// `[layer][kvHead]`.
    public var layers: [[HeadPages]]

    public init(id: String, originalTokens: Int, layers: [[HeadPages]]) {
        self.id = id
        self.originalTokens = originalTokens
        self.layers = layers
    }

    public var byteCount: Int { layers.reduce(0) { $0 + $1.reduce(0) { $0 + $1.byteCount } } }
}

extension CompressedCache {
    /// Every token of every head of `capture`, all pages in one (key, value) encoding: the
    /// uniform layout (dense f16, uniform int8/int4, uniform bitmap). It records `policy`, by
    /// default `uniformPolicy(...)`: the spec of the pipeline that builds the same cache.
    public static func uniform(_ capture: Capture, keys keyEncoding: PageEncoding, values valueEncoding: PageEncoding,
                               pageSize: Int = 16, keySparsity: Double = 0.5, valueSparsity: Double = 0.5,
                               policy: String? = nil) throws(LayoutError) -> CompressedCache {
        var sequences: [CompressedSequence] = []
        for seq in capture.sequences {
            var layers: [[HeadPages]] = []
            for layer in seq.layers {
                var heads: [HeadPages] = []
                let all = Array(0..<layer.tokenCount)
                for h in 0..<capture.model.kvHeads {
                    heads.append(try HeadPages.pack(
                        keys: layer.keys, values: layer.values, head: h, kept: all, positions: seq.positions.tokens,
                        encodings: Array(repeating: (keyEncoding, valueEncoding), count: all.count), pageSize: pageSize,
                        keySparsity: keySparsity, valueSparsity: valueSparsity))
                }
                layers.append(heads)
            }
            sequences.append(CompressedSequence(id: seq.id, originalTokens: seq.positions.tokens.count, layers: layers))
        }
        return try CompressedCache(model: capture.model, pageSize: pageSize,
                                   policy: policy ?? uniformPolicy(keys: keyEncoding, values: valueEncoding, keySparsity: keySparsity,
                                                                   valueSparsity: valueSparsity),
                                   sequences: sequences)
    }

    /// The policy spec of a uniform cache: KVPackPolicies' `quant` stage, which keeps every token
    /// in these encodings, e.g. `quant(keys=int4/c16,values=int8/g32)`; a bitmap side adds its
    /// sparsity (`key_sparsity=0.6`). It parses, and compresses to the same cache.
    public static func uniformPolicy(keys: PageEncoding, values: PageEncoding, keySparsity: Double = 0.5,
                                     valueSparsity: Double = 0.5) -> String {
        var arguments = ["keys=\(keys)", "values=\(values)"]
        if keys == .bitmap { arguments.append("key_sparsity=\(keySparsity)") }
        if values == .bitmap { arguments.append("value_sparsity=\(valueSparsity)") }
        return "quant(" + arguments.joined(separator: ",") + ")"
    }
}
