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
        precondition((0..<m.layerCount).contains(layer), "layer \(layer) outside 0..<\(m.layerCount)")
        precondition(queryFloats == cache.sequenceCount * m.queryHeads * d && (q == nil || q!.count == queryFloats) && (q != nil || reused != nil),
                     "queries must be [sequences, queryHeads, headDim] = [\(cache.sequenceCount), \(m.queryHeads), \(d)]")
        if let mask {
            precondition(mask.queryPositions.count == cache.sequenceCount, "one query position per sequence")
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

    /// The launch of one pass: `choice`'s kernel over heads of at most `maxPages` pages.
    /// `lenient`: f16 arithmetic and integer dot products asked for in `options` apply where the
    /// kernel has them (a pass of several), instead of refusing a kernel without them.
    static func plan(_ choice: KernelChoice, maxPages: Int, context: VulkanContext, cache: DeviceKVCache, layer: Int,
                     masked: Bool, options: DecodeOptions, lenient: Bool) throws(VulkanError) -> (DecodeLaunch, KernelKey) {
        try plan(choice, maxPages: maxPages, capabilities: context.capabilities, device: context.device.kind, cache: cache, layer: layer,
                 masked: masked, options: options, lenient: lenient)
    }

    /// The same for a device of `kind` with `caps` (tests plan GPU launches on lavapipe's caches).
    static func plan(_ choice: KernelChoice, maxPages: Int, capabilities caps: VulkanCapabilities, device kind: VulkanDeviceInfo.Kind,
                     cache: DeviceKVCache, layer: Int, masked: Bool, options: DecodeOptions,
                     lenient: Bool) throws(VulkanError) -> (DecodeLaunch, KernelKey) {
        let m = cache.model, d = m.headDim, group = m.groupSize
        let subgroup = KernelChoice.subgroupPath(caps, options)
        let gpu = kind != .cpu
        let kernel = choice.kernel, elements = choice.elementsPerLane
        let lanes = d / elements
        let coopmat = kernel == .coopmat
        // The cooperative-matrix kernel (KernelChoice checked it can run): the largest workgroup
        // of 32-lane subgroups whose shared memory fits (LaunchSizing), or the one asked for.
        let cooperativeWorkgroup = coopmat ? coopmatWorkgroup(headDim: d, queryGroup: group, sharedMemory: caps.maxSharedMemory,
                                                          maxWorkgroup: caps.maxWorkgroupSize, asked: options.workgroupSize) : nil
        if coopmat, cooperativeWorkgroup == nil || lanes != 32 || !subgroup {
            throw .unsupported("the coopmat kernel has no workgroup that fits \(caps.maxSharedMemory) bytes of shared memory at head dim \(d), GQA \(group), or runs off the subgroup path")
        }
        let workgroup = cooperativeWorkgroup ?? (subgroup ? options.workgroupSize ?? max(128, caps.subgroupSize) : 32)
        guard workgroup % caps.subgroupSize == 0 || !subgroup, workgroup % lanes == 0, workgroup <= caps.maxWorkgroupSize, workgroup >= lanes else {
            throw .unsupported("a workgroup of \(workgroup) invocations: it must be a multiple of the subgroup size (\(caps.subgroupSize)) and of the \(lanes) lanes of a token, at most \(caps.maxWorkgroupSize)")
        }
        if let chunk = options.mergeSplitChunk, !(1...32).contains(chunk) {
            throw .unsupported("the fused merge loads 1 to 32 splits at once, not \(chunk)")
        }
        let groups = workgroup / lanes
        let base = max(1, cache.sequenceCount * m.kvHeads)
        let pagesPerSplit = options.pagesPerSplit.map { max(1, $0) }
            ?? automaticPagesPerSplit(maxPages: maxPages, tokenGroups: groups, heads: base, targetWorkgroups: options.targetWorkgroups,
                                      limits: lenient ? .pass : kernel == .bitmap ? .bitmap : .oneKernel)
        let splits = max(1, (maxPages + pagesPerSplit - 1) / pagesPerSplit)
        // Spec constant 4 (U): the coopmat kernel's step is one tile of 16 tokens (its TILE).
        var step = coopmat ? 16 : max(1, min(16, options.tokensPerStep ?? defaultStep(kernel, subgroup: subgroup, device: kind)))
        // The token groups' merge: slots of G·D floats, at least as many as the groups' (max, sum) stats need.
        let slotBytes = mergeSlotBytes(queryGroup: group, headDim: d)
        let leastSlots = leastMergeSlots(tokenGroups: groups, headDim: d)
        let mergeBytes = leastSlots * slotBytes + mergeFlagBytes
            + (coopmat ? coopmatTileBytes(headDim: d, subgroups: groups) : 0) // the coopmat kernel's tiles and stages
        // Shared memory: the least merge slots, the page cache the caller asked for, the staged bitmap
        // loader's stage, more merge slots; then the default page cache in what is left.
        let askedCache = options.pageCacheEntries.map { Self.pageCacheEntries($0, pagesPerSplit: pagesPerSplit) }
        guard pageCacheBytes(askedCache ?? 0) + mergeBytes <= caps.maxSharedMemory else {
            let n = askedCache ?? 0
            throw .unsupported("a page cache of \(n) entries (\(n * Page.tableEntryBytes) bytes) and the token groups' merge (\(mergeBytes) bytes) do not fit the device's \(caps.maxSharedMemory) bytes of shared memory")
        }
        // Bitmap pages: the staged kernel where a page's header and a step's rows fit in shared
        // memory beside one merge slot (and the device has subgroup votes), with the longest step
        // up to the default that fits when the caller sets none; else per-lane loads.
        var stagedRows = 0
        if kernel == .bitmap, options.stagedBitmap != false {
            let rows = cache.layers[layer].maxPageTokens
            let fitting = stagedBitmapStep(rows: rows, headDim: d, tokenGroups: groups, sharedMemory: caps.maxSharedMemory - pageCacheBytes(askedCache ?? 0) - mergeBytes,
                                           step: step, fixed: options.tokensPerStep != nil)
            if subgroup && caps.subgroupVote, let fitting {
                stagedRows = rows
                step = fitting
            } else if options.stagedBitmap == true {
                throw .unsupported("staged bitmap rows need the subgroup path, subgroup votes and \(stagedBitmapBytes(rows: rows, headDim: d, step: fixedStep(options, step), tokenGroups: groups) + mergeBytes) bytes of shared memory (pages of up to \(rows) tokens, \(fixedStep(options, step)) tokens per step, \(groups) token groups); this call: subgroup path \(subgroup), votes \(caps.subgroupVote), \(caps.maxSharedMemory) bytes")
            }
        }
        let canF16 = kernel.hasF16Arithmetic && subgroup && caps.shaderFloat16
        var f16Arithmetic = options.f16Arithmetic ?? (canF16 && gpu)
        if lenient { f16Arithmetic = f16Arithmetic && canF16 }
        if f16Arithmetic {
            guard canF16 else {
                throw .unsupported("f16 arithmetic needs the f16 or raw-code int8 / int4 kernel on the subgroup path and a device with shaderFloat16 (this call: \(kernel) kernel, subgroup path \(subgroup), shaderFloat16 \(caps.shaderFloat16))")
            }
        }
        let canDot = kernel.hasIntegerDot && f16Arithmetic && caps.integerDotProduct
        var integerDot = options.integerDot ?? (canDot && caps.integerDotProductAccelerated && gpu)
        if lenient { integerDot = integerDot && canDot }
        if integerDot {
            guard canDot else {
                throw .unsupported("integer dot products need the raw-code int8 / int4 kernel with f16 arithmetic and a device with VK_KHR_shader_integer_dot_product (this call: \(kernel) kernel, f16 arithmetic \(f16Arithmetic), integer dot products \(caps.integerDotProduct))")
            }
        }
        // The cooperative-matrix kernel of the layer's one page kind (KernelChoice checked it),
        // compiled once (subgroup path, KVP_COOPMAT).
        let coopmatKind = coopmat ? cache.layers[layer].kinds.first ?? .f16 : nil
        let name = coopmatKind.map(KernelLibrary.coopmatName)
            ?? "decode_\(kernel.rawValue)\(stagedRows > 0 ? "_staged" : "")_\(subgroup ? "subgroup" : "portable")"
            + (f16Arithmetic ? "_f16math" : "") + (integerDot ? "_intdot" : "")
        guard !coopmat || KernelLibrary.embeds(name) else {
            throw .unsupported("this build has no \(name) kernel (it was built without a glslangValidator that has GL_KHR_cooperative_matrix; see Kernels/README.md)")
        }
        // Spec constant 5 (PIPELINE): the coopmat kernel also has raw-word steps (TAKE_STEP).
        let pipelined = (rawSteps.contains(kernel) || coopmat) && (options.pipelined ?? gpu)
        let f16ValueSums = kernel == .f16 && f16Arithmetic && (options.f16ValueSums ?? true)
        // Raw-code kernels load a lane's codes of a row in words of 4, 8 or 16 bytes, as wide as
        // the slice (elements × bits / 8 bytes) and the page offsets' alignment allow; the int8 /
        // int4 coopmat kernels read 16-byte code words in loads as wide as the alignment allows.
        let alignment = cache.layers[layer].codeAlignment
        let codeLoadBytes = kernel == .int8 || kernel == .int4 ? min(16, elements * (kernel == .int8 ? 8 : 4) / 8, alignment)
            : coopmatKind == .int8 || coopmatKind == .int4 ? min(16, alignment) : 0
        if coopmat, codeLoadBytes > 0, codeLoadBytes < 4 {
            throw .unsupported("the coopmat kernel reads int8 / int4 codes in 4-byte words at least; this layer's page offsets are \(alignment)-byte aligned")
        }
        let stageBytes = stagedRows > 0 ? stagedBitmapBytes(rows: stagedRows, headDim: d, step: step, tokenGroups: groups)
            : coopmat ? coopmatTileBytes(headDim: d, subgroups: groups) : 0
        let slots = { (bytes: Int) in max(leastSlots, min(groups, bytes / slotBytes, options.mergeSlotLimit ?? .max)) }
        let free = caps.maxSharedMemory - stageBytes - mergeFlagBytes // for the merge slots and the page cache
        // No default page cache for bitmap pages: with one (taking a merge slot's room) the staged
        // kernel was slower (Kernels/README.md, "Defaults").
        let pageCache = askedCache ?? (kernel == .bitmap ? 0 : Self.defaultPageCache(
            pagesPerSplit: pagesPerSplit, tokenGroups: groups, room: free - slots(free - pageCacheBytes(0)) * slotBytes))
        let mergeSlots = slots(free - pageCacheBytes(pageCache))
        let launch = DecodeLaunch(kernel: name, splits: splits, pagesPerSplit: pagesPerSplit, workgroupSize: workgroup,
                                  lanesPerToken: lanes, tokensPerStep: step, pipelined: pipelined, mergeSlots: mergeSlots,
                                  f16Arithmetic: f16Arithmetic, f16ValueSums: f16ValueSums, codeLoadBytes: codeLoadBytes,
                                  integerDot: integerDot, stagedRows: stagedRows, pageCacheEntries: pageCache)
        let key = KernelKey(name: name, constants: [UInt32(workgroup), UInt32(d), UInt32(elements), UInt32(group), UInt32(step),
                                                    pipelined ? 1 : 0, UInt32(mergeSlots), masked ? 1 : 0, f16ValueSums ? 1 : 0,
                                                    UInt32(max(1, codeLoadBytes / 4)), UInt32(stagedRows), UInt32(pageCache),
                                                    0]) // 12: the fused merge's chunk, set by the caller for the call's splits
        return (launch, key)
    }

    /// The step a refusal names: the caller's, else 1 (the smallest tried).
    private static func fixedStep(_ options: DecodeOptions, _ step: Int) -> Int { options.tokensPerStep == nil ? 1 : step }

    /// Kernels whose steps are raw words (`TAKE_STEP` in `Kernels/include/decode_main.glsl`): they
    /// can load the next step while using this one, and have an f16-arithmetic build.
    static let rawSteps: Set<DecodeKernel> = [.f16, .int8, .int4]

    /// Tokens per step, the best of the GPU sweeps (`Kernels/README.md`, "Defaults"): 4 for the f16
    /// and raw-code int8 / int4 kernels (16 elements per lane, pipelined, f16 arithmetic); 2 for
    /// the kernels that expand rows to floats; 1 on the portable path and on CPU devices
    /// (lavapipe), where it buys nothing and unrolled code compiles slowly.
    static func defaultStep(_ kernel: DecodeKernel, subgroup: Bool, device: VulkanDeviceInfo.Kind) -> Int {
        guard subgroup, device != .cpu else { return 1 }
        return rawSteps.contains(kernel) ? 4 : 2
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
