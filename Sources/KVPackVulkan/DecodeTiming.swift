import CVulkan
import Dispatch

extension VulkanDecodeAttention {
    /// GPU time of `iterations` calls, each bracketed by timestamps and separated by a barrier, in
    /// seconds, in call order; then `batches` batches of back-to-back calls (each followed by a
    /// barrier, as consecutive layers or decode steps run), timed as a whole: the time per call of
    /// each batch, the figure CUDA-event loops report. Before them, batches of `warmup` (growing to
    /// about 5 ms of GPU time, the size of the timed batches) untimed calls for at least
    /// `warmupSeconds` and until the GPU time per call of a batch settles (within 2% of the batch
    /// before; at most `warmupSeconds` + 5 s).
    /// - Throws: `VulkanError.unsupported` when the queue has no timestamps.
    public func time(_ cache: DeviceKVCache, layer: Int = 0, queries: [Float], options: DecodeOptions = .init(),
                     iterations: Int = 50, batches: Int = 5, warmup: Int = 5, warmupSeconds: Double = 0.3) throws(VulkanError) -> DecodeTiming {
        guard let period = context.capabilities.timestampPeriod else { throw .unsupported("the compute queue has no timestamps") }
        let call = try DecodeCall(context, cache: cache, layer: layer, queries: queries, mask: nil, options: options)
        let vk = context.vk, device = context.handle
        var info = VkQueryPoolCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO
        info.queryType = VK_QUERY_TYPE_TIMESTAMP
        info.queryCount = UInt32(3 * iterations) // room for the decode / merge split below
        var pool: VkQueryPool? = nil
        try vk.createQueryPool(device, &info, nil, &pool).check("vkCreateQueryPool")
        defer { vk.destroyQueryPool(device, pool, nil) }
        /// The first `count` timestamps of the pool, waiting for them.
        func ticks(_ count: Int) throws(VulkanError) -> [UInt64] {
            var values = [UInt64](repeating: 0, count: count)
            let r = values.withUnsafeMutableBytes { raw in
                vk.getQueryPoolResults(device, pool, 0, UInt32(count), raw.count, raw.baseAddress, 8,
                                       UInt32(VK_QUERY_RESULT_64_BIT.rawValue | VK_QUERY_RESULT_WAIT_BIT.rawValue))
            }
            try r.check("vkGetQueryPoolResults")
            return values
        }
        /// Seconds between two timestamps.
        func seconds(_ from: UInt64, _ to: UInt64) -> Double { Double(to &- from) * period * 1e-9 }
        /// GPU ticks per call of `n` back-to-back calls (each followed by a barrier), timed as a whole.
        func ticksPerCall(_ n: Int) throws(VulkanError) -> Double {
            try context.submit { (commands) throws(VulkanError) in
                vk.cmdResetQueryPool(commands, pool, 0, 2)
                vk.cmdWriteTimestamp(commands, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, pool, 0)
                for _ in 0..<n { call.record(commands); call.barrier(commands) }
                vk.cmdWriteTimestamp(commands, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, pool, 1)
            }
            let pair = try ticks(2)
            return Double(pair[1] &- pair[0]) / Double(n)
        }
        // Warm-up: batches of calls, each timed on the GPU, until `warmupSeconds` of wall time have
        // passed and a batch's time per call is within 2% of the one before (the GPU's clocks take
        // seconds to leave their idle state after host-side work), at most `warmupSeconds` + 5 s.
        // A batch grows to about 5 ms of GPU time, so that short calls keep the GPU busy between
        // the host's submissions instead of idling at low clocks.
        let start = DispatchTime.now().uptimeNanoseconds
        var previous: Double?
        var batch = max(1, warmup)
        while true {
            let perCall = try ticksPerCall(batch)
            let grown = min(4096, Int(5e-3 / max(perCall * period * 1e-9, 1e-7)))
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
            if elapsed >= warmupSeconds + 5 { break }
            if elapsed >= warmupSeconds, let p = previous, abs(perCall - p) <= 0.02 * p { break }
            previous = perCall
            batch = max(batch, grown)
        }
        try context.submit { (commands) throws(VulkanError) in
            vk.cmdResetQueryPool(commands, pool, 0, UInt32(2 * iterations))
            for i in 0..<iterations {
                vk.cmdWriteTimestamp(commands, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, pool, UInt32(2 * i))
                call.record(commands)
                vk.cmdWriteTimestamp(commands, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, pool, UInt32(2 * i + 1))
                call.barrier(commands)
            }
        }
        let stamps = try ticks(2 * iterations)
        let calls = (0..<iterations).map { seconds(stamps[2 * $0], stamps[2 * $0 + 1]) }
        // The decode passes and the merge apart: a timestamp between them (in calls of their own,
        // so that the figures above carry no third timestamp).
        var decodePart: [Double] = [], mergePart: [Double] = []
        if call.hasMerge {
            try context.submit { (commands) throws(VulkanError) in
                vk.cmdResetQueryPool(commands, pool, 0, UInt32(3 * iterations))
                for i in 0..<iterations {
                    vk.cmdWriteTimestamp(commands, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, pool, UInt32(3 * i))
                    call.record(commands) { vk.cmdWriteTimestamp($0, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, pool, UInt32(3 * i + 1)) }
                    vk.cmdWriteTimestamp(commands, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, pool, UInt32(3 * i + 2))
                    call.barrier(commands)
                }
            }
            let three = try ticks(3 * iterations)
            for i in 0..<iterations {
                decodePart.append(seconds(three[3 * i], three[3 * i + 1]))
                mergePart.append(seconds(three[3 * i + 1], three[3 * i + 2]))
            }
        }
        var perCall: [Double] = []
        for _ in 0..<batches {
            perCall.append(try ticksPerCall(batch) * period * 1e-9)
        }
        return DecodeTiming(seconds: calls, backToBackSeconds: perCall, callsPerBatch: batch,
                            decodeSeconds: decodePart, mergeSeconds: mergePart, launch: call.launch)
    }
}

/// GPU times of a decode call (`VulkanDecodeAttention.time`).
public struct DecodeTiming: Sendable {
    /// Each call on its own: timestamps right before and after it, seconds, in call order.
    public var seconds: [Double]
    /// Per batch of `callsPerBatch` back-to-back calls (each followed by a barrier): the batch's
    /// time divided by its calls, seconds. Calls still wait for each other (the barrier), but the
    /// timestamps' own cost is spread over the batch.
    public var backToBackSeconds: [Double]
    public var callsPerBatch: Int
    /// Split-K calls, each with a third timestamp between its decode passes and its merge pass:
    /// the decode's part and the merge's part (from the end of the decode: the barrier, the merge
    /// dispatch and its run), seconds, in call order; empty without a merge pass.
    public var decodeSeconds: [Double]
    public var mergeSeconds: [Double]
    public var launch: DecodeLaunch
}
