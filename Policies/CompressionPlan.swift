import Dispatch
import KVPack
import Synchronization

/// What a pipeline of stages decides, before pages are built: for each sequence, layer and
/// stored head, the kept token indices (increasing) and each kept token's key and value encoding.
/// Eviction stages shrink `kept`; encoding stages rewrite `encodings`.
///
/// Stored heads are the model's KV heads, unless a stage asked for them to be repeated per query
/// head (`snapkv(gqa=repeat)`, as the original SnapKV code does): then there are `queryHeads`
/// stored heads and stored head `h` reads KV head `sourceHead(h)`.
public struct CompressionPlan: Sendable {
    public struct Head: Sendable, Hashable {
        public var kept: [Int]
        public var keyEncodings: [PageEncoding]
        public var valueEncodings: [PageEncoding]

        /// Keeps the tokens at `positionsInKept` (indices into `kept`), in order.
        mutating func restrict(to positionsInKept: [Int]) {
            let sorted = positionsInKept.sorted()
            kept = sorted.map { kept[$0] }
            keyEncodings = sorted.map { keyEncodings[$0] }
            valueEncodings = sorted.map { valueEncodings[$0] }
        }

        /// Appends token `index` (decode) in f16.
        mutating func append(_ index: Int) {
            kept.append(index)
            keyEncodings.append(.f16)
            valueEncodings.append(.f16)
        }
    }

    /// `[sequence][layer][storedHead]`.
    public var heads: [[[Head]]]
    /// Bitmap sparsity of keys and values (share of each row's elements pruned), for tokens
    /// whose encoding is `.bitmap`.
    public var keySparsity = 0.5
    public var valueSparsity = 0.5
    /// Most tokens per page (PagedEviction's block size).
    public let pageSize: Int
    /// What a stage decided at prefill and needs again at decode, by stage name
    /// (ARKV's per-layer original budgets): `[sequence][layer]`.
    public var stageState: [String: [[Int]]] = [:]
    /// Stored heads per KV head: 1, or the group size after `gqa=repeat`.
    public private(set) var repeatFactor = 1
    /// What the stages adapted without failing (a default fitted to the capture, an argument
    /// cut to fit a head), one line each, in order, without repeats.
    public private(set) var warnings: [String] = []

    /// Records a warning once.
    mutating func warn(_ line: String) { if !warnings.contains(line) { warnings.append(line) } }

    /// Every token kept, in f16.
    public init(capture: Capture, pageSize: Int = 16) {
        self.pageSize = pageSize
        heads = capture.sequences.map { seq in
            seq.layers.map { layer in
                Array(repeating: Head(kept: Array(0..<layer.tokenCount),
                                      keyEncodings: Array(repeating: .f16, count: layer.tokenCount),
                                      valueEncodings: Array(repeating: .f16, count: layer.tokenCount)),
                      count: capture.model.kvHeads)
            }
        }
    }

    init(pageSize: Int, heads: [[[Head]]], repeatFactor: Int) {
        self.pageSize = pageSize
        self.heads = heads
        self.repeatFactor = repeatFactor
    }

    /// The KV head that stored head `h` reads.
    public func sourceHead(_ h: Int) -> Int { h / repeatFactor }

    /// Query heads that attend to stored head `h`.
    public func queryHeads(of h: Int, model: ModelFacts) -> Range<Int> {
        let per = model.queryHeads / (model.kvHeads * repeatFactor)
        return h * per..<(h + 1) * per
    }

    /// Repeats every KV head once per query head of its group (the original SnapKV's layout:
    /// no GQA saving). Only from one stored head per KV head.
    mutating func repeatPerQueryHead(_ model: ModelFacts) {
        guard repeatFactor == 1, model.groupSize > 1 else { return }
        repeatFactor = model.groupSize
        heads = heads.map { $0.map { layer in layer.flatMap { Array(repeating: $0, count: model.groupSize) } } }
    }

    /// The model facts of the built cache: `kvHeads` counts stored heads.
    func storedModel(_ model: ModelFacts) -> ModelFacts {
        guard repeatFactor > 1 else { return model }
        var m = model
        m.kvHeads = model.kvHeads * repeatFactor
        return m
    }

    /// Exact bytes of a head holding `tokens` f16 tokens in pages of `pageSize`.
    public static func f16HeadBytes(tokens: Int, headDim: Int, pageSize: Int) -> Int {
        let pages = (tokens + pageSize - 1) / pageSize
        return HeadPages.directoryEntryBytes + pages * Page.tableEntryBytes
            + tokens * 4 + 2 * EncodedRows.byteCount(.f16, rows: tokens, dim: headDim)
    }

    /// Tokens each stored head keeps under `budget`, `[sequence][layer][storedHead]`. Shares and
    /// counts apply per head; a byte budget is shared by the whole cache: every head gets the
    /// same count `t` (or all it has, if fewer), the largest that fits, then heads in order get
    /// one more token at a time while the total still fits (so no head could take another).
    /// - Throws: `PolicyError.budgetTooSmall` when even one f16 token per head does not fit.
    public func allocate(_ budget: Budget, headDim: Int) throws(PolicyError) -> [[[Int]]] {
        guard case .bytes(let limit) = budget else {
            return heads.map { $0.map { $0.map { budget.count(of: $0.kept.count) } } }
        }
        let available = heads.flatMap { $0.flatMap { $0.map(\.kept.count) } }
        let cost = { (t: Int) -> Int in
            available.reduce(0) { $0 + CompressionPlan.f16HeadBytes(tokens: min(t, $1), headDim: headDim, pageSize: pageSize) }
        }
        let minimum = cost(1)
        guard minimum <= limit else { throw .budgetTooSmall(bytes: limit, minimum: minimum) }
        var lo = 1, hi = max(1, available.max() ?? 1)
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if cost(mid) <= limit { lo = mid } else { hi = mid - 1 }
        }
        var counts = available.map { min(lo, $0) }
        var total = cost(lo)
        var grew = true
        while grew { // passes of one more token per head, in order, while any fits
            grew = false
            for i in counts.indices where counts[i] < available[i] {
                let extra = CompressionPlan.f16HeadBytes(tokens: counts[i] + 1, headDim: headDim, pageSize: pageSize)
                    - CompressionPlan.f16HeadBytes(tokens: counts[i], headDim: headDim, pageSize: pageSize)
                if total + extra <= limit {
                    counts[i] += 1
                    total += extra
                    grew = true
                }
            }
        }
        var it = counts.makeIterator()
        return heads.map { $0.map { $0.map { _ in it.next()! } } }
    }

    /// Packs the plan's kept tokens into pages, layers in parallel.
    public func build(_ capture: Capture, policy: String) throws(PolicyError) -> CompressedCache {
        let jobs = capture.sequences.indices.flatMap { s in capture.sequences[s].layers.indices.map { (s, $0) } }
        let results = Mutex([Result<[HeadPages], PolicyError>?](repeating: nil, count: jobs.count))
        DispatchQueue.concurrentPerform(iterations: jobs.count) { i in
            let (s, l) = jobs[i]
            let seq = capture.sequences[s], layer = seq.layers[l]
            let r = Result { () throws(PolicyError) in
                try buildLayer(s, l, keys: layer.keys, values: layer.values, positions: seq.positions.tokens)
            }
            results.withLock { $0[i] = r }
        }
        let built = results.withLock { $0 }
        var sequences: [CompressedSequence] = []
        var next = 0
        for seq in capture.sequences {
            var layers: [[HeadPages]] = []
            for _ in seq.layers.indices {
                layers.append(try built[next]!.get())
                next += 1
            }
            sequences.append(CompressedSequence(id: seq.id, originalTokens: seq.positions.tokens.count, layers: layers))
        }
        do {
            return try CompressedCache(model: storedModel(capture.model), pageSize: pageSize, policy: policy, sequences: sequences,
                                       denseKVHeads: capture.model.kvHeads)
        } catch {
            throw .layout(error)
        }
    }

    /// Packs one layer's stored heads from `keys`/`values` `[kvHeads, tokens, headDim]` whose
    /// tokens sit at `positions`: the prompt's tensors, or the prompt's plus decoded tokens.
    public func buildLayer(_ s: Int, _ l: Int, keys: HeadTensor<Float16>, values: HeadTensor<Float16>,
                           positions: [Int]) throws(PolicyError) -> [HeadPages] {
        do {
            var out: [HeadPages] = []
            for (h, head) in heads[s][l].enumerated() {
                out.append(try HeadPages.pack(keys: keys, values: values, head: sourceHead(h), kept: head.kept,
                                              positions: positions,
                                              encodings: Array(zip(head.keyEncodings, head.valueEncodings)),
                                              pageSize: pageSize, keySparsity: keySparsity, valueSparsity: valueSparsity))
            }
            return out
        } catch {
            throw .layout(error)
        }
    }
}
