import CVulkan
import KVPack

extension VulkanSessionPool {
    /// Attends a batch of sessions over `layer` in one submission: each request's one query
    /// token per query head over its session's pages in this pool's banks, masked by position
    /// (causal, and the layer's sliding window) where a kept key lies past the query or the
    /// layer has a window. Then, with `runPolicy`, each session's decode stages act on the CPU,
    /// as `CacheSession.attend` runs them.
    ///
    /// Suspends (no thread blocked) while the device runs. Calls from several tasks (over different
    /// sessions) are prepared one at a time, and up to `callsInFlight` are on the device at once:
    /// one call's host work runs while the device runs another.
    /// - Parameters:
    ///   - batch: queries `[queryHeads, 1, headDim]` and their position, one request per session.
    ///   - options: kernel options (`DecodeOptions`); a layer whose pages mix encodings runs the
    ///     one kernel that reads them all.
    /// - Returns: per request, in order, the output `[queryHeads, 1, headDim]` or why it failed
    ///   (a failing request does not stop the others; a lost device fails them all).
    public func attend(_ batch: [CacheSession.AttendRequest], layer: Int, scale: Float? = nil, runPolicy: Bool = true,
                       options: DecodeOptions = .init()) async -> [Result<HeadTensor<Float>, DeviceSessionError>] {
        await attendTimed(batch, layer: layer, scale: scale, runPolicy: runPolicy, options: options).results
    }

    /// `attend`, with the call's own timing (nil where the call submitted nothing, failed, or the
    /// queue has no timestamps): with calls in flight at once, `lastTiming` is only the last to
    /// finish. A call's `hostSeconds` counts its own host work, some of which ran while the device
    /// ran an earlier call.
    public func attendTimed(_ batch: [CacheSession.AttendRequest], layer: Int, scale: Float? = nil, runPolicy: Bool = true,
                            options: DecodeOptions = .init()) async
        -> (results: [Result<HeadTensor<Float>, DeviceSessionError>], timing: SessionAttendTiming?) {
        // The requests' own checks (shapes, a scan of every query) need nothing the gate guards:
        // done before it, so that calls from other tasks are not held up behind them.
        let refused = batch.map { Self.check($0) }
        // A free lane (its previous call has read its outputs), then the reads and page tables in
        // turn with other calls (`readLock`), whose order is the order of submission (`turn`);
        // the plans and the call's own staging run beside other calls' host work.
        let lane = lanes[await freeLanes.acquire()]
        let alone = callsOneAtATime
        if alone { await oneAtATime.enter() }
        var marks = CallMarks(start: .now)
        var call = CallInFlight(batch)
        let reads = beginReads(batch, refused: refused, layer: layer, call: &call)
        marks.read = .now
        plan(&call, reads: reads, layer: layer, scale: scale, options: options, lane: lane)
        marks.prepared = .now
        await turn.enter(reads.ticket)
        await submitInTurn(&call, reads: reads, layer: layer, lane: lane, marks: &marks)
        await turn.leave()
        if alone { await oneAtATime.leave() }
        var timing: SessionAttendTiming?
        await finish(&call, layer: layer, runPolicy: runPolicy, lane: lane, marks: &marks, timing: &timing)
        await freeLanes.release(lane.index)
        if var t = timing {
            let end = ContinuousClock.now
            t.hostSeconds = (end - marks.start).seconds - t.waitSeconds
            if let read = marks.read, let prepared = marks.prepared, let submitted = marks.submitted, let resumed = marks.resumed {
                t.prepareSeconds = (prepared - marks.start).seconds
                t.readSeconds = (read - marks.start).seconds
                t.plansMade = call.plansMade
                t.planningSeconds = call.planningSeconds
                t.recordSeconds = (submitted - prepared).seconds
                t.finishSeconds = (end - resumed).seconds
            }
            timing = t
        }
        lastTiming = timing
        return (call.results.map { $0! }, timing)
    }

    /// When the phases of the call in progress ended (`SessionAttendTiming`'s parts).
    struct CallMarks {
        var start: ContinuousClock.Instant
        var read: ContinuousClock.Instant?
        var prepared: ContinuousClock.Instant?
        var submitted: ContinuousClock.Instant?
        var resumed: ContinuousClock.Instant?
    }

    /// Why `r` is refused before its session is read, if it is: queries not `[queryHeads, 1,
    /// headDim]` for one position, or not finite.
    private static func check(_ r: CacheSession.AttendRequest) -> DeviceSessionError? {
        let m = r.session.model, d = m.headDim
        guard r.queries.heads == m.queryHeads, r.queries.headDim == d, r.queries.tokens == r.positions.count, r.positions.count == 1 else {
            let found = r.queries.shape
            return r.positions.count == 1 || r.queries.tokens != r.positions.count
                ? .session(.wrongShape(what: "queries", expected: [m.queryHeads, r.positions.count, d], found: found))
                : .device(.unsupported("the Vulkan attend takes one query token per session (decode); got \(r.positions.count): use CacheSession.attend for prompt chunks"))
        }
        if let bad = r.queries.firstNonFinite() { return .session(.nonFinite(what: "queries", token: bad.token)) }
        return nil
    }

    /// What a call's reads gave: the sessions read (`call.active`), their heads' tables, the table
    /// entries to write, and the call's place in the order of submission.
    struct CallReads {
        var ticket: UInt64
        var heads: [RegionDirectory.HeadTable] = []
        var tableBytes: [UInt8] = []
        var tableCopies: [(bank: Int, copy: VkBufferCopy)] = []
    }

    /// The requests' reads begun (those not `refused` by `check`) and their page tables brought up
    /// to date, under `readLock`, which also hands out the call's ticket: calls submit in the
    /// order they read, so a call never reads table entries a later-submitted call writes.
    private func beginReads(_ batch: [CacheSession.AttendRequest], refused: [DeviceSessionError?], layer: Int,
                            call: inout CallInFlight) -> CallReads {
        readLock.lock()
        defer { readLock.unlock() }
        var reads = CallReads(ticket: nextTicket)
        nextTicket += 1
        guard !lost else {
            call.results = batch.map { _ in .failure(.device(.deviceLost)) }
            return reads
        }
        let entryBytes = Page.tableEntryBytes
        var active: [Active] = []
        active.reserveCapacity(batch.count)
        // Every active session's heads, in order (each `Active` names its range).
        var heads: [RegionDirectory.HeadTable] = []
        heads.reserveCapacity(batch.count * (batch.first?.session.model.kvHeads ?? 1))
        var seen = Set<ObjectIdentifier>()
        var tableBytes: [UInt8] = []
        var tableCopies: [(bank: Int, copy: VkBufferCopy)] = []
        func fail(_ a: Active, _ e: DeviceSessionError) { self.fail(a, e, layer: layer, in: &call) }
        for (i, r) in batch.enumerated() {
            let session = r.session, m = session.model, d = m.headDim
            guard session.pool === pool else {
                call.results[i] = .failure(.device(.unsupported("the session's page pool is not the one this device pool mirrors")))
                continue
            }
            if let e = refused[i] {
                call.results[i] = .failure(e)
                continue
            }
            guard seen.insert(ObjectIdentifier(session)).inserted else {
                call.results[i] = .failure(.session(.repeatedInBatch))
                continue
            }
            let read: CacheSession.DeviceLayerRead
            do { read = try session.beginDeviceRead(layer: layer) } catch {
                call.results[i] = .failure(.session(error))
                continue
            }
            var a = Active(index: i, read: read, firstHead: heads.count, masked: false)
            guard read.repeatFactor == 1 else {
                fail(a, .device(.unsupported("a cache per query head (the policy stores \(read.repeatFactor) heads per KV head) is read by the CPU attend only")))
                continue
            }
            // Every head must see a key; masking is needed where a kept key lies past the query or in
            // a window. Positions increase along a head's pages.
            let q = r.positions[0], window = m.layerKinds[layer].windowSize
            var failure: DeviceSessionError?
            for (h, head) in read.heads.enumerated() {
                let first = Int(head.pages[0].firstPosition), last = Int(head.pages[head.pages.count - 1].lastPosition)
                var visible = first <= q
                if visible, let w = window {
                    // The last kept position at or before the query must lie inside the window.
                    visible = false
                    search: for page in head.pages.reversed() {
                        for t in stride(from: page.tokens - 1, through: 0, by: -1) where Int(page.positions[t]) <= q {
                            visible = Int(page.positions[t]) > q - w
                            break search
                        }
                    }
                }
                if !visible {
                    failure = .device(.noVisibleKeys(sequence: i, layer: layer, kvHead: h, queryPosition: q, window: window))
                    break
                }
                if last > q || window != nil { a.masked = true }
            }
            if let failure {
                fail(a, failure)
                continue
            }
            // Page-table regions: entries from the first changed page on (all of a moved region).
            guard regions.update(read, dim: d, into: &heads) else {
                heads.removeSubrange(a.firstHead...)
                let pages = read.heads.reduce(0) { $0 + $1.pages.count }
                fail(a, .device(.tooLarge(what: "the page tables of bank \(read.bank)", bytes: pages * entryBytes,
                                          limit: regions.capacity * entryBytes, limitName: "free entries of tableEntriesPerBank")))
                continue
            }
            for h in read.heads.indices {
                let table = heads[a.firstHead + h], from = table.from
                let pages = read.heads[h].pages
                guard from < pages.count else { continue }
                let start = tableBytes.count
                do {
                    for p in pages[from...] {
                        let base = p.slot.bankOffset
                        try PageTableEntry(positionsOffset: UInt32(base / 4), tokens: UInt16(p.tokens), keyEncoding: p.slotClass.keyEncoding,
                                           valueEncoding: p.slotClass.valueEncoding, keyOffset: UInt64(base + p.keyOffset),
                                           valueOffset: UInt64(base + p.valueOffset)).append(to: &tableBytes)
                    }
                } catch {
                    failure = .session(.layout(error))
                    break
                }
                tableCopies.append((read.bank, VkBufferCopy(srcOffset: VkDeviceSize(start), dstOffset: VkDeviceSize((table.offset + from) * entryBytes),
                                                            size: VkDeviceSize(tableBytes.count - start))))
            }
            if let failure {
                heads.removeSubrange(a.firstHead...)
                fail(a, failure)
                continue
            }
            active.append(a)
        }
        call.active = active
        reads.heads = heads
        reads.tableBytes = tableBytes
        reads.tableCopies = tableCopies
        return reads
    }

    /// A call's turn (in the order of its reads): the written slot bytes taken, staged with the
    /// table entries and recorded as the scatter (a large backlog, a prefill, first, in copy-only
    /// submissions of bounded staging), the decodes recorded where not yet, and submitted.
    private func submitInTurn(_ call: inout CallInFlight, reads: CallReads, layer: Int, lane: SubmissionLane, marks: inout CallMarks) async {
        let frame = lane.frame
        if lost {
            failRemaining(&call, with: .deviceLost, layer: layer, frame: frame)
            return
        }
        var pending = uploads.take()
        if pending.bytes.count > stagingChunk {
            if let e = await uploadInChunks(pending, lane: lane) {
                failRemaining(&call, with: e, layer: layer, frame: frame)
                return
            }
            pending = ([], [])
        }
        guard !call.planned.isEmpty || !pending.copies.isEmpty else {
            frame.abandon()
            return
        }
        do throws(VulkanError) {
            call.submitted = try recordUploadsAndSubmit(pending: pending, tableBytes: reads.tableBytes, tableCopies: reads.tableCopies,
                                                        planned: call.planned, outputAt: call.outputAt, lane: lane)
            marks.submitted = call.submitted!.submittedAt
            callOnDevice(1)
            uploads.recycle(&pending)
        } catch {
            // Nothing reached the queue: the bytes go back, ahead of anything queued since.
            uploads.putBack(pending)
            failRemaining(&call, with: error, layer: layer, frame: frame)
        }
    }
}
