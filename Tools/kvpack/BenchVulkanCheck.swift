import ArgumentParser
import Foundation
import KVPack
import KVPackVulkan

/// `kvpack bench vulkan --check`: the decode kernels on the device against the CPU backend
/// (`CompressedAttention`) on small caches of one encoding each (f16, int8/g32, int4/g32 by
/// default), over head dims, GQA groups, position masks and split-K: each encoding's own kernel
/// (f16; int8 / int4 as `.automatic` picks them) and the cooperative-matrix kernel wherever the
/// device has it (else a line saying its cases are skipped). One line per case and kernel with
/// the largest relative L2 error of an output vector.
extension Bench.Vulkan {
    /// One case and kernel of the check.
    struct CheckRow: Codable {
        var headDim: Int, queryHeads: Int, kvHeads: Int
        /// Sequence lengths (tokens; ragged, not multiples of the page size).
        var tokens: [Int]
        /// "none", or "causal q=[...] window W".
        var mask: String
        /// The pages' encoding (keys and values), e.g. `int8/g32`.
        var encoding: String
        /// "none" (one split), "fused" (the automatic split-K, merged by the last workgroup of a
        /// head) or "pass" (8 pages per split, merged by the merge pass).
        var split: String
        /// The kernel asked for (`coopmat`, or the encoding's own: `f16`, `int8`, `int4`, ...).
        var kernel: String
        /// The kernel that ran (the launch's name), its splits and workgroup.
        var launchKernel: String?
        var splits: Int?
        var workgroupSize: Int?
        /// int8 / int4 kernels: bytes per code load (16, or 8 / 4 where page offsets are less aligned).
        var codeLoadBytes: Int?
        var maxRelativeL2VsCPU: Double?
        var nonFiniteOutputs: Int?
        /// Where the non-finite outputs are (`nonFiniteSummary`): the first few query heads with any,
        /// each with its runs of non-finite elements.
        var nonFiniteWhere: String?
        /// Why the case did not run (a typed error from the call), or why the kernel is unavailable.
        var error: String?
        /// Within `checkTolerance` (false for an error on an available kernel, or non-finite output).
        var passed: Bool
    }

    struct CheckResult: Codable {
        var device: String
        var capabilities: VulkanCapabilities
        var tolerance: Double
        var rows: [CheckRow]
        /// Why the coopmat cases did not run (the device lacks cooperative matrices); nil when they ran.
        var coopmatSkipped: String?
    }

    /// Relative L2 error of an output vector against the CPU above which a case fails: f16
    /// arithmetic (q·k and value sums in f16) measured about 5e-3 on lavapipe; the coopmat
    /// kernel rounds the scaled queries and the softmax weights to f16.
    static let checkTolerance = 2e-2

    /// Runs the check on `context` and prints one line per case and kernel; throws when a case fails.
    func runCheck(_ context: VulkanContext) throws {
        let caps = context.capabilities
        let kvHeads = 2, lengths = [2005, 1237] // 126 and 78 pages of 16, the last ones partial
        let positions = [1500, 900], window = 700 // the masked case: pages before the window and after the query hidden
        let attention = VulkanDecodeAttention(context: context)
        var skipped: String?
        if !caps.cooperativeMatrix {
            let why = caps.cooperativeMatrixMissing.isEmpty ? "no cooperative matrices" : caps.cooperativeMatrixMissing.joined(separator: ", ")
            let cases = checkHeadDims.count * checkGroups.count * checkEncodings.count * 6
            skipped = "lacking \(why)"
            print("check: coopmat kernel unavailable on \(context.device.name) (\(skipped!)): its \(cases) cases (\(checkEncodings.map(\.description).joined(separator: ", ")) pages) are SKIPPED; checking the other kernels only")
        }
        var rows: [CheckRow] = []
        for d in checkHeadDims {
            for group in checkGroups {
                let queryHeads = kvHeads * group
                for encoding in checkEncodings {
                    let (cache, queries) = try Self.checkCache(headDim: d, queryHeads: queryHeads, kvHeads: kvHeads, lengths: lengths,
                                                               pageSize: pageSize, encoding: encoding)
                    let device = try DeviceKVCache(context, flat: cache.flattened())
                    // The encoding's own kernel, then the coopmat kernel: f16 pages the f16 kernel; int8 /
                    // int4 pages the one `.automatic` picks, or, where it picks coopmat (GQA 8), the
                    // raw-code kernel it would otherwise take, so that both are checked.
                    let automatic = try attention.kernel(for: device)
                    let own: DecodeKernel = encoding == .f16 ? .f16
                        : automatic == .coopmat ? (encoding.kind == .int8 ? .int8 : .int4) : automatic
                    var kernels = [own]
                    if caps.cooperativeMatrix { kernels.append(.coopmat) }
                    for mask in [nil, DecodeMask(queryPositions: positions, window: window)] {
                        let expected = try Self.cpuAttention(cache, queries: queries, mask: mask)
                        let maskName = mask.map { "causal q=\($0.queryPositions) window \($0.window ?? 0)" } ?? "none"
                        for split in ["none", "fused", "pass"] {
                            for kernel in kernels {
                                var options = DecodeOptions(kernel: kernel)
                                switch split {
                                case "none": options.pagesPerSplit = 1 << 20
                                case "pass":
                                    options.pagesPerSplit = 8
                                    options.fusedMerge = false
                                default: break
                                }
                                var row = CheckRow(headDim: d, queryHeads: queryHeads, kvHeads: kvHeads, tokens: lengths, mask: maskName,
                                                   encoding: encoding.description, split: split, kernel: kernel.rawValue, passed: false)
                                do {
                                    let (out, launch) = try attention.attend(device, queries: queries, mask: mask, options: options)
                                    row.launchKernel = launch.kernel
                                    row.splits = launch.splits
                                    row.workgroupSize = launch.workgroupSize
                                    row.codeLoadBytes = launch.codeLoadBytes > 0 ? launch.codeLoadBytes : nil
                                    let nonFinite = out.count { !$0.isFinite }
                                    if nonFinite > 0 {
                                        row.nonFiniteOutputs = nonFinite
                                        row.nonFiniteWhere = Self.nonFiniteSummary(out, queryHeads: queryHeads, group: group, headDim: d)
                                    } else {
                                        let error = try AttentionMetrics.worstRelativeL2(reference: expected, approximation: out, length: d)
                                        row.maxRelativeL2VsCPU = error
                                        row.passed = error <= Self.checkTolerance
                                    }
                                } catch {
                                    row.error = "\(error)"
                                }
                                rows.append(row)
                                printCheckRow(row)
                            }
                        }
                    }
                }
            }
        }
        // The largest error per encoding and kernel over all cases.
        var seen: [String] = []
        for row in rows where !seen.contains(row.encoding + " " + row.kernel) { seen.append(row.encoding + " " + row.kernel) }
        for pair in seen {
            let mine = rows.filter { $0.encoding + " " + $0.kernel == pair }
            let worst = mine.compactMap(\.maxRelativeL2VsCPU).max()
            let failed = mine.filter { !$0.passed }.count
            let (encoding, kernel) = (mine[0].encoding, mine[0].kernel)
            print("check: \(encoding) pages, \(kernel) kernel: \(mine.count) cases, largest rel.L2 vs CPU \(worst.map { String(format: "%.2e", $0) } ?? "-"), \(failed == 0 ? "all within" : "\(failed) FAILED (over") \(String(format: "%.0e", Self.checkTolerance))\(failed == 0 ? "" : ", errors or non-finite)")")
        }
        if let skipped { print("check: coopmat: SKIPPED (\(skipped))") }
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let result = CheckResult(device: context.device.name, capabilities: caps, tolerance: Self.checkTolerance, rows: rows,
                                     coopmatSkipped: skipped)
            try encoder.encode(result).write(to: URL(fileURLWithPath: json), options: .atomic)
        }
        let failed = rows.filter { !$0.passed }.count
        if failed > 0 {
            FileHandle.standardError.write(Data("kvpack: error: \(failed) of \(rows.count) check cases failed (error over \(Self.checkTolerance), non-finite output, or a call that threw)\n".utf8))
            throw ExitCode(1)
        }
    }

    private func printCheckRow(_ r: CheckRow) {
        func pad(_ s: String, _ n: Int) -> String { s.padding(toLength: max(n, s.count), withPad: " ", startingAt: 0) }
        var line = String(format: "check d=%-3d Hq=%-2d Hkv=%d  ", r.headDim, r.queryHeads, r.kvHeads)
            + "\(pad(r.encoding, 8)) mask \(pad(r.mask, 34)) split \(pad(r.split, 5)) \(pad(r.kernel, 7))"
        if let k = r.launchKernel { line += " \(k) splits \(r.splits ?? 1) WG \(r.workgroupSize ?? 0)" + (r.codeLoadBytes.map { " loads \($0)B" } ?? "") }
        if let e = r.maxRelativeL2VsCPU { line += String(format: "  rel.L2 vs CPU %.2e", e) }
        if let n = r.nonFiniteOutputs { line += "  NON-FINITE GPU OUTPUTS: \(n)" + (r.nonFiniteWhere.map { " at \($0)" } ?? "") }
        if let e = r.error { line += "  ERROR: \(e)" }
        line += r.passed ? "  ok" : "  FAIL"
        print(line)
    }

    /// Where the non-finite values of `out` (`[sequences, queryHeads, headDim]`) are: for the first
    /// `limit` query vectors that have any, "s<sequence> h<query head> (kv <KV head> row <row in
    /// the GQA group of `group`>) e[<runs of element indices>]", then how many vectors have any,
    /// e.g. `s0 h1 (kv 0 row 1) e[0..<4, 8]; 1 of 16 query vectors (sequence, head) have any`.
    static func nonFiniteSummary(_ out: [Float], queryHeads: Int, group: Int, headDim d: Int, limit: Int = 6) -> String {
        let found = AttentionMetrics.nonFiniteRuns(out, length: d)
        let shown = found.prefix(limit).map { v in
            let (s, h) = v.vector.quotientAndRemainder(dividingBy: queryHeads)
            let runs = v.runs.prefix(8).map { $0.count == 1 ? "\($0.lowerBound)" : "\($0.lowerBound)..<\($0.upperBound)" }
            return "s\(s) h\(h) (kv \(h / group) row \(h % group)) e[\(runs.joined(separator: ", "))\(v.runs.count > 8 ? ", ..." : "")]"
        }
        return (shown + ["\(found.count) of \(out.count / d) query vectors (sequence, head) have any"]).joined(separator: "; ")
    }

    /// A one-layer cache of `encoding` pages (keys and values) with its own random keys and values
    /// for every sequence and KV head (so a kernel reading the wrong head or sequence shows), and
    /// queries `[sequences, queryHeads, d]`.
    static func checkCache(headDim d: Int, queryHeads: Int, kvHeads: Int, lengths: [Int], pageSize: Int,
                           encoding: PageEncoding = .f16) throws -> (CompressedCache, [Float]) {
        var rng = BenchRandom(seed: UInt64(1000 + d + queryHeads))
        let sequences = try lengths.enumerated().map { s, n in
            let heads = try (0..<kvHeads).map { _ in
                let keys = try HeadTensor(heads: 1, tokens: n, headDim: d, storage: rng.halves(n * d))
                let values = try HeadTensor(heads: 1, tokens: n, headDim: d, storage: rng.halves(n * d))
                return try HeadPages.pack(keys: keys, values: values, head: 0, kept: Array(0..<n), positions: Array(0..<n),
                                          encodings: Array(repeating: (encoding, encoding), count: n), pageSize: pageSize)
            }
            return CompressedSequence(id: "\(s)", originalTokens: n, layers: [heads])
        }
        let model = try ModelFacts(name: "check", queryHeads: queryHeads, kvHeads: kvHeads, headDim: d, layerKinds: [.global])
        let cache = try CompressedCache(model: model, pageSize: pageSize, policy: "check", sequences: sequences)
        let queries = rng.halves(lengths.count * queryHeads * d).map(Float.init)
        return (cache, queries)
    }

    /// The CPU backend's attention over `cache` (masked like `mask`), `[sequences, queryHeads, d]`.
    static func cpuAttention(_ cache: CompressedCache, queries: [Float], mask: DecodeMask?) throws -> [Float] {
        let m = cache.model, size = m.queryHeads * m.headDim
        var out: [Float] = []
        for (s, seq) in cache.sequences.enumerated() {
            let q = try HeadTensor(heads: m.queryHeads, tokens: 1, headDim: m.headDim, storage: Array(queries[s * size..<(s + 1) * size]))
            out += try CompressedAttention.attend(queries: q, heads: seq.layers[0], queryPositions: mask.map { [$0.queryPositions[s]] },
                                                  window: mask?.window).storage
        }
        return out
    }
}
