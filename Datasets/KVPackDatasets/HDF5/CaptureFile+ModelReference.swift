import KVPack

extension CaptureFile {
    /// The dense model's stored next-token statistics for sequence `id`, or nil when the
    /// capture has none (synthetic captures, imports).
    /// - Throws: `CaptureFileError` when the datasets exist but are malformed.
    public func denseModelReference(of id: String) throws(CaptureFileError) -> DenseModelReference? {
        hdf5Lock.lock()
        defer { hdf5Lock.unlock() }
        let base = CaptureSchema.sequence(id)
        guard file.exists(base + "/token_logprobs") else { return nil }
        let ids = try file.readInts(base + "/token_ids")
        let logprobs = try file.readFloats(base + "/token_logprobs", rank: 1).values
        guard ids.count == logprobs.count + 1 else {
            throw .malformed(file: path, path: base + "/token_logprobs",
                             reason: "has \(logprobs.count) entries for \(ids.count) token ids (expected one fewer)")
        }
        let top = try file.readInts(base + "/probe_logprobs/top_ids", rank: 2)
        let topLogProbs = try file.readFloats(base + "/probe_logprobs/top_logprobs", rank: 2)
        let lse = try file.readFloats(base + "/probe_logprobs/logsumexp", rank: 1).values
        guard top.dims == topLogProbs.dims, top.dims[0] == lse.count else {
            throw .malformed(file: path, path: base + "/probe_logprobs",
                             reason: "top_ids \(top.dims), top_logprobs \(topLogProbs.dims) and logsumexp [\(lse.count)] disagree")
        }
        return DenseModelReference(
            tokenIDs: ids, tokenLogProbs: logprobs, storedPerplexity: try file.numberAttribute(base, "perplexity"),
            probeTopIDs: top.values, probeTopLogProbs: topLogProbs.values, probeLogSumExp: lse, topK: top.dims[1])
    }
}
