import CVulkan
import Dispatch
import KVPack

/// Which decode kernel family runs; `.automatic` picks from the encodings a layer uses (one kernel
/// per pass when they need several: `VulkanDecodeAttention.kernels(for:)`).
public enum DecodeKernel: String, Sendable, CaseIterable, Codable {
    case automatic
    /// Dense f16 pages only.
    case f16
    /// int8 / int4 pages only, any grouping.
    case quant
    /// int8 pages only, token groups of a power of two covering each lane's slice: codes stay
    /// raw in registers and are dequantized at use.
    case int8
    /// int4 pages only, as `int8`.
    case int4
    /// Bitmap pages only.
    case bitmap
    /// Any mix of encodings (a per-page switch).
    case mixed
    /// Cooperative matrices (tensor cores): q·K and P·V as 16x16x16 f16 tile products with fp32
    /// accumulators, the query-head group as the tiles' rows, over a layer whose pages are all
    /// f16 (`Kernels/decode_f16_coopmat.comp`), all int8 or all int4 (`decode_int8_coopmat.comp`,
    /// `decode_int4_coopmat.comp`: codes dequantized into the f16 tiles in shared memory; token
    /// groups of a power of two of at least 16 (int8) / 32 (int4) channels). Needs
    /// `VulkanCapabilities.cooperativeMatrix`, subgroups of 32 lanes, a GQA group of at most 8 and
    /// head dim 64, 128 or 256. `.automatic` takes it at GQA 8 for such a layer where all of
    /// that holds and the options ask nothing only the other kernels do (`KernelChoice`).
    case coopmat

    static func choose(for kinds: Set<PageEncodingKind>) -> DecodeKernel {
        if kinds == [.f16] { return .f16 }
        if kinds.isSubset(of: [.int8, .int4]) { return .quant }
        if kinds == [.bitmap] { return .bitmap }
        return .mixed
    }

    /// Whether the kernel has an f16-arithmetic build (`DecodeOptions.f16Arithmetic`): the f16 and
    /// raw-code int8 / int4 kernels, those with raw-word steps.
    public var hasF16Arithmetic: Bool { DecodeCall.rawSteps.contains(self) }

    /// Whether the kernel has an integer-dot build (`DecodeOptions.integerDot`): the raw-code
    /// int8 / int4 kernels.
    public var hasIntegerDot: Bool { self == .int8 || self == .int4 }

    func covers(_ kinds: Set<PageEncodingKind>) -> Bool {
        switch self {
        case .automatic, .mixed: return true
        case .f16: return kinds == [.f16]
        case .coopmat: return KernelLibrary.coopmatKind(of: kinds) != nil
        case .quant: return kinds.isSubset(of: [.int8, .int4])
        case .int8: return kinds == [.int8]
        case .int4: return kinds == [.int4]
        case .bitmap: return kinds == [.bitmap]
        }
    }
}

/// How a decode call is launched. nil fields take the device's defaults; `Kernels/README.md`
/// gives the measurements behind the GPU defaults.
public struct DecodeOptions: Sendable, Hashable {
    public var kernel: DecodeKernel = .automatic
    /// Pages each workgroup walks along a head (split-K). nil: chosen so that the grid has about
    /// `targetWorkgroups` workgroups; a value at or above the longest head means no split.
    public var pagesPerSplit: Int?
    /// Workgroups the automatic split aims for: about one wave on a large GPU at the default
    /// kernels' occupancy (the measurements behind this default: `Kernels/README.md`).
    public var targetWorkgroups = 256
    /// Invocations per workgroup on the subgroup path (a multiple of the subgroup size, at most
    /// the device's limit). It also bounds registers: a driver fits a whole workgroup on one SM,
    /// so 512 invocations leave at most 128 registers each. nil: 128 (the subgroup size where
    /// that is more). The portable path runs 32.
    public var workgroupSize: Int?
    /// Use the portable kernels (no subgroup operations) even where subgroup shuffles exist.
    public var portable = false
    /// Logit scale; nil means `1 / sqrt(headDim)`.
    public var scale: Float?
    /// Tokens a token group loads per step (2 × this many row loads in flight per lane); nil: 4
    /// for the f16 and raw-code int8 / int4 kernels on GPUs, 2 for the others, 1 on the portable
    /// path and on CPU devices.
    public var tokensPerStep: Int?
    /// Load the next step's rows while this step's are used (the f16, int8 and int4 kernels; the
    /// others ignore it). nil: on on GPUs, off on CPU devices (lavapipe), where loads do not stall.
    public var pipelined: Bool?
    /// Packed f16 arithmetic where the kernel has it. Dense f16 pages: each lane's part of q·k in
    /// f16, and with `f16ValueSums` a step's value sums (the softmax and the accumulators stay
    /// fp32). Raw-code int8 / int4 pages: q·k as scale·Σ q·code + zero·Σ q and the value sums over a
    /// step in f16, on the codes without unpacking them. About 5e-3 relative L2 error of an output
    /// against the CPU (lavapipe, synthetic cache) instead of 1e-5 (f16) or 1e-3 (int8/int4).
    /// nil: on for the f16 and raw-code kernels on GPUs whose driver reports shaderFloat16, off
    /// otherwise; pass false where accuracy is measured. true where the kernel or device lacks it
    /// is refused; in a call of several passes (mixed encodings) it applies to the passes whose
    /// kernel has it.
    public var f16Arithmetic: Bool?
    /// Elements of a row each lane handles on the subgroup path: 8, 16 or 32 (`headDim / this`
    /// lanes share one token, so more elements per lane means fewer shuffles and softmax updates
    /// per token and more registers per lane). nil on GPUs: 16 up to 4 query heads per KV head
    /// (int8 / int4 token groups smaller than that run the raw-code kernels at 8) and 8 above (a
    /// lane holds GQA group x elements queries and accumulators); on CPU devices 8 or
    /// `headDim / subgroupSize` where that is more. The portable path ignores it (one lane per
    /// token). A value the head dim or the subgroup cannot take is refused; with an explicit
    /// value, int8 / int4 token groups that do not cover a lane's slice run on the general kernel.
    public var elementsPerLane: Int?
    /// With f16 arithmetic on dense f16 pages: a step's value sums in packed f16 too (added to the
    /// fp32 accumulators once per step). nil: on whenever f16 arithmetic is (then about as accurate
    /// as its q·k); ignored without f16 arithmetic and by the other kernels.
    public var f16ValueSums: Bool?
    /// With f16 arithmetic on raw-code int8 / int4 pages: q·k as packed 8-bit integer dot products
    /// (VK_KHR_shader_integer_dot_product) of the codes with the queries split into two int8
    /// parts (q ≈ step·(a + b / 254), step = max|q| / 127 per query and lane slice), two
    /// instructions per 4 codes instead of about 8 in f16. The sums are exact integers, so q·k is
    /// closer to fp32 than in f16 (the rounding of the queries is at most max|q| / 64516 per
    /// element). nil: on where the driver does such dot products in one instruction (reports them
    /// accelerated) on a GPU, off otherwise. true without f16 arithmetic, on another kernel or
    /// where the device lacks the feature is refused; in a call of several passes it applies to
    /// the int8 / int4 passes that can take it.
    public var integerDot: Bool?
    /// Bitmap pages on the subgroup path: a token group copies a page's masks and first-nonzero
    /// indices, then each step's nonzeros, into shared memory with 16-byte loads spread over its
    /// lanes, and each lane reads its elements from there at use, instead of each lane loading
    /// its own nonzeros (2-byte reads at any alignment). nil: on where the device has subgroup
    /// votes and shared memory for a page's header (the layer's longest page) and a step's dense
    /// rows per token group, next to one merge slot (without a `tokensPerStep`, the step shrinks
    /// until they fit). true where that is not the case is refused; ignored by the other kernels.
    public var stagedBitmap: Bool?
    /// Page-table entries of a split a workgroup copies into shared memory when it starts (32
    /// bytes each), so that a token group reaches its next page's offsets there instead of
    /// waiting on memory before it can load the page's rows; pages of the split past them are
    /// read from the table. nil: the split's pages, at most 256 (8 KiB), where each token group
    /// walks at least two pages of its split, else none, and only what the merge slots leave;
    /// none for bitmap pages. 0: none. A number asked for is kept (refused when it leaves no merge
    /// slot); the staged bitmap loader's stage and the merge slots get the shared memory left.
    public var pageCacheEntries: Int?
    /// Split-K calls: the last workgroup of each KV head to finish (counted with an atomic counter
    /// per head) merges the head's splits into the output, instead of a merge pass after a
    /// barrier (a second dispatch). nil: on.
    public var fusedMerge: Bool?
    /// At most this many token groups merged per barrier round (tests of the multi-round merge).
    var mergeSlotLimit: Int?
    /// Splits whose partials the fused merge's last workgroup loads at once (1 ... 32; a round
    /// trip to the L2 per chunk). nil: on GPUs the smallest of 8, 16 and 32 that covers the
    /// call's splits, 1 on CPU devices (where unrolled loads only cost compile time).
    public var mergeSplitChunk: Int?

    public init(kernel: DecodeKernel = .automatic, pagesPerSplit: Int? = nil, portable: Bool = false, scale: Float? = nil,
                tokensPerStep: Int? = nil, pipelined: Bool? = nil, f16Arithmetic: Bool? = nil, elementsPerLane: Int? = nil,
                f16ValueSums: Bool? = nil, integerDot: Bool? = nil, workgroupSize: Int? = nil, stagedBitmap: Bool? = nil,
                pageCacheEntries: Int? = nil) {
        self.pageCacheEntries = pageCacheEntries
        self.stagedBitmap = stagedBitmap
        self.f16Arithmetic = f16Arithmetic
        self.workgroupSize = workgroupSize
        self.integerDot = integerDot
        self.elementsPerLane = elementsPerLane
        self.f16ValueSums = f16ValueSums
        self.tokensPerStep = tokensPerStep
        self.pipelined = pipelined
        self.kernel = kernel
        self.pagesPerSplit = pagesPerSplit
        self.portable = portable
        self.scale = scale
    }
}

/// Masking by position for a decode call: each sequence's query sees the kept keys at positions
/// `<= queryPositions[s]` and, with a window, `> queryPositions[s] - window` (as
/// `AttentionMask`). For sliding-window layers and queries inside the cached span.
public struct DecodeMask: Sendable, Hashable {
    /// One query position per sequence.
    public var queryPositions: [Int]
    /// Sliding window in tokens (positive), or nil for causal-only masking.
    public var window: Int?

    public init(queryPositions: [Int], window: Int? = nil) {
        self.queryPositions = queryPositions
        self.window = window
    }
}

/// The launch a decode call used.
public struct DecodeLaunch: Sendable, Hashable, Codable {
    public var kernel: String
    /// Workgroups along each head (1 = no split-K, no merge pass).
    public var splits: Int
    public var pagesPerSplit: Int
    public var workgroupSize: Int
    /// Lanes sharing one token; each handles `headDim / lanesPerToken` elements.
    public var lanesPerToken: Int
    public var tokensPerStep: Int
    /// The next step's rows load while this step's are used (only kernels with raw-word steps).
    public var pipelined: Bool
    /// Token groups whose accumulators one barrier round of the merge at the end of a workgroup
    /// gathers (all of them when shared memory holds them: one round).
    public var mergeSlots: Int
    /// q·k partial sums in f16 arithmetic (the `_f16math` kernel).
    public var f16Arithmetic: Bool
    /// Dense f16 pages with f16 arithmetic: value sums of a step in f16 too.
    public var f16ValueSums: Bool
    /// Raw-code int8 / int4 kernels and the int8 / int4 cooperative-matrix kernels: bytes per
    /// code load (4, 8 or 16; the widest the layer's page offsets allow); 0 for the other kernels.
    public var codeLoadBytes: Int
    /// Raw-code int8 / int4 kernels: q·k as packed 8-bit integer dot products (the `_intdot` kernel).
    public var integerDot: Bool = false
    /// Bitmap kernel: the longest page whose header a token group stages in shared memory (the
    /// staged loader, `DecodeOptions.stagedBitmap`); 0 when each lane loads its own nonzeros.
    public var stagedRows: Int = 0
    /// Page-table entries of its split each workgroup keeps in shared memory (0: none).
    public var pageCacheEntries: Int = 0
    /// Split-K: the last workgroup of each head merges the splits (`DecodeOptions.fusedMerge`);
    /// false with one split or a merge pass.
    public var fusedMerge: Bool = false
    /// With `fusedMerge`: splits whose partials the last workgroup loads at once; 0 without.
    public var mergeSplitChunk: Int = 0
    /// A layer whose encoding classes run on different kernels (e.g. ARKV's f16, int8 and int4
    /// tiers): one launch per kernel, each over its pages of every head, merged by the split-K
    /// merge; `kernel` then names them joined by " + " and `splits` counts all of them, the
    /// other fields above are the first pass's. Empty for one kernel.
    public var passes: [DecodeLaunch] = []
}

/// Decode attention on a Vulkan device, straight from the compressed pages: one query token per
/// sequence and query head, softmax(q·kᵀ·scale)·v over every kept token of its KV head.
public struct VulkanDecodeAttention: Sendable {
    public let context: VulkanContext

    public init(context: VulkanContext) { self.context = context }

    /// Attends `queries` over layer `layer` of `cache`.
    /// - Parameter queries: `[sequences, queryHeads, headDim]` fp32, sequences as in the cache.
    /// - Returns: the output `[sequences, queryHeads, headDim]` fp32 and the launch used.
    /// - Parameter mask: positions to mask by (nil: the queries come after every kept token).
    /// - Throws: `VulkanError.noVisibleKeys` when the mask hides every key of a head from its query.
    public func attend(_ cache: DeviceKVCache, layer: Int = 0, queries: [Float], mask: DecodeMask? = nil,
                       options: DecodeOptions = .init()) throws(VulkanError) -> (output: [Float], launch: DecodeLaunch) {
        let call = try DecodeCall(context, cache: cache, layer: layer, queries: queries, mask: mask, options: options)
        try context.submit { (commands) throws(VulkanError) in call.record(commands) }
        return (try call.output(), call.launch)
    }

    /// The kernel family `options` select for `layer` of `cache` on this device (`.automatic`
    /// resolved as a call would resolve it).
    /// - Throws: `VulkanError.unsupported` for options the kernels cannot take, as `attend` would.
    public func kernel(for cache: DeviceKVCache, layer: Int = 0, options: DecodeOptions = .init()) throws(VulkanError) -> DecodeKernel {
        try KernelChoice(context, cache: cache, layer: layer, options: options).kernel
    }

    /// The kernels a call with `options` runs over `layer` of `cache`, one per pass: one kernel,
    /// or, for a layer whose encodings need different kernels (ARKV tiers) with `.automatic`, one
    /// per kernel (`kernel(for:)` then names the single kernel that would read them all).
    /// - Throws: `VulkanError.unsupported` for options the kernels cannot take, as `attend` would.
    public func kernels(for cache: DeviceKVCache, layer: Int = 0, options: DecodeOptions = .init()) throws(VulkanError) -> [DecodeKernel] {
        try DecodeCall.runs(context, cache: cache, layer: layer, options: options).map(\.choice.kernel)
    }

    /// The driver's statistics of the decode kernel `options` select for this cache and layer
    /// (registers per thread and the like, where the driver reports them; else empty).
    public func kernelStatistics(_ cache: DeviceKVCache, layer: Int = 0, queries: [Float],
                                 options: DecodeOptions = .init()) throws(VulkanError) -> [KernelStatistic] {
        try DecodeCall(context, cache: cache, layer: layer, queries: queries, mask: nil, options: options).statistics
    }
}
