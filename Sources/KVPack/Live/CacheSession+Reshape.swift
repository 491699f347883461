extension CacheSession {
    /// A token of a page being re-packed: where it is now and the encodings it gets.
    private struct MovedToken {
        var page: Int
        var row: Int
        var keyEncoding: PageEncoding
        var valueEncoding: PageEncoding
    }

    private enum Planned {
        case keep(LivePage)
        case build([MovedToken])
    }

    /// Applies a policy's selections to `layer`: pages whose tokens are all evicted go back to the
    /// pool; pages whose tokens all stay with their encodings are untouched; the tokens of other
    /// pages are re-packed (runs of one encoding pair, up to a page each; a run joins the page
    /// before it when that page has the same encodings and room). Rows that keep their encoding
    /// move as they are (no re-encoding) unless channel-axis groups span them; rows that change
    /// encoding are encoded from their current values.
    func reshape(_ s: inout State, layer l: Int, selections: [HeadSelection]) throws(SessionError) {
        let heads = s.layers[l]
        guard selections.count == heads.count else {
            throw .policy(SessionPolicyMessage("decode step gave \(selections.count) heads for layer \(l); it has \(heads.count)"))
        }
        var plans: [[Planned]?] = []
        for (h, head) in heads.enumerated() {
            let sel = selections[h]
            try CacheSession.check(sel, tokens: head.tokenCount, layer: l)
            for e in sel.keyEncodings + sel.valueEncodings {
                do { try EncodedRows.validate(e, dim: headDim) } catch { throw .layout(error) }
            }
            plans.append(plan(head, sel))
        }
        // Build the new pages (copies, nothing in the pool changes yet).
        var built: [[Page]] = []
        var classes: [SlotClass] = []
        for (h, p) in plans.enumerated() {
            guard let p else { built.append([]); continue }
            var pages: [Page] = []
            for case .build(let tokens) in p {
                for run in CacheSession.runs(tokens, pageSize: pageSize) {
                    let page = try build(run, from: heads[h], s)
                    pages.append(page)
                    classes.append(slotClass(of: page, s.keySparsity, s.valueSparsity))
                }
            }
            built.append(pages)
        }
        let slots: [PageSlot]
        do throws(PoolError) { slots = try pool.allocate(classes, bank: banks[l]) } catch { throw .pool(error) }
        // Commit.
        var next = 0, freed: [PageSlot] = []
        for (h, p) in plans.enumerated() {
            guard let p else { continue }
            let kept = Set(p.compactMap { if case .keep(let page) = $0 { return page.slot } else { return nil } })
            freed += heads[h].pages.map(\.slot).filter { !kept.contains($0) }
            var pages: [LivePage] = [], b = built[h].makeIterator()
            for item in p {
                switch item {
                case .keep(let page):
                    pages.append(page)
                case .build(let tokens):
                    for _ in CacheSession.runs(tokens, pageSize: pageSize) {
                        let live = LivePage.write(b.next()!, into: slots[next], slotClass: classes[next], pageSize: pageSize, dim: headDim)
                        pool.noteWrite(live.slot, live.usedRanges(dim: headDim))
                        pages.append(live)
                        next += 1
                    }
                }
            }
            s.layers[l][h] = LiveHead(pages: pages)
            s.markDirty(layer: l, head: h, from: 0)
        }
        pool.release(freed, evicted: true)
        LiveMetrics.sessionLogger.trace("decode step re-packed pages", metadata: [
            "layer": "\(l)", "freed": "\(freed.count)", "written": "\(slots.count)",
        ])
    }

    /// nil when the selection changes nothing.
    private func plan(_ head: LiveHead, _ sel: HeadSelection) -> [Planned]? {
        var target: [Int: (PageEncoding, PageEncoding)] = [:]
        for (i, k) in sel.kept.enumerated() { target[k] = (sel.keyEncodings[i], sel.valueEncodings[i]) }
        var out: [Planned] = [], pending: [MovedToken] = []
        var changed = false
        func flush() {
            guard !pending.isEmpty else { return }
            // Join the page before when it has the run's encodings and room.
            if case .keep(let before)? = out.last, before.tokens < pageSize, before.slotClass.keyEncoding == pending[0].keyEncoding,
               before.slotClass.valueEncoding == pending[0].valueEncoding,
               let p = head.pages.firstIndex(where: { $0.slot == before.slot }) {
                out.removeLast()
                pending = (0..<before.tokens).map {
                    MovedToken(page: p, row: $0, keyEncoding: before.slotClass.keyEncoding, valueEncoding: before.slotClass.valueEncoding)
                } + pending
            }
            out.append(.build(pending))
            pending = []
        }
        var index = 0
        for (p, page) in head.pages.enumerated() {
            var rows: [MovedToken] = []
            var same = true
            for r in 0..<page.tokens {
                if let (k, v) = target[index + r] {
                    rows.append(MovedToken(page: p, row: r, keyEncoding: k, valueEncoding: v))
                    if k != page.slotClass.keyEncoding || v != page.slotClass.valueEncoding { same = false }
                } else {
                    same = false
                }
            }
            index += page.tokens
            if same {
                flush()
                out.append(.keep(page))
            } else {
                changed = true
                pending += rows
            }
        }
        flush()
        return changed ? out : nil
    }

    /// Splits tokens into runs of one encoding pair of at most `pageSize` tokens.
    private static func runs(_ tokens: [MovedToken], pageSize: Int) -> [ArraySlice<MovedToken>] {
        var out: [ArraySlice<MovedToken>] = []
        var start = 0
        while start < tokens.count {
            var end = start + 1
            while end < tokens.count, end - start < pageSize, tokens[end].keyEncoding == tokens[start].keyEncoding,
                  tokens[end].valueEncoding == tokens[start].valueEncoding { end += 1 }
            out.append(tokens[start..<end])
            start = end
        }
        return out
    }

    /// One new page of `run` (one encoding pair), from the head's current pages.
    private func build(_ run: ArraySlice<MovedToken>, from head: LiveHead, _ s: State) throws(SessionError) -> Page {
        let first = run[run.startIndex]
        var keySources: [Int: EncodedRows] = [:], valueSources: [Int: EncodedRows] = [:]
        for t in run where keySources[t.page] == nil {
            keySources[t.page] = head.pages[t.page].keys(dim: headDim)
            valueSources[t.page] = head.pages[t.page].values(dim: headDim)
        }
        do {
            let rows = run.map { (page: $0.page, row: $0.row) }
            let keys = try CacheSession.assemble(rows, from: keySources, as: first.keyEncoding, dim: headDim, sparsity: s.keySparsity)
            let values = try CacheSession.assemble(rows, from: valueSources, as: first.valueEncoding, dim: headDim,
                                                   sparsity: s.valueSparsity)
            return try Page(positions: run.map { head.pages[$0.page].positions[$0.row] }, keys: keys, values: values)
        } catch {
            throw .layout(error)
        }
    }

    /// Rows (a source page and a row of it) in `encoding`: moved as they are where they already
    /// have it and stand alone, else decoded (each source page once) and encoded.
    private static func assemble(_ picks: [(page: Int, row: Int)], from sources: [Int: EncodedRows], as encoding: PageEncoding,
                                 dim: Int, sparsity: Double) throws(LayoutError) -> EncodedRows {
        var decoded: [Int: [Float16]] = [:]
        func row(_ page: Int, _ r: Int) -> ArraySlice<Float16> {
            if decoded[page] == nil { decoded[page] = sources[page]!.decode() }
            return decoded[page]![r * dim..<(r + 1) * dim]
        }
        if !encoding.rowsStandAlone {
            var rows: [Float16] = []
            for (page, r) in picks { rows += row(page, r) }
            return try EncodedRows.encode(rows, rows: picks.count, dim: dim, as: encoding, sparsity: sparsity)
        }
        var pieces: [(rows: EncodedRows, row: Int)] = []
        for (page, r) in picks {
            let src = sources[page]!
            if src.encoding == encoding {
                pieces.append((src, r))
            } else {
                pieces.append((try EncodedRows.encode(Array(row(page, r)), rows: 1, dim: dim, as: encoding, sparsity: sparsity), 0))
            }
        }
        return try EncodedRows.gathering(pieces, encoding: encoding, dim: dim)
    }
}
