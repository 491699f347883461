import Foundation
import KVPack

/// One sequence's part of a batched decode step (`LanguageModel.decode(_:attend:)`).
public struct DecodeRequest: Sendable {
    /// The sequence's session (a session of this model).
    public var session: CacheSession
    /// The sequence's next token ids: one in plain decoding, several for the rest of a prompt or
    /// drafted tokens to verify.
    public var tokens: [Int]
    /// The position of `tokens[0]`, after every position the session holds.
    public var start: Int

    public init(session: CacheSession, tokens: [Int], start: Int) {
        self.session = session
        self.tokens = tokens
        self.start = start
    }
}

extension LanguageModel {
    /// One decode step over a batch of sequences: the rows of every sequence's tokens go through
    /// the matrix products together (one GEMM per weight matrix for the whole batch), each layer's
    /// keys and values are appended to each sequence's session, and the layer's attention of the
    /// whole batch is one `attend.attend(_:layer:scale:)` call (the sessions' decode stages acting
    /// after it). The same computation as `forward(_:startingAt:session:)` per sequence.
    /// - Parameters:
    ///   - batch: one request per sequence, each session at most once.
    ///   - attend: where the layers' attention runs.
    /// - Returns: per request, in order, the next-token logits of its last token (`[1,
    ///   vocabularySize]`), or why it failed: a bad request (empty or out-of-range tokens, a
    ///   negative start, a session of another model or repeated in the batch, more tokens than
    ///   the backend takes) is refused before anything is appended; a session refusing at some
    ///   layer (a full pool, positions not increasing) fails that sequence alone, which keeps the
    ///   layers before it and cannot continue (close it). The others go on.
    public func decode(_ batch: [DecodeRequest], attend: some BatchAttendBackend = CPUBatchAttend()) async -> [Result<Logits, ModelError>] {
        var results = [Result<Logits, ModelError>?](repeating: nil, count: batch.count)
        var seen = Set<ObjectIdentifier>()
        var alive: [Int] = []
        for (i, r) in batch.enumerated() {
            do throws(ModelError) {
                try checkSession(r.session)
                try checkTokens(r.tokens)
                guard r.start >= 0 else { throw .invalidPositions("the first position is \(r.start); positions start at 0") }
                if let most = attend.maxQueryTokens, r.tokens.count > most {
                    throw .invalidPositions("\(r.tokens.count) tokens in one step; this attend backend takes at most \(most) per sequence")
                }
                guard seen.insert(ObjectIdentifier(r.session)).inserted else { throw .session(.repeatedInBatch) }
                alive.append(i)
            } catch {
                results[i] = .failure(error)
            }
        }
        guard !alive.isEmpty else { return results.map { $0! } }

        // Rows: every alive sequence's tokens, one after another.
        var segments: [Int: Range<Int>] = [:]
        var tokens: [Int] = [], positions: [Int] = []
        for i in alive {
            let r = batch[i]
            segments[i] = tokens.count..<tokens.count + r.tokens.count
            tokens += r.tokens
            positions += Array(r.start..<r.start + r.tokens.count)
        }
        let scale = hyperparameters.attentionScale
        var pass = DecoderPass(model: self, tokens: tokens, positions: positions)
        for l in 0..<hyperparameters.layerCount {
            pass.attentionInputs(layer: l)
            var requests: [CacheSession.AttendRequest] = [], owners: [Int] = []
            for i in alive {
                let rows = segments[i]!, r = batch[i]
                let (q, k, v) = pass.headTensors(rows: rows)
                let p = Array(r.start..<r.start + r.tokens.count)
                do throws(SessionError) {
                    try r.session.append(layer: l, keys: k, values: v, positions: p)
                    requests.append(CacheSession.AttendRequest(session: r.session, queries: q, positions: p))
                    owners.append(i)
                } catch {
                    results[i] = .failure(.session(error))
                    pass.clearAttentionOutput(rows: rows)
                }
            }
            let outputs = requests.isEmpty ? [] : await attend.attend(requests, layer: l, scale: scale)
            for (i, output) in zip(owners, outputs) {
                switch output {
                case .success(let o): pass.setAttentionOutput(o, firstRow: segments[i]!.lowerBound)
                case .failure(let e):
                    results[i] = .failure(.session(e))
                    pass.clearAttentionOutput(rows: segments[i]!)
                }
            }
            alive.removeAll { results[$0] != nil }
            if alive.isEmpty { return results.map { $0! } }
            pass.finishLayer(l)
        }
        let hidden = pass.finish()
        let lastRows = alive.map { segments[$0]!.upperBound - 1 }
        let logits = outputHead(hidden, rows: lastRows)
        let v = hyperparameters.vocabularySize
        for (k, i) in alive.enumerated() {
            results[i] = .success(Logits(rows: 1, vocabularySize: v, values: Array(logits[k * v..<(k + 1) * v])))
        }
        return results.map { $0! }
    }

    /// `[rows.count, vocabularySize]` logits of the given rows of `hidden` (`[_, d_model]`),
    /// soft-capped when the model says so; one product for all of them.
    func outputHead(_ hidden: [Float], rows: [Int]) -> [Float] {
        let hp = hyperparameters, v = hp.vocabularySize, d = hp.embeddingLength
        var gathered = [Float](repeating: 0, count: rows.count * d)
        hidden.withUnsafeBufferPointer { hb in
            gathered.withUnsafeMutableBufferPointer { gb in
                for (k, r) in rows.enumerated() { (gb.baseAddress! + k * d).update(from: hb.baseAddress! + r * d, count: d) }
            }
        }
        var out = [Float](repeating: 0, count: rows.count * v)
        gathered.withUnsafeBufferPointer { gb in
            out.withUnsafeMutableBufferPointer { ob in
                weights.output.apply(gb.baseAddress!, rows: rows.count, into: ob.baseAddress!)
                if let cap = hp.finalLogitSoftcap {
                    for i in 0..<ob.count { ob[i] = cap * tanhf(ob[i] / cap) }
                }
            }
        }
        return out
    }
}
