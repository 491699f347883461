import CVulkan

/// Copies of words from the staging buffer into a bank or its page table, recorded as one
/// `scatter_copy` dispatch per bank (`Kernels/scatter_copy.comp`) rather than one copy region each.
struct ScatterRecords {
    /// Per bank (by index): records of 4 words (target 0 bank / 1 table, destination word,
    /// source word, words). An array per bank, not a dictionary: a decode step adds a record per
    /// written row range and table run, thousands at B = 32.
    private(set) var byBank: [[UInt32]]
    private(set) var count = 0

    init(banks: Int) { byBank = Array(repeating: [], count: banks) }

    var isEmpty: Bool { count == 0 }

    /// Bytes `count` from staging byte `source` to byte `destination` of the bank (or its table);
    /// both offsets are multiples of 4, and `count` is rounded up to whole words (the bytes past it
    /// up to the next word are padding in the slot or the pending bytes).
    mutating func add(bank: Int, table: Bool, destination: Int, source: Int, count: Int) {
        byBank[bank].append(table ? 1 : 0)
        byBank[bank].append(UInt32(destination / 4))
        byBank[bank].append(UInt32(source / 4))
        byBank[bank].append(UInt32((count + 3) / 4))
        self.count += 1
    }
}

extension VulkanSessionPool {
    /// Writes `records` into the upload staging buffer at `cursor` (advanced past them) and records one
    /// `scatter_copy` dispatch per bank, between barriers from earlier commands (unless chained)
    /// and to later compute and transfer work.
    func recordScatter(_ records: ScatterRecords, lane: SubmissionLane, cursor: inout Int) throws(VulkanError) {
        guard !records.isEmpty else { return }
        let frame = lane.frame
        let pipeline = try context.kernels.pipeline(KernelKey(name: "scatter_copy", constants: []), context)
        let (_, layout) = try context.kernels.layouts(context)
        let vk = context.vk, commands = frame.recording, stage = UInt32(VK_SHADER_STAGE_COMPUTE_BIT.rawValue)
        // After the queue's earlier work. Chained submissions (several queues) need no such
        // barrier: they are ordered after the previous call's uploads by its semaphore, and nothing
        // they write is read by a call still in flight (a session's pages, and so its slots' bytes
        // and table regions, do not change while a device read of it is in flight; the lane's
        // staging is free once its previous call has finished).
        if !frame.chained {
            frame.barrier(from: VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, to: VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT)
        }
        vk.cmdBindPipeline(commands, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline)
        for (bank, words) in records.byBank.enumerated() where !words.isEmpty {
            let base = cursor
            words.withUnsafeBytes { (frame.uploadStaging.mapped! + base).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            cursor = (cursor + 4 * words.count + 15) & ~15
            let bindings = try scatterBindings(bank, lane: lane)
            var set: VkDescriptorSet? = bindings.set
            vk.cmdBindDescriptorSets(commands, VK_PIPELINE_BIND_POINT_COMPUTE, layout, 0, 1, &set, 0, nil)
            let count = words.count / 4, perRow = min(count, 65535)
            let push: [UInt32] = [UInt32(count), UInt32(base / 4), UInt32(perRow)]
            push.withUnsafeBytes { vk.cmdPushConstants(commands, layout, stage, 0, UInt32($0.count), $0.baseAddress) }
            vk.cmdDispatch(commands, UInt32(perRow), UInt32((count + perRow - 1) / perRow), 1)
        }
        frame.barrier(from: VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, to: VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT)
    }

    /// The descriptor set the scatter into `bank` binds: the bank as every pool window, its table,
    /// the staging buffer as the source (rebound when the staging buffer grows).
    private func scatterBindings(_ bank: Int, lane: SubmissionLane) throws(VulkanError) -> DecodeBindings {
        let bindings: DecodeBindings, frame = lane.frame
        if let kept = lane.scatterSets[bank] {
            // Bound to this staging buffer already (the set holds it): nothing to compare.
            if kept.staging === frame.uploadStaging { return kept.bindings }
            bindings = kept.bindings
        } else {
            bindings = try DecodeBindings(context)
        }
        lane.scatterSets[bank] = (bindings, frame.uploadStaging)
        let b = banks[bank]
        var perBinding: [[DeviceBuffer]] = [[b], [tables[bank]]]
        for _ in 0..<4 { perBinding.append(Array(repeating: b, count: PoolWindows.maximum)) }
        perBinding += [[frame.uploadStaging], [b], [b], [b], [b]]
        bindings.bind(perBinding)
        return bindings
    }
}
