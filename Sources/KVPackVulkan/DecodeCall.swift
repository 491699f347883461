import CVulkan
import KVPack

/// One prepared decode: the launch geometry, the per-call buffers (queries, output, split
/// partials) and a descriptor set over them and the cache. Released when it goes out of scope.
final class DecodeCall {
    let context: VulkanContext
    let cache: DeviceKVCache
    let launch: DecodeLaunch
    /// A decode dispatch over one run of the layer's encoding classes (or all of them).
    struct Pass {
        var pipeline: VkPipeline
        var launch: DecodeLaunch
        /// Where its heads' entries start in the directory it reads (u32s), and its first split.
        var directoryBase: Int
        var splitBase: Int
    }
    private let passes: [Pass]
    /// The passes' directories when there are several (else the cache's directory serves).
    let passDirectory: DeviceBuffer?
    /// With reused buffers and several passes: the words the caller copies into
    /// `buffers.passDirectory` before recording (empty otherwise).
    let passDirectoryWords: [UInt32]
    private let merge: VkPipeline?
    private let layout: VkPipelineLayout
    /// The per-call buffers and descriptor set (the caller's when it reuses them).
    let buffers: DecodeCallBuffers
    /// The query positions and zeroed split counters the call's `queryPositions` buffer holds.
    let queryWords: [Int32]
    private let pushes: [[UInt32]]
    private let mergePush: [UInt32]
    private let kvHeads, group, sequences, headDim: Int

    /// - Parameter reused: buffers kept across calls; the caller then copies `q` into
    ///   `reused.queries`, `queryWords` into `reused.queryPositions` and `passDirectoryWords`
    ///   into `reused.passDirectory` before recording.
    convenience init(_ context: VulkanContext, cache: DeviceKVCache, layer: Int, queries q: [Float], mask: DecodeMask?,
                     options: DecodeOptions, reusing reused: DecodeCallBuffers? = nil) throws(VulkanError) {
        try self.init(context, cache: cache, layer: layer, queryFloats: q.count, hostQueries: q, mask: mask, options: options, reusing: reused)
    }

    /// - Parameters:
    ///   - queryFloats: the queries' floats, `[sequences, queryHeads, headDim]`.
    ///   - hostQueries: the queries, uploaded here when the call does not reuse buffers; with
    ///     `reused`, nil (the caller copies them into `reused.queries`).
    init(_ context: VulkanContext, cache: DeviceKVCache, layer: Int, queryFloats: Int, hostQueries q: [Float]?, mask: DecodeMask?,
         options: DecodeOptions, reusing reused: DecodeCallBuffers? = nil) throws(VulkanError) {
        let m = cache.model, d = m.headDim
        guard (0..<m.layerCount).contains(layer) else { throw .invalidShape("layer \(layer) is outside the cache's 0..<\(m.layerCount)") }
        let expected = cache.sequenceCount * m.queryHeads * d
        guard queryFloats == expected, q == nil || q!.count == queryFloats else {
            throw .invalidShape("queries must be [sequences, queryHeads, headDim] = [\(cache.sequenceCount), \(m.queryHeads), \(d)] "
                                + "(\(expected) floats); got \(q?.count ?? queryFloats)")
        }
        // Queries come from the caller's array or, on a reused lane, the caller's own copy.
        guard q != nil || reused != nil else { throw .invalidShape("no queries: neither an array nor a lane's buffers to copy them into") }
        if let mask {
            guard mask.queryPositions.count == cache.sequenceCount else {
                throw .invalidShape("the mask has \(mask.queryPositions.count) query positions for \(cache.sequenceCount) sequences (one each)")
            }
            if let w = mask.window, w <= 0 { throw .unsupported("a sliding window must be positive; got \(w)") }
            for (s, position) in mask.queryPositions.enumerated() {
                for h in 0..<m.kvHeads where !cache.hasVisibleKey(sequence: s, layer: layer, kvHead: h, query: position, window: mask.window) {
                    throw .noVisibleKeys(sequence: s, layer: layer, kvHead: h, queryPosition: position, window: mask.window)
                }
            }
        }
        let facts = cache.layers[layer]
        let group = m.groupSize
        let caps = context.capabilities
        guard group * (d + 2) * 4 <= caps.maxSharedMemory else {
            throw .unsupported("GQA group \(group) at head dim \(d) needs \(group * (d + 2) * 4) bytes of shared memory")
        }
        guard caps.poolWindowIndexing else {
            throw .unsupported("the device lacks shaderStorageBufferArrayDynamicIndexing (the kernels index pool windows)")
        }
        guard caps.maxStorageBuffersPerStage >= KernelLibrary.descriptors else {
            throw .unsupported("the kernels bind \(KernelLibrary.descriptors) storage buffers; the device allows \(caps.maxStorageBuffersPerStage) per stage")
        }
        self.context = context
        self.cache = cache
        self.kvHeads = m.kvHeads
        self.group = group
        self.sequences = cache.sequenceCount
        self.headDim = d

        // One pass per kernel (`runs`), each over each head's contiguous range of its classes.
        let runs = try Self.runs(context, cache: cache, layer: layer, options: options)

        // Each pass's directory: per head of the layer, the first page and count of its run of
        // classes (other layers' heads keep their entries: this call does not read them).
        var directory: [UInt32] = []
        var runPages: [Int] = [facts.maxPages] // the most pages of any head of the layer in each run
        if runs.count > 1 {
            runPages = []
            let heads = cache.hostDirectory.count / 4
            for run in runs {
                var most = 0
                for h in 0..<heads {
                    var entry = Array(cache.hostDirectory[4 * h..<4 * h + 4])
                    if (h / m.kvHeads) % m.layerCount == layer {
                        let counts = cache.classCounts(head: h)
                        entry[0] += UInt32(counts[..<run.classes.lowerBound].reduce(0, +))
                        entry[1] = UInt32(counts[run.classes].reduce(0, +))
                        most = max(most, Int(entry[1]))
                    }
                    directory += entry
                }
                runPages.append(most)
            }
        }
        // Each pass's launch and kernel; the fused merge (a push constant) once the splits of all are known.
        var planned: [(launch: DecodeLaunch, key: KernelKey, splitBase: Int)] = []
        var splitBase = 0
        let scale = options.scale ?? 1 / Float(d).squareRoot()
        for (r, run) in runs.enumerated() {
            // Each pass aims at the whole device (on the H200 the passes ran one after another:
            // shares of `targetWorkgroups` by pages left each pass a partly idle GPU).
            let (launch, key) = try Self.plan(run.choice, maxPages: runPages[r], context: context, cache: cache, layer: layer,
                                              masked: mask != nil, options: options, lenient: runs.count > 1)
            planned.append((launch, key, splitBase))
            splitBase += launch.splits
        }
        let splits = splitBase
        let fused = splits > 1 && (options.fusedMerge ?? true)
        // The fused merge's chunk of splits (spec constant 12), chosen for the call's splits;
        // calls without it take the rule's chunk for one split, so they share pipelines.
        let chunk = options.mergeSplitChunk ?? Self.mergeSplitChunk(splits: fused ? splits : 1, gpu: context.device.kind != .cpu)
        var passes: [Pass] = []
        for (r, var p) in planned.enumerated() {
            p.launch.fusedMerge = fused
            p.launch.mergeSplitChunk = fused ? chunk : 0
            p.key.constants[12] = UInt32(chunk)
            let pipeline = try context.kernels.pipeline(p.key, context)
            passes.append(Pass(pipeline: pipeline, launch: p.launch, directoryBase: r * cache.hostDirectory.count, splitBase: p.splitBase))
        }
        var launch = passes[0].launch
        if passes.count > 1 {
            launch.kernel = passes.map(\.launch.kernel).joined(separator: " + ")
            launch.splits = splits
            launch.passes = passes.map(\.launch)
        }
        self.launch = launch
        self.pushes = passes.map { pass in
            [UInt32(m.layerCount), UInt32(layer), UInt32(m.kvHeads), UInt32(pass.launch.pagesPerSplit), UInt32(splits),
             scale.bitPattern, UInt32(mask?.window ?? 0), UInt32(pass.directoryBase), UInt32(pass.splitBase), fused ? 1 : 0]
        }
        self.passes = passes
        if passes.count > 1, let reused {
            // The caller copies these words in with its own commands, as the queries.
            try reused.reserve(passDirectory: 4 * directory.count)
            self.passDirectory = reused.passDirectory
            self.passDirectoryWords = directory
        } else {
            self.passDirectory = passes.count > 1 ? try DeviceBuffer(context, contents: directory) : nil
            self.passDirectoryWords = []
        }
        self.merge = splits > 1 && !fused
            ? try context.kernels.pipeline(KernelKey(name: "split_merge", constants: [0, UInt32(d)]), context) : nil
        let (setLayout, layout) = try context.kernels.layouts(context)
        self.layout = layout
        self.mergePush = [UInt32(m.queryHeads), UInt32(splits)]

        // Positions fit Int32 (FlatCache stores them so); clamped so that a far query stays far.
        // Then, for the fused merge, one split counter per sequence and KV head, zero.
        let queryWords = Self.queryWords(positions: mask?.queryPositions, sequences: cache.sequenceCount, kvHeads: m.kvHeads, fused: fused)
        let partialBytes = splits > 1 ? 4 * cache.sequenceCount * m.queryHeads * splits * Self.partialFloats(headDim: d) : 16
        let buffers: DecodeCallBuffers
        if let reused {
            // The caller copies the queries and these words in with its own commands.
            try reused.reserve(queries: 4 * queryFloats, partials: partialBytes, queryPositions: 4 * queryWords.count)
            buffers = reused
        } else {
            buffers = try DecodeCallBuffers(context)
            try buffers.reserve(queries: 4 * queryFloats, partials: partialBytes, queryPositions: max(16, 4 * queryWords.count))
            try q!.withUnsafeBytes { raw in Result { () throws(VulkanError) in try buffers.queries.upload(raw) } }.get()
            try queryWords.withUnsafeBytes { raw in Result { () throws(VulkanError) in try buffers.queryPositions.upload(raw) } }.get()
        }
        self.buffers = buffers
        self.queryWords = queryWords
        _ = setLayout
        // One array per binding; a pool's unused windows repeat its first (never read: no head names them).
        var perBinding: [[DeviceBuffer]] = [[passDirectory ?? cache.directory], [cache.table]]
        for windows in cache.pools {
            perBinding.append((0..<PoolWindows.maximum).map { (i: Int) -> DeviceBuffer in windows[i < windows.count ? i : 0] })
        }
        let perCall: [DeviceBuffer] = [buffers.queries, buffers.output, buffers.partials, cache.positions, buffers.queryPositions]
        perBinding += perCall.map { [$0] }
        bound = perBinding
        bufferQueries = buffers.queries
        bufferOutput = buffers.output
        bufferQueryPositions = buffers.queryPositions
        buffers.bindings.bind(bound)
    }

    /// The per-call buffers as bound at its making (reused buffers grow by replacement, so a
    /// call kept for later keeps reading and writing these): the caller copies the queries and
    /// `queryWords` into the first two and reads the output from the third.
    let bufferQueries, bufferQueryPositions, bufferOutput: DeviceBuffer

    /// The buffers the call binds, per binding.
    private let bound: [[DeviceBuffer]]

    /// Binds the call's buffers again to its (reused) descriptor set, which another call over the
    /// same reused buffers may have rebound since; nothing is written when they are still bound.
    func rebind() { buffers.bindings.bind(bound) }

    /// The words of a call's `queryPositions` buffer: each sequence's query position (0 without
    /// a mask; clamped to Int32, as FlatCache stores positions, so that a far query stays far),
    /// then, with the fused merge, one split counter per sequence and KV head, zero.
    static func queryWords(positions: [Int]?, sequences: Int, kvHeads: Int, fused: Bool) -> [Int32] {
        var words = [Int32](repeating: 0, count: sequences + (fused ? sequences * kvHeads : 0))
        if let positions {
            for (s, p) in positions.prefix(sequences).enumerated() { words[s] = Int32(clamping: p) }
        }
        return words
    }

    /// The driver's statistics of the decode kernel this call runs (of the first pass's, when several).
    var statistics: [KernelStatistic] { context.kernels.statistics(passes[0].pipeline, context) }

    /// The call runs a split-K merge pass after its decode passes.
    var hasMerge: Bool { merge != nil }

    /// Records the decode dispatches (one per pass; they write disjoint splits, so no barrier
    /// between them) and, with split-K or several passes unless the decode merges them itself
    /// (`DecodeLaunch.fusedMerge`), a barrier and the merge pass; `afterDecode`, when given,
    /// records between them (a timestamp of the decode's end).
    func record(_ commands: VkCommandBuffer, afterDecode: ((VkCommandBuffer) -> Void)? = nil) {
        let vk = context.vk
        var set: VkDescriptorSet? = buffers.bindings.set
        let stage = UInt32(VK_SHADER_STAGE_COMPUTE_BIT.rawValue)
        for (pass, push) in zip(passes, pushes) {
            vk.cmdBindPipeline(commands, VK_PIPELINE_BIND_POINT_COMPUTE, pass.pipeline)
            vk.cmdBindDescriptorSets(commands, VK_PIPELINE_BIND_POINT_COMPUTE, layout, 0, 1, &set, 0, nil)
            push.withUnsafeBytes { vk.cmdPushConstants(commands, layout, stage, 0, UInt32($0.count), $0.baseAddress) }
            vk.cmdDispatch(commands, UInt32(pass.launch.splits), UInt32(kvHeads), UInt32(sequences))
        }
        afterDecode?(commands)
        if let merge {
            barrier(commands)
            vk.cmdBindPipeline(commands, VK_PIPELINE_BIND_POINT_COMPUTE, merge)
            mergePush.withUnsafeBytes { vk.cmdPushConstants(commands, layout, stage, 0, UInt32($0.count), $0.baseAddress) }
            vk.cmdDispatch(commands, UInt32(kvHeads * group), UInt32(sequences), 1)
        }
    }

    /// Compute writes before later compute and transfer reads.
    func barrier(_ commands: VkCommandBuffer) {
        var b = VkMemoryBarrier()
        b.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER
        b.srcAccessMask = UInt32(VK_ACCESS_SHADER_WRITE_BIT.rawValue)
        b.dstAccessMask = UInt32(VK_ACCESS_SHADER_READ_BIT.rawValue | VK_ACCESS_SHADER_WRITE_BIT.rawValue | VK_ACCESS_TRANSFER_READ_BIT.rawValue)
        context.vk.cmdPipelineBarrier(commands, UInt32(VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT.rawValue),
                                      UInt32(VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT.rawValue | VK_PIPELINE_STAGE_TRANSFER_BIT.rawValue),
                                      0, 1, &b, 0, nil, 0, nil)
    }

    /// The fused merge's split counters, `[sequences, kvHeads]` (zero between calls: the last
    /// workgroup of a head resets its counter); empty without the fused merge.
    func splitCounters() throws(VulkanError) -> [UInt32] {
        guard launch.fusedMerge else { return [] }
        var words = [UInt32](repeating: 0, count: buffers.queryPositions.size / 4)
        let r = words.withUnsafeMutableBytes { raw in Result { () throws(VulkanError) in try buffers.queryPositions.download(into: raw) } }
        try r.get()
        return Array(words[sequences..<(sequences + sequences * kvHeads)])
    }

    /// The output, `[sequences, queryHeads, headDim]`.
    func output() throws(VulkanError) -> [Float] {
        var out = [Float](repeating: 0, count: sequences * kvHeads * group * headDim)
        let r = out.withUnsafeMutableBytes { raw in Result { () throws(VulkanError) in try buffers.output.download(into: raw) } }
        try r.get()
        return out
    }
}
