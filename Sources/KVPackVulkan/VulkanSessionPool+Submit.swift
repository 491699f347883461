import CVulkan
import KVPack

extension VulkanSessionPool {
    /// Copies `pending` into the banks in submissions of at most `stagingChunk` bytes each,
    /// awaiting each. Returns the error that stopped it, if any (the device is then lost, or
    /// the bytes not all copied: the pool is marked lost, as its banks no longer match).
    func uploadInChunks(_ pending: (bytes: [UInt8], copies: [PendingUploads.Copy]), lane: SubmissionLane) async -> VulkanError? {
        var next = 0, offsetInCopy = 0
        let frame = lane.frame
        while next < pending.copies.count {
            do throws(VulkanError) {
                try frame.reserve(staging: stagingChunk, readback: 16)
                let staging = frame.staging.mapped!
                var used = 0
                var records = ScatterRecords(banks: banks.count), recordCount = 0
                while next < pending.copies.count {
                    // The data and its records (16 bytes each, per bank rounded to 16) must fit the chunk.
                    let room = stagingChunk - used - 16 * (recordCount + 1 + banks.count) - 16
                    let c = pending.copies[next]
                    let n = min(c.count - offsetInCopy, room) & ~3
                    guard n > 0 else { break }
                    recordCount += 1
                    pending.bytes.withUnsafeBytes { raw in
                        (staging + used).copyMemory(from: raw.baseAddress! + c.source + offsetInCopy, byteCount: n)
                    }
                    records.add(bank: c.bank, table: false, destination: c.destination + offsetInCopy, source: used, count: n)
                    used = (used + n + 3) & ~3
                    offsetInCopy += n
                    if offsetInCopy >= c.count {
                        next += 1
                        offsetInCopy = 0
                    }
                }
                used = (used + 15) & ~15
                try frame.begin()
                try recordScatter(records, lane: lane, cursor: &used)
                try frame.submit()
                let waited = await waiter.wait(frame.fence)
                guard waited == VK_SUCCESS else {
                    lost = true
                    return waited == VK_ERROR_DEVICE_LOST ? .deviceLost : .call("vkWaitForFences", code: waited.rawValue)
                }
            } catch {
                lost = true
                return error
            }
        }
        return nil
    }

    /// Where a submitted call's outputs lie in its lane's readback buffer, and what it uploaded.
    struct Submitted {
        var outputAt: [Int]
        var uploadBytes: Int
        var submittedAt: ContinuousClock.Instant
        /// The fence, queued for the waiting thread as the call was submitted.
        var fence: FenceTicket
    }

    /// Where a call's own data lies in its lane's staging buffer (byte offsets), written before
    /// the call's turn to submit: its page-table entries, then per planned decode its directory,
    /// queries, query words and pass directory. The queued slot bytes go at `end`.
    struct Staged {
        struct Decode {
            var directory: Int
            var queries: Int
            var words: Int
            var passes: Int
        }
        var tables: Int
        var decodes: [Decode]
        var end: Int
    }

    /// Copies the call's own data into `lane`'s staging buffer from its start, the buffer grown
    /// to hold it and `room` more bytes, and the readback buffer to `outputBytes`. The members'
    /// queries are their request arrays, copied once.
    func stage(tableBytes: [UInt8], planned: [Planned], lane: SubmissionLane, room: Int, outputBytes: Int) throws(VulkanError) -> Staged {
        func rounded(_ n: Int) -> Int { (n + 15) & ~15 }
        let bytes = rounded(tableBytes.count) + planned.reduce(0) {
            $0 + rounded(4 * $1.directory.count) + rounded(4 * $1.floats) + rounded(4 * $1.queryWords.count) + rounded(4 * $1.call.passDirectoryWords.count)
        }
        let frame = lane.frame
        try frame.reserve(staging: bytes + room, readback: max(16, outputBytes))
        let staging = frame.staging.mapped!
        var cursor = 0
        func put(_ raw: UnsafeRawBufferPointer) -> Int {
            let at = cursor
            if raw.count > 0 { (staging + at).copyMemory(from: raw.baseAddress!, byteCount: raw.count) }
            cursor = rounded(cursor + raw.count)
            return at
        }
        let tables = tableBytes.withUnsafeBytes { put($0) }
        var decodes: [Staged.Decode] = []
        decodes.reserveCapacity(planned.count)
        for p in planned {
            let directory = p.directory.withUnsafeBytes { put($0) }
            // The members' queries one after another (each a multiple of 16 bytes: headDim is).
            let queries = cursor
            for member in p.queries {
                member.withUnsafeBytes { raw in (staging + cursor).copyMemory(from: raw.baseAddress!, byteCount: raw.count) }
                cursor += 4 * member.count
            }
            cursor = rounded(cursor)
            let words = p.queryWords.withUnsafeBytes { put($0) }
            let passes = p.call.passDirectoryWords.withUnsafeBytes { put($0) }
            decodes.append(.init(directory: directory, queries: queries, words: words, passes: passes))
        }
        return Staged(tables: tables, decodes: decodes, end: cursor)
    }

    /// Records and submits one command buffer on `lane`: the queued slot bytes (`pending`) and
    /// the call's table entries scattered into the banks, the decodes, the outputs' readback. The
    /// call's data is staged again first where the lane's staging buffer no longer holds it
    /// (`restage`: a backlog went through it) or cannot also hold `pending` (it grows). Throws
    /// where it could not submit (nothing then reached the queue).
    func recordAndSubmit(pending: (bytes: [UInt8], copies: [PendingUploads.Copy]), call: inout CallInFlight, restage: Bool,
                         lane: SubmissionLane) throws(VulkanError) -> Submitted {
        let frame = lane.frame, planned = call.planned
        let outputs = planned.reduce(0) { $0 + 4 * $1.floats }
        // Scatter records: 16 bytes a copy, per bank rounded up to 16.
        let recordBytes = 16 * (pending.copies.count + call.tableCopies.count) + 16 * banks.count
        let tail = pending.bytes.count + 16 + recordBytes
        var staged: Staged
        if let known = call.staged, !restage, known.end + tail <= frame.staging.size {
            staged = known
        } else {
            staged = try stage(tableBytes: call.tableBytes, planned: planned, lane: lane, room: tail, outputBytes: outputs)
            call.staged = staged
        }
        let staging = frame.staging.mapped!
        let pendingBase = staged.end
        pending.bytes.withUnsafeBytes { raw in
            if raw.count > 0 { (staging + pendingBase).copyMemory(from: raw.baseAddress!, byteCount: raw.count) }
        }
        var cursor = (pendingBase + pending.bytes.count + 15) & ~15
        try frame.begin()
        frame.stamp(0, bottom: false)
        frame.barrier(from: VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, to: VK_PIPELINE_STAGE_TRANSFER_BIT)
        var records = ScatterRecords(banks: banks.count)
        for c in pending.copies {
            records.add(bank: c.bank, table: false, destination: c.destination, source: pendingBase + c.source, count: c.count)
        }
        for (bank, c) in call.tableCopies {
            records.add(bank: bank, table: true, destination: Int(c.dstOffset), source: staged.tables + Int(c.srcOffset), count: Int(c.size))
        }
        try recordScatter(records, lane: lane, cursor: &cursor)
        for (p, at) in zip(planned, staged.decodes) {
            frame.copy(into: p.call.cache.directory, [VkBufferCopy(srcOffset: VkDeviceSize(at.directory), dstOffset: 0, size: VkDeviceSize(4 * p.directory.count))])
            frame.copy(into: p.call.bufferQueries, [VkBufferCopy(srcOffset: VkDeviceSize(at.queries), dstOffset: 0, size: VkDeviceSize(4 * p.floats))])
            frame.copy(into: p.call.bufferQueryPositions,
                       [VkBufferCopy(srcOffset: VkDeviceSize(at.words), dstOffset: 0, size: VkDeviceSize(4 * p.queryWords.count))])
            if !p.call.passDirectoryWords.isEmpty, let passDirectory = p.call.passDirectory {
                frame.copy(into: passDirectory,
                           [VkBufferCopy(srcOffset: VkDeviceSize(at.passes), dstOffset: 0, size: VkDeviceSize(4 * p.call.passDirectoryWords.count))])
            }
        }
        frame.barrier(from: VK_PIPELINE_STAGE_TRANSFER_BIT, to: VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT)
        frame.stamp(1, bottom: true)
        for p in planned { p.call.record(frame.commands) }
        frame.stamp(2, bottom: true)
        frame.barrier(from: VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, to: VK_PIPELINE_STAGE_TRANSFER_BIT)
        var outputAt: [Int] = [], out = 0
        for p in planned {
            outputAt.append(out)
            var region = VkBufferCopy(srcOffset: 0, dstOffset: VkDeviceSize(out), size: VkDeviceSize(4 * p.floats))
            context.vk.cmdCopyBuffer(frame.commands, p.call.bufferOutput.handle, frame.readback.handle, 1, &region)
            out += 4 * p.floats
        }
        frame.barrier(from: VK_PIPELINE_STAGE_TRANSFER_BIT, to: VK_PIPELINE_STAGE_HOST_BIT)
        frame.stamp(3, bottom: true)
        try frame.submit()
        return Submitted(outputAt: outputAt, uploadBytes: staged.end + pending.bytes.count,
                         submittedAt: .now, fence: waiter.enqueue(frame.fence))
    }

    /// Awaits `lane`'s submission; then its outputs, one array per member of each planned decode
    /// (`floats / queries.count` each), and its timestamps (`timing`, where the queue has them).
    func awaitOutputs(_ submitted: Submitted, planned: [Planned], lane: SubmissionLane,
                      marks: inout CallMarks, timing: inout SessionAttendTiming?) async -> Result<[[[Float]]], VulkanError> {
        let frame = lane.frame
        let waited = await submitted.fence.result()
        marks.resumed = .now
        guard waited == VK_SUCCESS else {
            _ = context.vk.deviceWaitIdle(context.handle)
            if waited == VK_ERROR_DEVICE_LOST { lost = true }
            return .failure(waited == VK_ERROR_DEVICE_LOST ? .deviceLost : .call("vkWaitForFences", code: waited.rawValue))
        }
        if let stamps = frame.stampedSeconds() {
            timing = SessionAttendTiming(uploadSeconds: stamps[0], decodeSeconds: stamps[1], deviceSeconds: stamps[2],
                                         waitSeconds: (marks.resumed! - submitted.submittedAt).seconds,
                                         uploadBytes: submitted.uploadBytes, launches: planned.map(\.call.launch))
        }
        let readback = frame.readback.mapped!
        return .success(zip(planned, submitted.outputAt).map { p, at in
            let per = p.floats / p.queries.count, base = (readback + at).assumingMemoryBound(to: Float.self)
            return (0..<p.queries.count).map { j in Array(UnsafeBufferPointer(start: base + j * per, count: per)) }
        })
    }
}
