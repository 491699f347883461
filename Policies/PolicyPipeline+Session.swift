import KVPack

/// What a pipeline keeps in a session between decode steps: the budgets its stages resolved at
/// prefill (`CompressionPlan.stageState`).
struct PipelineSessionState: Sendable {
    var stageState: [String: [[Int]]]
}

extension PolicyPipeline: SessionPolicy {
    /// Runs the pipeline's prefill stages on the prompt (a one-sequence capture of it).
    public func prefill(_ prompt: SessionPrompt, model: ModelFacts, pageSize: Int) throws(SessionError) -> SessionPlan {
        let plan: CompressionPlan
        do throws(PolicyError) {
            plan = try self.plan(try Self.capture(prompt, model: model), pageSize: pageSize)
        } catch {
            throw .policy(error)
        }
        return SessionPlan(layers: plan.heads[0].map { $0.map { HeadSelection(kept: $0.kept, keyEncodings: $0.keyEncodings,
                                                                              valueEncodings: $0.valueEncodings) } },
                           repeatFactor: plan.repeatFactor, keySparsity: plan.keySparsity, valueSparsity: plan.valueSparsity,
                           state: PipelineSessionState(stageState: plan.stageState))
    }

    public var hasDecodeStages: Bool { stages.contains { $0.actsAtDecode } }

    /// Runs every stage's decode step on the layer's live heads.
    public func decodeStep(_ step: inout LiveDecodeStep) throws(SessionError) {
        let state = step.state as? PipelineSessionState ?? PipelineSessionState(stageState: [:])
        var plan = CompressionPlan(live: step, stageState: state.stageState)
        let decode = DecodeStep(step)
        do throws(PolicyError) {
            for stage in stages where stage.actsAtDecode { try stage.decodeStep(&plan, step: decode) }
        } catch {
            throw .policy(error)
        }
        step.selections = plan.heads[0][step.layer].map {
            HeadSelection(kept: $0.kept, keyEncodings: $0.keyEncodings, valueEncodings: $0.valueEncodings)
        }
        step.state = PipelineSessionState(stageState: plan.stageState)
    }

    /// The prompt as a one-sequence capture (its window queries, when given, at the prompt's last
    /// positions).
    static func capture(_ prompt: SessionPrompt, model: ModelFacts) throws(PolicyError) -> Capture {
        let window = prompt.layers.first?.windowQueries?.tokens ?? 0
        do {
            let positions = try SequencePositions(tokens: prompt.positions, window: Array(prompt.positions.suffix(window)))
            let layers = prompt.layers.map {
                LayerCapture(keys: $0.keys, values: $0.values,
                             queries: $0.windowQueries ?? (try! HeadTensor(zeros: model.queryHeads, 0, model.headDim))) // validated model facts
            }
            return try Capture(model: model, sequences: [SequenceCapture(id: "session", facts: model, positions: positions, layers: layers)])
        } catch {
            throw .badValue(policy: "session", argument: "prompt", value: "\(prompt.positions.count) tokens", expected: error.description)
        }
    }
}

extension CompressionPlan {
    /// The plan of one live layer: every token each stored head holds now, in its encodings; the
    /// other layers empty.
    init(live step: LiveDecodeStep, stageState: [String: [[Int]]]) {
        self.init(pageSize: 1, heads: [step.model.layerKinds.indices.map { l in
            l == step.layer ? step.selections.map { Head(kept: $0.kept, keyEncodings: $0.keyEncodings, valueEncodings: $0.valueEncodings) } : []
        }], repeatFactor: step.repeatFactor)
        self.stageState = stageState
    }
}
