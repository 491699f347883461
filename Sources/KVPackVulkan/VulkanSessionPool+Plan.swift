import KVPack

extension VulkanSessionPool {
    /// The decodes planned (one per bank and model shape) on `lane`'s buffers, and their own data
    /// staged there (directories, queries, query words); chained, their commands recorded too.
    func plan(_ call: inout CallInFlight, reads: CallReads, layer: Int, scale: Float?, options: DecodeOptions, lane: SubmissionLane) {
        let batch = call.batch, active = call.active, heads = reads.heads
        func fail(_ a: Active, _ e: DeviceSessionError) { self.fail(a, e, layer: layer, in: &call) }
        // One decode per bank (and model shape): the sessions as sequences.
        var groups: [BankCallKey: [Int]] = [:], order: [BankCallKey] = []
        for k in active.indices {
            let m = batch[active[k].index].session.model
            let key = BankCallKey(bank: active[k].read.bank, queryHeads: m.queryHeads, kvHeads: m.kvHeads)
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(k)
        }
        var planned: [Planned] = []
        var failedActive = Set<Int>()
        var madeHere = 0, planning = Duration.zero
        defer { (call.plansMade, call.planningSeconds) = (madeHere, planning.seconds) }
        for key in order {
            let members = groups[key]!
            let model = batch[active[members[0]].index].session.model
            do throws(VulkanError) {
                // Each bank and model shape keeps its own buffers and descriptor set, so that a
                // call binds what the previous call over that bank bound (a set per group index
                // was rebound whenever the layers' sessions lay in other banks than last call's).
                let bankCall: BankCall
                if let reused = lane.bankCalls[key] {
                    bankCall = reused
                } else {
                    let started = ContinuousClock.now
                    bankCall = try BankCall(context)
                    lane.bankCalls[key] = bankCall
                    planning += .now - started
                }
                var directory: [UInt32] = [], queries: [[Float]] = [], positions: [Int] = []
                queries.reserveCapacity(members.count)
                positions.reserveCapacity(members.count)
                directory.reserveCapacity(4 * members.count * model.kvHeads)
                var facts = DeviceKVCache.LayerFacts(kinds: [], groupings: [], maxPages: 0, bytesRead: 0)
                facts.codeAlignment = 16
                var masked = false
                for k in members {
                    let i = active[k].index, first = active[k].firstHead
                    queries.append(batch[i].queries.storage)
                    positions.append(batch[i].positions[0])
                    masked = masked || active[k].masked
                    for h in first..<first + model.kvHeads {
                        let t = heads[h]
                        directory.append(UInt32(t.offset))
                        directory.append(UInt32(t.pages))
                        directory.append(0)
                        directory.append(0)
                        facts.maxPages = max(facts.maxPages, t.pages)
                        facts.bytesRead += HeadPages.directoryEntryBytes + t.bytes
                        if let runs = t.runs {
                            for (c, _) in runs where !facts.classes.contains(c) { facts.classes.append(c) }
                        } else if let c = t.firstClass, !facts.classes.contains(c) {
                            facts.classes.append(c)
                        }
                    }
                }
                for c in facts.classes {
                    facts.kinds.formUnion(c.kinds)
                    facts.groupings.formUnion(c.groupings)
                }
                facts.maxPageTokens = pool.pageSize
                // Planned for a rounded count, so that the plan serves again as the heads grow.
                facts.maxPages = DecodeCall.plannedPages(forMost: facts.maxPages)
                var opts = options
                // Heads whose pages run class by class in one order (a quantized prompt, then the
                // f16 pages appended since) get one pass per class; others, one kernel for all.
                var headClassCounts: [[Int]]? = nil
                let memberHeads = members.lazy.flatMap { k in heads[active[k].firstHead..<active[k].firstHead + model.kvHeads] }
                if facts.classes.count > 1, let classOrder = Self.classOrder(memberHeads) {
                    facts.classes = classOrder
                    headClassCounts = memberHeads.map { t in
                        var counts = Array(repeating: 0, count: classOrder.count)
                        for (c, n) in t.allRuns { counts[classOrder.firstIndex(of: c)!] += n }
                        return counts
                    }
                } else {
                    facts.classes.sort()
                    if facts.classes.count > 1, opts.kernel == .automatic { opts.kernel = DecodeKernel.choose(for: facts.kinds) }
                }
                if let scale { opts.scale = scale }
                try bankCall.reserve(directoryBytes: 4 * directory.count)
                let window = model.layerKinds[layer].windowSize
                // A plan made for an earlier call over this bank serves again while what it was made
                // from is unchanged (a decode step changes the positions and, every few pages, the
                // planned pages).
                let planKey = CallPlanKey(sequences: members.count, maxPages: facts.maxPages, masked: masked, window: window,
                                          classes: facts.classes, options: opts, directory: ObjectIdentifier(bankCall.directory))
                let call: DecodeCall
                if headClassCounts == nil, let known = bankCall.plans[planKey] {
                    call = known
                    call.rebind()
                    plansReused += 1
                } else {
                    let started = ContinuousClock.now
                    defer { planning += .now - started }
                    let oneLayer: ModelFacts
                    do {
                        oneLayer = try ModelFacts(name: model.name, queryHeads: model.queryHeads, kvHeads: model.kvHeads, headDim: model.headDim,
                                                  layerKinds: [model.layerKinds[layer]])
                    } catch { throw .unsupported("\(error)") }
                    let view = DeviceKVCache(liveView: oneLayer, sequences: members.count, pageSize: pool.pageSize, directory: bankCall.directory,
                                             hostDirectory: directory, table: tables[key.bank], bank: banks[key.bank], facts: facts,
                                             headClassCounts: headClassCounts)
                    call = try DecodeCall(context, cache: view, layer: 0, queryFloats: members.count * model.queryHeads * model.headDim, hostQueries: nil,
                                          mask: masked ? DecodeMask(queryPositions: positions, window: window) : nil,
                                          options: opts, reusing: bankCall.buffers)
                    // A call with one pass per class is planned from its heads' pages: not kept.
                    if headClassCounts == nil { bankCall.keep(call, for: planKey) }
                    madeHere += 1
                }
                let words = DecodeCall.queryWords(positions: masked ? positions : nil, sequences: members.count, kvHeads: model.kvHeads,
                                                  fused: call.launch.fusedMerge)
                planned.append(Planned(members: members, call: call, directory: directory, queries: queries,
                                       queryWords: words, floats: members.count * model.queryHeads * model.headDim))
            } catch {
                for k in members {
                    failedActive.insert(k)
                    fail(active[k], .device(error))
                }
            }
        }

        call.failedActive = failedActive
        call.planned = planned
        guard !planned.isEmpty else { return }
        let frame = lane.frame
        do throws(VulkanError) {
            try stageOwnData(&call.planned, frame: frame)
            if frame.chained {
                // Chained, the decodes' batch is recorded now, outside the turn; the uploads' batch
                // (recorded in turn) goes ahead of it.
                try frame.beginMain()
                call.outputAt = recordDecodes(call.planned, frame: frame)
            }
        } catch {
            failRemaining(&call, with: error, layer: layer, frame: frame)
        }
    }

    /// The class order every head's pages follow (`ClassOrder`), nil when there is none.
    private static func classOrder(_ heads: some Sequence<RegionDirectory.HeadTable>) -> [EncodingClass]? {
        var order = ClassOrder()
        for h in heads { order.add(runs: h.allRuns) }
        return order.resolved()
    }
}
