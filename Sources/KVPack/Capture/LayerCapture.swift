/// One layer of one captured sequence.
///
/// Shapes (checked by `validate(layer:against:)`):
/// - `keys`, `values`: `[kvHeads, tokens, headDim]`, post-RoPE, as the model's cache holds them;
/// - `queries`: `[qHeads, window, headDim]`, the observation window's post-RoPE queries;
/// - `probeQueries`: `[qHeads, probes, headDim]`, queries of tokens after the prompt (optional);
/// - `probeKeys`, `probeValues`: `[kvHeads, probes, headDim]`, those tokens' KV (optional, together).
public struct LayerCapture: Sendable, Equatable {
    public var keys: HeadTensor<Float16>
    public var values: HeadTensor<Float16>
    public var queries: HeadTensor<Float16>
    public var probeQueries: HeadTensor<Float16>?
    public var probeKeys: HeadTensor<Float16>?
    public var probeValues: HeadTensor<Float16>?

    public init(keys: HeadTensor<Float16>, values: HeadTensor<Float16>, queries: HeadTensor<Float16>,
                probeQueries: HeadTensor<Float16>? = nil, probeKeys: HeadTensor<Float16>? = nil,
                probeValues: HeadTensor<Float16>? = nil) {
        self.keys = keys
        self.values = values
        self.queries = queries
        self.probeQueries = probeQueries
        self.probeKeys = probeKeys
        self.probeValues = probeValues
    }

    /// Cached tokens in this layer.
    public var tokenCount: Int { keys.tokens }

    /// The tensor named `name`, if present.
    public func tensor(_ name: CaptureTensor) -> HeadTensor<Float16>? {
        switch name {
        case .keys: return keys
        case .values: return values
        case .queries: return queries
        case .probeQueries: return probeQueries
        case .probeKeys: return probeKeys
        case .probeValues: return probeValues
        }
    }

    /// Checks every shape against the model facts and the sequence's position counts, and
    /// that every element is finite.
    /// - Parameters:
    ///   - layer: this layer's index, for error messages.
    ///   - facts: the model facts the shapes must match.
    ///   - positions: the sequence's cached-token, window and probe position counts.
    /// - Throws: `CaptureError.shapeMismatch`, `.zeroTokens`, `.nonFinite` or
    ///   `.probeKeysWithoutValues`.
    public func validate(layer: Int, against facts: ModelFacts, positions: SequencePositions) throws(CaptureError) {
        let d = facts.headDim
        guard keys.tokens > 0 else { throw .zeroTokens(layer: layer) }
        let probeCount = positions.probes.count
        var expected: [(CaptureTensor, [Int])] = [
            (.keys, [facts.kvHeads, positions.tokens.count, d]),
            (.values, [facts.kvHeads, positions.tokens.count, d]),
            (.queries, [facts.queryHeads, positions.window.count, d]),
        ]
        if probeQueries != nil { expected.append((.probeQueries, [facts.queryHeads, probeCount, d])) }
        guard (probeKeys == nil) == (probeValues == nil) else { throw .probeKeysWithoutValues(layer: layer) }
        if probeKeys != nil {
            expected.append((.probeKeys, [facts.kvHeads, probeCount, d]))
            expected.append((.probeValues, [facts.kvHeads, probeCount, d]))
        }
        for (name, shape) in expected {
            guard let t = tensor(name) else { continue }
            guard t.shape == shape else {
                throw .shapeMismatch(layer: layer, tensor: name, expected: shape, found: t.shape)
            }
        }
        for name in CaptureTensor.allCases {
            if let t = tensor(name), let at = t.firstNonFinite() {
                throw .nonFinite(layer: layer, tensor: name, head: at.head, token: at.token, dim: at.dim)
            }
        }
    }
}
