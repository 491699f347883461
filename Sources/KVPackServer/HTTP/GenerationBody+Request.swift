import KVPackModel

extension GenerationBody {
    /// The scheduler's request for this body: the prompt tokenized (a chat through the model's
    /// template), every setting checked against the limits and the model's context.
    /// - Throws: `APIError` 400 naming the field at fault.
    func generationRequest(model: ServedModel, catalog: PolicyCatalog, limits: RequestLimits, chat: Bool) throws(APIError) -> GenerationRequest {
        if let n, n != 1 { throw .badRequest("invalid_value", "n = \(n): this server generates one choice per request", param: "n") }
        let maxTokens = self.maxTokens ?? min(limits.defaultMaxTokens, limits.maxTokens)
        guard maxTokens >= 1 else { throw .badRequest("invalid_value", "max_tokens must be at least 1; got \(maxTokens)", param: "max_tokens") }
        guard maxTokens <= limits.maxTokens else {
            throw .badRequest("max_tokens_exceeded", "max_tokens = \(maxTokens) is over this server's limit of \(limits.maxTokens)", param: "max_tokens")
        }
        let temperature = self.temperature ?? 1, topP = self.topP ?? 1
        guard temperature.isFinite, (0...2).contains(temperature) else {
            throw .badRequest("invalid_value", "temperature must be in [0, 2] (0: greedy); got \(temperature)", param: "temperature")
        }
        guard topP > 0, topP <= 1 else { throw .badRequest("invalid_value", "top_p must be in (0, 1]; got \(topP)", param: "top_p") }
        guard stop.count <= limits.maxStops else {
            throw .badRequest("invalid_value", "\(stop.count) stop strings; at most \(limits.maxStops)", param: "stop")
        }
        guard !stop.contains(where: \.isEmpty) else { throw .badRequest("invalid_value", "stop strings must not be empty", param: "stop") }
        let policy = try catalog.resolve(self.policy)

        var prompt: [Int], shared: Int?, stopTokens = Set<Int>()
        if chat {
            let template: ChatTemplate
            switch model.chat {
            case .success(let t): template = t
            case .failure(let e): throw APIError(status: 400, code: "chat_unsupported", message: e.description)
            }
            do throws(ChatTemplateError) {
                let r = try template.render(messages ?? [])
                (prompt, shared, stopTokens) = (r.tokens, r.systemPrefixLength, r.stopTokens)
            } catch {
                throw .badRequest("invalid_messages", error.description, param: "messages")
            }
        } else {
            do throws(TokenizerError) { prompt = try model.tokenizer.encode(self.prompt ?? "") } catch {
                throw .badRequest("invalid_prompt", "the prompt cannot be tokenized: \(error)", param: "prompt")
            }
            shared = nil
        }
        guard !prompt.isEmpty else { throw .badRequest("empty_prompt", "the prompt is empty", param: chat ? "messages" : "prompt") }
        guard prompt.count + maxTokens <= model.contextLength else {
            throw .badRequest("context_length_exceeded",
                              "the prompt has \(prompt.count) tokens and max_tokens is \(maxTokens): \(prompt.count + maxTokens) is over the context of \(model.contextLength) tokens",
                              param: chat ? "messages" : "prompt")
        }
        return GenerationRequest(prompt: prompt, sharedPrefixLength: shared, maxTokens: maxTokens,
                                 sampling: SamplingParameters(temperature: temperature, topP: topP, seed: seed), stops: stop,
                                 stopTokens: stopTokens, ignoreEndOfSequence: ignoreEOS, policy: policy)
    }
}
