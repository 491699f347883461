import ArgumentParser
import Dispatch
import Foundation
import KVPack
import KVPackVulkan

extension Bench {
    struct Vulkan: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decode attention on a Vulkan GPU straight from compressed pages, per encoding and shape.",
            discussion: """
                For each (batch, context) shape and encoding: a synthetic one-layer cache (every token kept; pages from a 4096-token tile reused along each head, so building is fast), one decode query per sequence and query head. Reports the GPU time per call (timestamp queries around each call, median of --iterations after a warm-up; and back-to-back: the time per call of batches of about 5 ms of calls, each followed by a barrier, timed as a whole, as a CUDA-event loop times a PyTorch kernel), the bytes the kernel reads (head directory, page table, key and value payloads), the effective bandwidth (bytes read / time) and the dense-equivalent bandwidth (dense f16 K/V bytes / time). Where affordable (batch x tokens <= --cpu-max-tokens) it also runs the CPU backend on the same cache, reports its time, and checks the GPU output against it. A pool over the device's maxStorageBufferRange is split at head boundaries into up to 6 buffers; a shape that still does not fit (or exceeds device memory) is reported as skipped. Without Vulkan, it says why and runs the CPU backend only.
                """)

        @Option(parsing: .upToNextOption, help: "Context lengths (tokens per sequence).") var tokens: [Int] = [4096, 32768, 131072]
        @Option(parsing: .upToNextOption, help: "Batch sizes (sequences, one decode query each).") var batch: [Int] = [1, 8, 32]
        @Option(name: .customLong("query-heads")) var queryHeads = 32
        @Option(name: .customLong("kv-heads")) var kvHeads = 8
        @Option(name: .customLong("head-dim")) var headDim = 128
        @Option(name: .customLong("page-size")) var pageSize = 16
        @Option(parsing: .upToNextOption, help: "Encodings (each for keys and values).")
        var encodings: [PageEncoding] = [.f16, .int8(.init(groupSize: 32)), .int4(.init(groupSize: 32)), .bitmap]
        @Flag(inversion: .prefixedNo, help: "Also run a mixed cache: pages cycling f16, int8/g32, int8/g32, int4/g32 (ARKV-style tiers).")
        var mixed = true
        @Option(help: "Share of each row a bitmap encoding prunes.") var sparsity = 0.7
        @Option(help: "Timed calls per shape (the median is reported).") var iterations = 100
        @Option(help: "Seconds of untimed calls before timing each case, at least; the warm-up goes on until the GPU time per call settles (GPU clocks leave idle), at most 5 s more.") var warmup = 0.3
        @Option(name: .customLong("pages-per-split"), help: "Pages per workgroup (split-K); default: chosen per shape.")
        var pagesPerSplit: Int?
        @Option(name: .customLong("tokens-per-step"), help: "Tokens a token group loads per step; default: chosen per kernel.")
        var tokensPerStep: Int?
        @Option(help: "Load the next step's rows while this step's are used (f16/int8/int4 kernels): true or false; default: on for f16 on GPUs.")
        var pipelined: Bool?
        @Option(name: .customLong("f16-arithmetic"), help: "Packed f16 arithmetic in the f16 and raw-code int8/int4 kernels (devices with shaderFloat16): true or false; default: on for those kernels on GPUs that report shaderFloat16.")
        var f16Arithmetic: Bool?
        @Option(name: .customLong("lane-elements"), help: "Elements of a row each lane handles (8, 16 or 32; head dim / this many lanes share a token); default: on GPUs 16 up to 4 query heads per KV head and 8 above, else 8 or head dim / subgroup size.")
        var laneElements: Int?
        @Option(name: .customLong("f16-value-sums"), help: "With f16 arithmetic on f16 pages, a step's value sums in f16 too: true or false; default: on with f16 arithmetic.")
        var f16ValueSums: Bool?
        @Option(name: .customLong("integer-dot"), help: "With f16 arithmetic on raw-code int8/int4 pages, q·k as packed 8-bit integer dot products (devices with VK_KHR_shader_integer_dot_product): true or false; default: on where the driver reports them accelerated.")
        var integerDot: Bool?
        @Option(name: .customLong("staged-bitmap"), help: "Bitmap pages: a token group stages a page's header and each step's nonzeros in shared memory with 16-byte loads (true) or each lane loads its own nonzeros (false); default: staged where the device has subgroup votes and the shared memory.")
        var stagedBitmap: Bool?
        @Option(name: .customLong("page-cache"), help: "Page-table entries of its split a workgroup copies into shared memory when it starts (0: none); default: the split's pages, at most 256, where each token group walks two pages or more (none for bitmap pages).")
        var pageCache: Int?
        @Option(name: .customLong("fused-merge"), help: "Split-K merged by the last workgroup of each head (true) or by a merge pass after a barrier (false); default: fused.")
        var fusedMerge: Bool?
        @Option(name: .customLong("merge-split-chunk"), help: "The fused merge: splits whose partials the last workgroup loads at once (1-32); default: on GPUs the smallest of 8, 16 and 32 that covers the splits, 1 on CPU devices.")
        var mergeSplitChunk: Int?
        @Option(name: .customLong("target-workgroups"), help: "Workgroups the automatic split-K aims for; default: 256.")
        var targetWorkgroups: Int?
        @Option(name: .customLong("workgroup-size"), help: "Invocations per workgroup on the subgroup path (a multiple of the subgroup size; more invocations bound registers lower); default: 128.")
        var workgroupSize: Int?
        @Option(help: "Decode kernel: automatic (per encoding class, one pass per kernel a layer needs; all-f16, all-int8 or all-int4 layers at GQA 8 on cooperative matrices where the device has them), f16, coopmat (all-f16, all-int8 or all-int4 layers on cooperative matrices: VK_KHR_cooperative_matrix; int8 / int4 token groups of at least 16 / 32), quant, int8, int4, bitmap or mixed (one kernel over any mix).")
        var kernel: DecodeKernel = .automatic
        @Flag(help: "Use the portable kernels (no subgroup operations).") var portable = false
        @Option(help: "Vulkan device: an index or a name substring (default: KVPACK_VULKAN_DEVICE, else the best).")
        var device: String?
        @Option(name: .customLong("cpu-max-tokens"), help: "Run the CPU backend where batch x tokens is at most this.")
        var cpuMaxTokens = 32768
        @Option(help: "Also write the JSON to this file.") var json: String?
        @Flag(help: "Check instead of timing: each encoding's kernel (f16; int8 / int4 as the automatic choice picks them) and the cooperative-matrix kernel (where the device has it; else its cases are reported skipped) against the CPU backend on small caches of each --check-encodings encoding (2 sequences of 2005 and 1237 tokens, 2 KV heads, random rows per head), per head dim and GQA group, without and with a position mask (causal, sliding window), with one split, the automatic split-K (fused merge) and 8 pages per split (merge pass); prints the largest relative L2 error of an output vector per case and kernel, exits 1 when one is over 2e-2. --json writes the cases; the timing options are ignored.")
        var check = false
        @Option(name: .customLong("check-head-dims"), parsing: .upToNextOption, help: "--check: head dims.") var checkHeadDims: [Int] = [64, 128, 256]
        @Option(name: .customLong("check-groups"), parsing: .upToNextOption, help: "--check: GQA groups (query heads per KV head; 2 KV heads).")
        var checkGroups: [Int] = [4, 8]
        @Option(name: .customLong("check-encodings"), parsing: .upToNextOption, help: "--check: page encodings (each for keys and values).")
        var checkEncodings: [PageEncoding] = [.f16, .int8(.init(groupSize: 32)), .int4(.init(groupSize: 32))]

        struct Row: Codable {
            var batch: Int, tokens: Int
            var encoding: String
            var kernel: String?
            var splits: Int?
            var pagesPerSplit: Int?
            var tokensPerStep: Int?
            var pipelined: Bool?
            var mergeSlots: Int?
            /// Buffers each pool is split into (pools over maxStorageBufferRange).
            var poolWindows: Int?
            var f16Arithmetic: Bool?
            /// Elements of a row per lane (head dim / lanes per token).
            var laneElements: Int?
            var f16ValueSums: Bool?
            /// Bytes per code load of the raw-code int8 / int4 kernels.
            var codeLoadBytes: Int?
            /// q·k as packed 8-bit integer dot products (raw-code int8 / int4 kernels).
            var integerDot: Bool?
            /// Bitmap kernel: the longest page a token group stages (the staged loader).
            var stagedRows: Int?
            /// Page-table entries of its split a workgroup keeps in shared memory (first pass's).
            var pageCacheEntries: Int?
            var fusedMerge: Bool?
            /// With the fused merge: splits whose partials its last workgroup loads at once.
            var mergeSplitChunk: Int?
            /// A layer of several encoding classes: the kernel of each pass (`kernel` joins them).
            var passes: [String]?
            var workgroupSize: Int?
            /// The driver's statistics of the decode kernel (e.g. registers per thread).
            var kernelStatistics: [String: Double]?
            var bytesRead: Int
            var denseBytes: Int
            var ratio: Double
            var medianSeconds: Double?
            var minSeconds: Double?
            /// Median over batches of back-to-back calls of the batch's time per call.
            var backToBackSeconds: Double?
            var callsPerBatch: Int?
            /// Split-K calls timed with a third timestamp after the decode passes: medians of the
            /// decode's part and of the merge's (barrier, dispatch and run).
            var decodePassSeconds: Double?
            var mergePassSeconds: Double?
            var terabytesPerSecond: Double?
            var denseEquivalentTerabytesPerSecond: Double?
            var speedupOverF16: Double?
            var cpuSeconds: Double?
            /// Worst relative L2 error of a GPU output vector against the CPU backend.
            var maxRelativeL2VsCPU: Double?
            /// GPU outputs that are NaN or infinite (then no error is computed).
            var nonFiniteOutputs: Int?
            var skipped: String?
        }

        struct Result: Codable {
            var backend: String
            var device: String?
            var capabilities: VulkanCapabilities?
            var queryHeads: Int, kvHeads: Int, headDim: Int, pageSize: Int, iterations: Int, sparsity: Double
            var timing = "GPU timestamps around each call (decode + split-K merge), calls separated by a barrier, after at least --warmup seconds of untimed calls and until their GPU time per call settled within 2% (at most 5 s more); median and min. backToBackSeconds: timestamps around batches of callsPerBatch calls (about 5 ms), each call followed by a barrier, the batch's time per call, median of 5 batches (as a CUDA-event loop times cuDNN). decodePassSeconds / mergePassSeconds (split-K calls): the same calls again with a third timestamp after the decode passes, medians of the two parts"
            var rows: [Row]
        }

        func validate() throws {
            for (name, v) in [("--query-heads", queryHeads), ("--kv-heads", kvHeads), ("--head-dim", headDim),
                              ("--iterations", iterations), ("--page-size", pageSize)] where v <= 0 {
                throw ValidationError("\(name) must be positive; got \(v)")
            }
            if tokens.contains(where: { $0 <= 0 }) || batch.contains(where: { $0 <= 0 }) {
                throw ValidationError("--tokens and --batch must be positive")
            }
            if queryHeads % kvHeads != 0 { throw ValidationError("--query-heads must be a multiple of --kv-heads") }
            if !(0..<1).contains(sparsity) { throw ValidationError("--sparsity must be in [0, 1); got \(sparsity)") }
            if checkHeadDims.contains(where: { $0 <= 0 || $0 % 32 != 0 }) || checkGroups.contains(where: { $0 <= 0 }) {
                throw ValidationError("--check-head-dims must be positive multiples of 32 and --check-groups positive")
            }
        }

        /// The median the rows report (the upper one of an even count); nil for no samples.
        static func median(_ samples: [Double]) -> Double? {
            samples.isEmpty ? nil : samples.sorted()[samples.count / 2]
        }

        func run() throws {
            try failing {
                if check {
                    // The check needs the device: without one, the typed error says why (exit 69).
                    let context = try VulkanContext(selector: device.map(VulkanDeviceSelector.parse) ?? .environment)
                    FileHandle.standardError.write(Data("kvpack: Vulkan device \(context.device.name), subgroup \(context.capabilities.subgroupSize), cooperative matrices \(context.capabilities.cooperativeMatrix ? "on" : "off")\n".utf8))
                    try runCheck(context)
                    return
                }
                let context: VulkanContext?
                do {
                    context = try VulkanContext(selector: device.map(VulkanDeviceSelector.parse) ?? .environment)
                } catch {
                    FileHandle.standardError.write(Data("kvpack: Vulkan unavailable (\(error)); using the CPU backend\n".utf8))
                    context = nil
                }
                if let context {
                    let c = context.capabilities
                    FileHandle.standardError.write(Data("kvpack: Vulkan device \(context.device.name), subgroup \(c.subgroupSize), maxStorageBufferRange \(c.maxStorageBufferRange), cooperative matrices \(c.cooperativeMatrix ? "on" : "off (lacking \(c.cooperativeMatrixMissing.joined(separator: ", ")))")\n".utf8))
                }
                var cases: [(String, [(PageEncoding, PageEncoding)])] = encodings.map { e in
                    (e == .bitmap ? "bitmap(\(sparsity))" : e.description, [(e, e)])
                }
                if mixed {
                    let i8 = PageEncoding.int8(.init(groupSize: 32)), i4 = PageEncoding.int4(.init(groupSize: 32))
                    cases.append(("mixed(f16,int8,int8,int4)", [(.f16, .f16), (i8, i8), (i8, i8), (i4, i4)]))
                }
                var rows: [Row] = []
                for b in batch {
                    for n in tokens {
                        var f16Time: Double?
                        for (name, pageEncodings) in cases {
                            let row = try measure(context, batch: b, tokens: n, name: name, pageEncodings: pageEncodings)
                            if name == "f16" { f16Time = row.medianSeconds }
                            var r = row
                            if let t = r.medianSeconds, let f = f16Time { r.speedupOverF16 = f / t }
                            rows.append(r)
                            printRow(r)
                        }
                    }
                }
                let result = Result(backend: context == nil ? "cpu" : "vulkan", device: context?.device.name,
                                    capabilities: context?.capabilities, queryHeads: queryHeads, kvHeads: kvHeads,
                                    headDim: headDim, pageSize: pageSize, iterations: iterations, sparsity: sparsity, rows: rows)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                let data = try encoder.encode(result)
                if let json { try data.write(to: URL(fileURLWithPath: json), options: .atomic) }
            }
        }

        private func measure(_ context: VulkanContext?, batch b: Int, tokens n: Int, name: String,
                             pageEncodings: [(PageEncoding, PageEncoding)]) throws -> Row {
            let synthetic = try SyntheticDecodeCache(queryHeads: queryHeads, kvHeads: kvHeads, headDim: headDim, tokens: n,
                                                     sequences: b, pageSize: pageSize, pageEncodings: pageEncodings, sparsity: sparsity)
            let cache = synthetic.cache
            let bytes = cache.sequences.reduce(0) { acc, s in
                acc + s.layers[0].reduce(0) { $0 + $1.byteCount - 4 * $1.tokenCount } // positions are not read
            }
            var row = Row(batch: b, tokens: n, encoding: name, bytesRead: bytes, denseBytes: synthetic.denseBytes,
                          ratio: Double(bytes) / Double(synthetic.denseBytes))
            var state: UInt64 = 11
            let queries = (0..<b * queryHeads * headDim).map { _ -> Float in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return Float(Int64(bitPattern: state) >> 40) / Float(1 << 21)
            }
            var gpuOutput: [Float]?
            if let context {
                let flat = cache.flattened()
                var uploaded: DeviceKVCache?
                let upload = Swift.Result { () throws(VulkanError) in try DeviceKVCache(context, flat: flat) }
                switch upload {
                case .success(let device): uploaded = device
                case .failure(let error):
                    guard case .tooLarge = error else { throw error }
                    row.skipped = error.description
                }
                if let device = uploaded {
                    precondition(device.bytesRead(layer: 0) == bytes, "bytes read disagree")
                    let attention = VulkanDecodeAttention(context: context)
                    var options = DecodeOptions(kernel: kernel, pagesPerSplit: pagesPerSplit, portable: portable, tokensPerStep: tokensPerStep,
                                                pipelined: pipelined, elementsPerLane: laneElements, f16ValueSums: f16ValueSums)
                    options.workgroupSize = workgroupSize
                    options.stagedBitmap = stagedBitmap // the other kernels ignore it
                    options.pageCacheEntries = pageCache
                    options.fusedMerge = fusedMerge
                    options.mergeSplitChunk = mergeSplitChunk
                    if let targetWorkgroups { options.targetWorkgroups = targetWorkgroups }
                    // --f16-arithmetic applies where a chosen kernel has an f16-arithmetic build
                    // (in a call of several passes, to those that have it), --integer-dot likewise.
                    let kernels = try attention.kernels(for: device, options: options)
                    if kernels.contains(where: \.hasF16Arithmetic) { options.f16Arithmetic = f16Arithmetic }
                    if kernels.contains(where: \.hasIntegerDot) { options.integerDot = integerDot }
                    let (out, _) = try attention.attend(device, queries: queries, options: options)
                    gpuOutput = out
                    let timing = try attention.time(device, queries: queries, options: options, iterations: iterations,
                                                    warmupSeconds: warmup)
                    let launch = timing.launch
                    let median = Self.median(timing.seconds)!
                    row.kernel = launch.kernel
                    row.splits = launch.splits
                    row.pagesPerSplit = launch.pagesPerSplit
                    row.tokensPerStep = launch.tokensPerStep
                    row.poolWindows = device.poolWindows
                    row.pipelined = launch.pipelined
                    row.mergeSlots = launch.mergeSlots
                    row.f16Arithmetic = launch.f16Arithmetic
                    row.laneElements = headDim / launch.lanesPerToken
                    row.f16ValueSums = launch.f16ValueSums
                    row.codeLoadBytes = launch.codeLoadBytes > 0 ? launch.codeLoadBytes : nil
                    row.integerDot = launch.integerDot ? true : nil
                    row.stagedRows = ([launch] + launch.passes).map(\.stagedRows).max().flatMap { $0 > 0 ? $0 : nil }
                    row.pageCacheEntries = launch.pageCacheEntries
                    row.fusedMerge = launch.fusedMerge
                    row.mergeSplitChunk = launch.fusedMerge ? launch.mergeSplitChunk : nil
                    row.passes = launch.passes.isEmpty ? nil : launch.passes.map(\.kernel)
                    row.workgroupSize = launch.workgroupSize
                    let stats = try attention.kernelStatistics(device, queries: queries, options: options)
                    if !stats.isEmpty { row.kernelStatistics = Dictionary(stats.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a }) }
                    row.medianSeconds = median
                    row.minSeconds = timing.seconds.min()
                    row.decodePassSeconds = Self.median(timing.decodeSeconds)
                    row.mergePassSeconds = Self.median(timing.mergeSeconds)
                    row.backToBackSeconds = Self.median(timing.backToBackSeconds)
                    if row.backToBackSeconds != nil { row.callsPerBatch = timing.callsPerBatch }
                    row.terabytesPerSecond = Double(bytes) / median / 1e12
                    row.denseEquivalentTerabytesPerSecond = Double(synthetic.denseBytes) / median / 1e12
                }
            }
            if b * n <= cpuMaxTokens {
                let t0 = DispatchTime.now().uptimeNanoseconds
                let outputs = try Self.cpuAttention(cache, queries: queries, mask: nil)
                row.cpuSeconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
                if let gpu = gpuOutput {
                    // A NaN error would vanish in max(): non-finite outputs are counted instead.
                    let nonFinite = gpu.count { !$0.isFinite }
                    if nonFinite > 0 {
                        row.nonFiniteOutputs = nonFinite
                    } else {
                        row.maxRelativeL2VsCPU = try AttentionMetrics.worstRelativeL2(reference: outputs, approximation: gpu, length: headDim)
                    }
                }
            }
            return row
        }

        private func printRow(_ r: Row) {
            let name = r.encoding.padding(toLength: max(26, r.encoding.count), withPad: " ", startingAt: 0)
            var line = String(format: "B=%-3d N=%-7d ", r.batch, r.tokens) + name + String(format: " %6.3f of dense", r.ratio)
            if let t = r.medianSeconds, let bw = r.terabytesPerSecond, let dense = r.denseEquivalentTerabytesPerSecond {
                line += String(format: "  %9.1f us  %7.1f GB/s read  %7.1f GB/s dense-equiv.  splits %d", t * 1e6, bw * 1e3, dense * 1e3, r.splits ?? 1)
                line += r.backToBackSeconds.map { String(format: "  back-to-back %.1f us", $0 * 1e6) } ?? ""
                if let a = r.decodePassSeconds, let b = r.mergePassSeconds { line += String(format: " (decode %.1f + merge %.1f)", a * 1e6, b * 1e6) }
                line += "  step \(r.tokensPerStep ?? 1)\(r.pipelined == true ? " pipelined" : "")\(r.f16Arithmetic == true ? " f16-arithmetic" : "")"
                line += "\(r.f16ValueSums == true ? "+values" : "")  E=\(r.laneElements ?? headDim)\(r.codeLoadBytes.map { " load \($0)B" } ?? "")"
                line += r.integerDot == true ? " int-dot" : ""
                line += r.stagedRows.map { " staged \($0)" } ?? ""
                line += r.pageCacheEntries.map { $0 > 0 ? " pages-cached \($0)" : "" } ?? ""
                line += r.fusedMerge == true ? " fused-merge(chunk \(r.mergeSplitChunk ?? 0))" : ""
                line += r.passes.map { "  \($0.count) passes" } ?? ""
                line += r.workgroupSize.map { $0 != 128 ? "  WG \($0)" : "" } ?? ""
            }
            if let s = r.speedupOverF16 { line += String(format: "  %.2fx vs f16", s) }
            if let c = r.cpuSeconds { line += String(format: "  CPU %.2f ms", c * 1e3) }
            if let e = r.maxRelativeL2VsCPU { line += String(format: "  rel.L2 vs CPU %.1e", e) }
            if let n = r.nonFiniteOutputs { line += "  NON-FINITE GPU OUTPUTS: \(n)" }
            if let s = r.skipped { line += "  skipped: \(s)" }
            print(line)
            if let stats = r.kernelStatistics {
                print("    kernel: " + stats.sorted { $0.key < $1.key }.map { "\($0.key) \(Int($0.value))" }.joined(separator: ", "))
            }
        }
    }
}

extension DecodeKernel: ExpressibleByArgument {}
