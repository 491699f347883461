import CVulkan
import KVPack

/// A pass's launch: kernel, workgroup, splits, steps, shared memory and the specialization
/// constants they give.
extension DecodeCall {
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
                                      limits: lenient ? .pass : kernel == .bitmap ? .bitmap : coopmat ? .coopmat : .oneKernel)
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
}
