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
                try frame.reserve(uploads: stagingChunk)
                let staging = frame.uploadStaging.mapped!
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
                try frame.beginUploads()
                try recordScatter(records, lane: lane, cursor: &used)
                frame.endUploads()
                try submit(frame, uploadsOnly: true)
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

    /// Submits `frame`; chained, its uploads after those of the submission before it (on
    /// whichever queue), whose semaphore this one's then replaces (`uploadsOnly`: the decodes'
    /// batch, if begun, is left for later). In the call's turn.
    private func submit(_ frame: SubmissionFrame, uploadsOnly: Bool = false) throws(VulkanError) {
        guard frame.chained else { return try frame.submit() }
        try frame.submit(after: lastUploaded, uploadsOnly: uploadsOnly)
        lastUploaded = frame.uploaded
    }

    /// Where a submitted call's outputs lie in its lane's readback buffer, and what it uploaded.
    struct Submitted {
        var outputAt: [Int]
        var uploadBytes: Int
        var submittedAt: ContinuousClock.Instant
        /// The fence, queued for the waiting thread as the call was submitted.
        var fence: FenceTicket
    }

    /// Stages each planned decode's own data in `frame`'s staging buffer (its directory, the
    /// members' queries one after another, query words, pass directory; `Planned.staged`), and
    /// makes room for the outputs in its readback buffer. Needs no turn.
    func stageOwnData(_ planned: inout [Planned], frame: SubmissionFrame) throws(VulkanError) {
        // Each run starts 16-byte aligned: at most 15 bytes of padding after each of four.
        let bytes = planned.reduce(0) { $0 + $1.ownBytes + 64 }
        try frame.reserve(staging: bytes, readback: max(16, planned.reduce(0) { $0 + 4 * $1.floats }))
        var writer = StagingWriter(frame.staging.mapped!)
        for i in planned.indices {
            planned[i].staged.directory = planned[i].directory.withUnsafeBytes { writer.put($0) }
            // The members' queries one after another (each a multiple of 16 bytes: headDim is).
            planned[i].staged.queries = writer.putContiguous(planned[i].queries)
            planned[i].staged.words = planned[i].queryWords.withUnsafeBytes { writer.put($0) }
            planned[i].staged.passes = planned[i].call.passDirectoryWords.withUnsafeBytes { writer.put($0) }
        }
    }

    /// Records the decodes' part of a submission on `frame` (as it records now): the staged own
    /// data copied in, the decodes between barriers and timestamps 1 and 2, the outputs copied to
    /// the readback buffer, timestamp 3. Returns where each decode's outputs lie there.
    func recordDecodes(_ planned: [Planned], frame: SubmissionFrame) -> [Int] {
        for p in planned {
            frame.copy(into: p.call.cache.directory, [VkBufferCopy(srcOffset: VkDeviceSize(p.staged.directory), dstOffset: 0,
                                                                   size: VkDeviceSize(4 * p.directory.count))])
            frame.copy(into: p.call.bufferQueries, [VkBufferCopy(srcOffset: VkDeviceSize(p.staged.queries), dstOffset: 0, size: VkDeviceSize(4 * p.floats))])
            frame.copy(into: p.call.bufferQueryPositions,
                       [VkBufferCopy(srcOffset: VkDeviceSize(p.staged.words), dstOffset: 0, size: VkDeviceSize(4 * p.queryWords.count))])
            if !p.call.passDirectoryWords.isEmpty, let passDirectory = p.call.passDirectory {
                frame.copy(into: passDirectory, [VkBufferCopy(srcOffset: VkDeviceSize(p.staged.passes), dstOffset: 0,
                                                              size: VkDeviceSize(4 * p.call.passDirectoryWords.count))])
            }
        }
        frame.barrier(from: VK_PIPELINE_STAGE_TRANSFER_BIT, to: VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT)
        frame.stamp(1, bottom: true)
        for p in planned { p.call.record(frame.recording) }
        frame.stamp(2, bottom: true)
        frame.barrier(from: VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, to: VK_PIPELINE_STAGE_TRANSFER_BIT)
        var outputAt: [Int] = [], out = 0
        for p in planned {
            outputAt.append(out)
            var region = VkBufferCopy(srcOffset: 0, dstOffset: VkDeviceSize(out), size: VkDeviceSize(4 * p.floats))
            context.vk.cmdCopyBuffer(frame.recording, p.call.bufferOutput.handle, frame.readback.handle, 1, &region)
            out += 4 * p.floats
        }
        frame.barrier(from: VK_PIPELINE_STAGE_TRANSFER_BIT, to: VK_PIPELINE_STAGE_HOST_BIT)
        frame.stamp(3, bottom: true)
        return outputAt
    }

    /// In the call's turn: the written slot bytes (`pending`) and table entries staged in the
    /// frame's upload staging and recorded as the scatter (timestamp 0 before it), then, unless
    /// chained (recorded before the turn: `outputAt` says where its outputs lie), the decodes;
    /// submitted. Throws where it could not submit (nothing then reached the queue).
    func recordUploadsAndSubmit(pending: (bytes: [UInt8], copies: [PendingUploads.Copy]), tableBytes: [UInt8],
                                tableCopies: [(bank: Int, copy: VkBufferCopy)], planned: [Planned], outputAt: [Int],
                                lane: SubmissionLane) throws(VulkanError) -> Submitted {
        let frame = lane.frame
        // Scatter records: 16 bytes a copy, per bank rounded up to 16.
        let recordBytes = 16 * (pending.copies.count + tableCopies.count) + 16 * banks.count
        try frame.reserve(uploads: pending.bytes.count + tableBytes.count + recordBytes + 32)
        var writer = StagingWriter(frame.uploadStaging.mapped!)
        let pendingBase = pending.bytes.withUnsafeBytes { writer.put($0) }
        let tableBase = tableBytes.withUnsafeBytes { writer.put($0) }
        var cursor = writer.cursor
        try frame.beginUploads()
        frame.stamp(0, bottom: false)
        if !frame.chained {
            frame.barrier(from: VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, to: VK_PIPELINE_STAGE_TRANSFER_BIT)
        }
        var records = ScatterRecords(banks: banks.count)
        for c in pending.copies {
            records.add(bank: c.bank, table: false, destination: c.destination, source: pendingBase + c.source, count: c.count)
        }
        for (bank, c) in tableCopies {
            records.add(bank: bank, table: true, destination: Int(c.dstOffset), source: tableBase + Int(c.srcOffset), count: Int(c.size))
        }
        try recordScatter(records, lane: lane, cursor: &cursor)
        frame.endUploads()
        let outputs = frame.chained ? outputAt : recordDecodes(planned, frame: frame)
        try submit(frame)
        return Submitted(outputAt: outputs, uploadBytes: pending.bytes.count + tableBytes.count + 16 * records.count
                                                      + planned.reduce(0) { $0 + $1.ownBytes },
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
        if let stamps = frame.stamped() {
            let s = stamps.seconds
            timing = SessionAttendTiming(uploadSeconds: s[0], decodeSeconds: s[1], deviceSeconds: s[2],
                                         waitSeconds: (marks.resumed! - submitted.submittedAt).seconds, deviceClock: stamps.clock,
                                         uploadBytes: submitted.uploadBytes, launches: planned.map(\.call.launch))
        }
        let readback = frame.readback.mapped!
        return .success(zip(planned, submitted.outputAt).map { p, at in
            let per = p.floats / p.queries.count, base = (readback + at).assumingMemoryBound(to: Float.self)
            return (0..<p.queries.count).map { j in Array(UnsafeBufferPointer(start: base + j * per, count: per)) }
        })
    }
}
