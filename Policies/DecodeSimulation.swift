import KVPack

/// Decodes a capture's probe tokens through a live `CacheSession`, the way a server does: the
/// prompt is compressed at prefill, then each probe token's key and value are appended (f16) to
/// every head of every layer, its query attends over the session's pages, and every stage's
/// decode step runs on the live pages (PagedEviction evicts a block, ARKV re-tiers, Mustafar
/// prunes the token leaving its dense window). The dense reference keeps every token: it is what
/// the session is compared with, not part of it.
public struct DecodeSimulation: Sendable {
    /// Attention output of probe `i` over the compressed cache, per layer: `[layer][probe]`,
    /// each `[queryHeads, 1, headDim]`.
    public var outputs: [[HeadTensor<Float>]]
    /// The same over the dense cache (prompt + probes up to `i`).
    public var reference: [[HeadTensor<Float>]]
    /// Tokens each stored head held when probe `i` attended: `[layer][probe][head]`.
    public var keptCounts: [[[Int]]]
    /// What each stored head holds after the last step, `[layer][storedHead]`: `kept` indexes the
    /// sequence's tokens (prompt, then probes).
    public var finalHeads: [[HeadSelection]]
    /// Bytes of the cache after the last step (exact layout accounting).
    public var finalBytes: Int
    /// The session's cache after the last step.
    public var finalSequence: CompressedSequence

    /// Runs sequence `sequence` of `capture` (which must have probe queries, keys and values),
    /// the session attending on `backend` (the CPU by default).
    public static func run(_ pipeline: PolicyPipeline, capture: Capture, sequence s: Int = 0, pageSize: Int = 16,
                           backend: any SessionAttendBackend = CPUSessionBackend()) throws(PolicyError) -> DecodeSimulation {
        let seq = capture.sequences[s], m = capture.model
        for (l, layer) in seq.layers.enumerated() where layer.probeQueries == nil || layer.probeKeys == nil || layer.probeValues == nil {
            throw .badValue(policy: "decode", argument: "capture", value: "layer \(l)",
                            expected: "probe queries, keys and values (capture with --probes)")
        }
        do throws(SessionError) {
            let tokens = seq.positions.tokens.count + seq.positions.probes.count
            let pool = try backend.makePool(headDim: m.headDim, pageSize: pageSize,
                                            expectedBytes: 2 * 2 * tokens * m.kvHeads * m.headDim * m.layerCount)
            defer { backend.release(pool) }
            let session = try CacheSession(pool: pool, model: m, policy: pipeline)
            defer { session.close() }
            try session.prefill(SessionPrompt(positions: seq.positions.tokens, layers: seq.layers.map {
                .init(keys: $0.keys, values: $0.values, windowQueries: $0.queries.tokens > 0 ? $0.queries : nil)
            }))
            let all = seq.positions.tokens + seq.positions.probes
            let index = Dictionary(uniqueKeysWithValues: all.enumerated().map { ($1, $0) })
            var outputs: [[HeadTensor<Float>]] = [], reference: [[HeadTensor<Float>]] = [], kept: [[[Int]]] = []
            for (l, layer) in seq.layers.enumerated() {
                let pq = layer.probeQueries!, pk = layer.probeKeys!, pv = layer.probeValues!
                var keys = layer.keys, values = layer.values, positions = seq.positions.tokens
                var layerOut: [HeadTensor<Float>] = [], layerRef: [HeadTensor<Float>] = [], layerKept: [[Int]] = []
                let window = m.layerKinds[l].windowSize
                for i in 0..<pq.tokens {
                    // i < pq.tokens: a validated capture's probes.
                    let k = try! pk.slicingTokens(i..<i + 1), v = try! pv.slicingTokens(i..<i + 1), p = seq.positions.probes[i]
                    try session.append(layer: l, keys: k, values: v, positions: [p])
                    keys = try! keys.appendingTokens(of: k)
                    values = try! values.appendingTokens(of: v)
                    positions.append(p)
                    layerKept.append(try session.tokenCounts(layer: l))
                    let q = try! pq.slicingTokens(i..<i + 1).floats()
                    layerOut.append(try backend.attend(session, layer: l, queries: q, positions: [p]))
                    do throws(AttentionError) {
                        let mask = try AttentionMask(keyPositions: positions, queryPositions: [p], window: window)
                        layerRef.append(try DenseAttention.attend(queries: q, keys: keys, values: values, mask: mask).output)
                    } catch {
                        throw .attention(error)
                    }
                }
                outputs.append(layerOut)
                reference.append(layerRef)
                kept.append(layerKept)
            }
            let final = try session.snapshot(id: seq.id)
            let finalHeads = final.layers.map { heads in
                heads.map { head in
                    HeadSelection(kept: head.positions.map { index[$0]! },
                                  keyEncodings: head.pages.flatMap { Array(repeating: $0.keys.encoding, count: $0.tokenCount) },
                                  valueEncodings: head.pages.flatMap { Array(repeating: $0.values.encoding, count: $0.tokenCount) })
                }
            }
            return DecodeSimulation(outputs: outputs, reference: reference, keptCounts: kept, finalHeads: finalHeads,
                                    finalBytes: final.byteCount, finalSequence: final)
        } catch .policy(let e as PolicyError) {
            throw e
        } catch {
            throw .session(error)
        }
    }
}
