extension CacheSession {
    /// Stores the prompt of every layer as the policy chooses: its prefill stages run on the
    /// prompt's keys, values and window queries, and only the kept tokens are written, encoded,
    /// into pool pages. The dense prompt is not retained.
    /// - Throws: `SessionError` for shapes that do not fit the model, positions that do not
    ///   increase, NaN / infinity, a layer that already holds tokens, a policy that refuses, or a
    ///   pool without room (nothing is stored then).
    public func prefill(_ prompt: SessionPrompt) throws(SessionError) {
        try validate(prompt)
        try state.withLock { (s: inout State) throws(SessionError) in
            try s.checkWritable()
            if let l = s.originalTokens.firstIndex(where: { $0 > 0 }) { throw .alreadyPrefilled(layer: l) }
            guard !prompt.positions.isEmpty else { return }
            let plan = try policy.prefill(prompt, model: model, pageSize: pageSize)
            let pages = try pack(prompt, plan: plan)
            let classes = pages.flatMap { $0.flatMap { $0.map { slotClass(of: $0, plan.keySparsity, plan.valueSparsity) } } }
            let slotBanks = pages.enumerated().flatMap { l, heads in heads.flatMap { $0.map { _ in banks[l] } } }
            let slots: [PageSlot]
            do throws(PoolError) { slots = try pool.allocate(classes, banks: slotBanks) } catch { throw .pool(error) }
            var next = 0
            s.layers = pages.map { heads in
                heads.map { headPages in
                    LiveHead(pages: headPages.map { page in
                        defer { next += 1 }
                        let live = LivePage.write(page, into: slots[next], slotClass: classes[next], pageSize: pageSize, dim: headDim)
                        pool.noteWrite(live.slot, live.usedRanges(dim: headDim))
                        return live
                    })
                }
            }
            s.deviceDirtyFrom = s.layers.map { $0.map { _ in 0 } }
            s.repeatFactor = plan.repeatFactor
            s.keySparsity = plan.keySparsity
            s.valueSparsity = plan.valueSparsity
            s.policyState = plan.state
            s.originalTokens = Array(repeating: prompt.positions.count, count: model.layerCount)
            s.lastPosition = Array(repeating: prompt.positions.last!, count: model.layerCount)
            let bytes = s.layers.reduce(0) { $0 + $1.reduce(0) { $0 + $1.byteCount(dim: headDim) } }
            let dense = 2 * 2 * prompt.positions.count * model.kvHeads * headDim * model.layerCount
            pool.metrics.compressionRatio.record(Double(bytes) / Double(max(1, dense)))
            LiveMetrics.sessionLogger.debug("prefill", metadata: [
                "policy": "\(policy)", "tokens": "\(prompt.positions.count)", "bytes": "\(bytes)", "denseBytes": "\(dense)",
            ])
        }
    }

    /// The slot class of a page written with the session's bitmap sparsities.
    func slotClass(of page: Page, _ keySparsity: Double, _ valueSparsity: Double) -> SlotClass {
        SlotClass(keyEncoding: page.keys.encoding, valueEncoding: page.values.encoding,
                  keyNonzerosPerRow: BitmapRows.kept(dim: headDim, sparsity: keySparsity),
                  valueNonzerosPerRow: BitmapRows.kept(dim: headDim, sparsity: valueSparsity))
    }

    private func validate(_ prompt: SessionPrompt) throws(SessionError) {
        let t = prompt.positions.count, d = headDim
        guard prompt.layers.count == model.layerCount else {
            throw .wrongShape(what: "prompt layers", expected: [model.layerCount], found: [prompt.layers.count])
        }
        for (i, p) in prompt.positions.enumerated() where p < 0 || (i > 0 && p <= prompt.positions[i - 1]) {
            throw .positionsNotIncreasing(layer: 0, position: p, after: i > 0 ? prompt.positions[i - 1] : -1)
        }
        for (l, layer) in prompt.layers.enumerated() {
            for (what, x) in [("prompt keys of layer \(l)", layer.keys), ("prompt values of layer \(l)", layer.values)] {
                guard x.shape == [model.kvHeads, t, d] else { throw .wrongShape(what: what, expected: [model.kvHeads, t, d], found: x.shape) }
                try CacheSession.checkFinite(x, what: what)
            }
            if let q = layer.windowQueries {
                guard q.heads == model.queryHeads, q.headDim == d, q.tokens <= t else {
                    throw .wrongShape(what: "window queries of layer \(l)", expected: [model.queryHeads, min(t, max(1, q.tokens)), d], found: q.shape)
                }
                try CacheSession.checkFinite(q, what: "window queries of layer \(l)")
            }
        }
    }

    static func checkFinite<S>(_ x: HeadTensor<S>, what: String) throws(SessionError) {
        let bad = x.withUnsafeBufferPointer { b -> Int? in
            for i in 0..<b.count where !b[i].isFinite { return i }
            return nil
        }
        if let bad { throw .nonFinite(what: what, token: (bad / x.headDim) % max(1, x.tokens)) }
    }

    /// The plan's pages, `[layer][storedHead][page]`.
    private func pack(_ prompt: SessionPrompt, plan: SessionPlan) throws(SessionError) -> [[[Page]]] {
        let stored = model.kvHeads * plan.repeatFactor, t = prompt.positions.count
        guard plan.repeatFactor >= 1, plan.layers.count == model.layerCount else {
            throw .policy(SessionPolicyMessage("prefill gave \(plan.layers.count) layers (repeat \(plan.repeatFactor)); the model has \(model.layerCount)"))
        }
        var out: [[[Page]]] = []
        for (l, heads) in plan.layers.enumerated() {
            guard heads.count == stored else { throw .policy(SessionPolicyMessage("prefill gave \(heads.count) heads for layer \(l); expected \(stored)")) }
            var layerPages: [[Page]] = []
            for (h, sel) in heads.enumerated() {
                try CacheSession.check(sel, tokens: t, layer: l)
                do {
                    let packed = try HeadPages.pack(
                        keys: prompt.layers[l].keys, values: prompt.layers[l].values, head: h / plan.repeatFactor, kept: sel.kept,
                        positions: prompt.positions, encodings: Array(zip(sel.keyEncodings, sel.valueEncodings)), pageSize: pageSize,
                        keySparsity: plan.keySparsity, valueSparsity: plan.valueSparsity)
                    layerPages.append(packed.pages)
                } catch {
                    throw .layout(error)
                }
            }
            out.append(layerPages)
        }
        return out
    }

    /// A selection must keep at least one of `tokens` tokens, in increasing order, each with
    /// its two encodings.
    static func check(_ sel: HeadSelection, tokens: Int, layer: Int) throws(SessionError) {
        guard !sel.kept.isEmpty, sel.keyEncodings.count == sel.kept.count, sel.valueEncodings.count == sel.kept.count else {
            throw .policy(SessionPolicyMessage("layer \(layer): a head must keep at least one token, with an encoding for each (kept \(sel.kept.count))"))
        }
        for (i, k) in sel.kept.enumerated() where k < 0 || k >= tokens || (i > 0 && k <= sel.kept[i - 1]) {
            throw .policy(SessionPolicyMessage("layer \(layer): kept token \(k) is out of 0..<\(tokens) or out of order"))
        }
    }
}
