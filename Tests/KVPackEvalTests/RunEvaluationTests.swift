import Foundation
import KVPack
import KVPackDatasets
import KVPackEval
import KVPackPolicies
import Testing

/// A small synthetic capture with probes: `layers` layers (sliding-window ones unless `sliding` is
/// nil; every `globalEvery`-th is global), 4 query heads over 2 KV heads, `sequences` sequences.
func smallCapture(probes: Int = 6, sliding: Int? = 64, layers: Int = 2, sequences: Int = 1, globalEvery: Int = 6) throws -> Capture {
    var spec = SyntheticCaptureSpec()
    spec.layers = layers
    spec.sequences = sequences
    spec.globalEvery = globalEvery
    spec.queryHeads = 4
    spec.kvHeads = 2
    spec.headDim = 16
    spec.tokens = 200
    spec.window = 8
    spec.probes = probes
    spec.slidingWindow = sliding
    spec.seed = 5
    return try SyntheticCapture.make(spec)
}

@Suite("Run evaluation and reports")
struct RunEvaluationTests {
    func run(_ spec: String, _ capture: Capture, detail: RunEvaluation.Detail = .summary) throws -> RunResult {
        let reference = try DenseReference(capture, name: "small", topK: 4)
        let plan = try SweepPlan(captures: 1, templates: [spec], budgets: [])
        return RunEvaluation.evaluate(plan.runs[0], capture: capture, reference: reference, pageSize: 16, detail: detail)
    }

    @Test("dense: no error, all mass, memory = the exact layout bytes over dense f16")
    func dense() throws {
        let cap = try smallCapture()
        let r = try run("dense", cap)
        #expect(r.error == nil)
        #expect(r.relativeL2.max < 1e-3)
        #expect(r.massRecall.mean > 0.99999 && r.topKRecall.mean == 1)
        let cache = try PolicyPipeline(parsing: "dense").compress(cap)
        #expect(r.bytes == cache.byteCount && r.memoryRatio == Double(cache.byteCount) / Double(cap.denseKVBytes))
        #expect(r.relativeL2.count == 2 * 4 * 6)
    }

    @Test("mass recall equals the dense softmax mass on the kept tokens, computed independently")
    func massRecall() throws {
        let cap = try smallCapture(sliding: nil)
        let r = try run("streaming(sinks=2,keep=20)", cap, detail: .heads)
        // Layer 0 (global): recompute for every query head and probe.
        let seq = cap.sequences[0], layer = seq.layers[0], d = cap.model.headDim, n = 200
        let scale = 1 / Double(d).squareRoot()
        var recalls: [Double] = []
        for qh in 0..<4 {
            for p in 0..<6 {
                let logits = (0..<n).map { t in
                    (0..<d).reduce(0.0) { $0 + Double(layer.probeQueries![qh, p, $1]) * Double(layer.keys[qh / 2, t, $1]) } * scale
                }
                let m = logits.max()!
                let e = logits.map { exp($0 - m) }, z = e.reduce(0, +)
                let kept = Array(0..<2) + Array(182..<200)
                recalls.append(kept.reduce(0.0) { $0 + e[$1] / z })
            }
        }
        let mine = r.layers![0].massRecall.mean
        let expected = recalls.reduce(0, +) / Double(recalls.count)
        #expect(abs(mine - expected) < 1e-5, "\(mine) vs \(expected)")
        #expect(r.layers![0].heads!.count == 4)
        #expect(r.layers![0].kind == "global")
        // Sliding-window layers measure against the windowed dense attention: the sinks are
        // outside every probe's window, so only the recent tokens carry mass.
        let sliding = try run("streaming(sinks=2,keep=20)", try smallCapture(), detail: .layers)
        #expect(sliding.layers!.contains { $0.kind == "sliding(64)" })
    }

    @Test("decode mode: probes appended one by one, decode steps run, sizes as the policies' rules say")
    func decode() throws {
        let cap = try smallCapture(sliding: nil)
        func decoded(_ spec: String) throws -> RunResult {
            let plan = try SweepPlan(captures: 1, templates: [spec], budgets: [])
            return RunEvaluation.evaluateDecode(plan.runs[0], capture: cap, pageSize: 16, detail: .layers)
        }
        // 200 prompt tokens + 6 probes. Streaming keeps 20 and has no decode step: 26 at the end.
        let streaming = try decoded("streaming(sinks=2,keep=20)")
        #expect(streaming.error == nil)
        #expect(abs(streaming.tokenShare - 26.0 / 206) < 1e-12)
        // PagedEviction: C = 48, block 16: prefill keeps 48 + 200 % 16 = 56; 62 after 6 probes (no block fills past C).
        let paged = try decoded("paged(keep=48,block=16)")
        #expect(abs(paged.tokenShare - 62.0 / 206) < 1e-12)
        #expect(paged.relativeL2.count == 2 * 4 * 6 && paged.massRecall.count == 0)
        // Dense decodes exactly.
        #expect(try decoded("dense").relativeL2.max < 1e-3)
    }

    @Test("a capture without probes is refused with directions")
    func noProbes() throws {
        let cap = try smallCapture(probes: 0)
        let r = Result { () throws(EvalError) in try DenseReference(cap, name: "x.h5", topK: 4) }
        guard case .failure(let e) = r, case .noProbes = e else { Issue.record("\(r)"); return }
        #expect(e.description.contains("--probes"))
    }

    @Test("the same sweep gives byte-identical JSON; shards merge into the unsharded report")
    func reproducibleAndMergeable() throws {
        let cap = try smallCapture()
        let reference = try DenseReference(cap, name: "small", topK: 4)
        let plan = try SweepPlan(captures: 1, templates: ["snapkv", "random", "quant(bits=4)"], budgets: ["0.2", "0.5"])
        let settings = EvalReport.Settings(templates: ["snapkv", "random", "quant(bits=4)"], budgets: ["0.2", "0.5"], topK: 4, pageSize: 16, detail: .layers)
        let info = EvalReport.CaptureInfo(file: "small.h5", sha256: "00", bytes: 1, model: "m", sequences: 1, tokens: 200, probes: 6, layers: 2)
        func report(_ shard: Shard?) -> EvalReport {
            let runs = plan.runs.filter { shard?.contains($0.index) ?? true }
                .map { RunEvaluation.evaluate($0, capture: cap, reference: reference, pageSize: 16, detail: .layers) }
            return EvalReport(kvpackVersion: "t", captures: [info], settings: settings, totalRuns: plan.runs.count, shard: shard, runs: runs)
        }
        let whole = report(nil)
        #expect(whole.json() == report(nil).json())
        let parts = try (0..<3).map { i throws in report(try Shard(parsing: "\(i)/3")) }
        #expect(try EvalReport.merge(parts.reversed()).json() == whole.json())
        let missing = Result { () throws(EvalError) in try EvalReport.merge(Array(parts.prefix(2))) }
        guard case .failure(.mergeIncomplete(let m, [])) = missing else { Issue.record("\(missing)"); return }
        #expect(m == parts[2].runs.map(\.run.index))
        var other = parts[1]
        other.settings.topK = 5
        let mismatch = Result { () throws(EvalError) in try EvalReport.merge([parts[0], other, parts[2]]) }
        guard case .failure(.mergeMismatch) = mismatch else { Issue.record("\(mismatch)"); return }
    }

    @Test("a report directory gets every file at once and no staging folder; a file path is refused")
    func directory() throws {
        let cap = try smallCapture()
        let reference = try DenseReference(cap, name: "small", topK: 4)
        let plan = try SweepPlan(captures: 1, templates: ["snapkv"], budgets: ["0.2", "0.5"])
        let runs = plan.runs.map { RunEvaluation.evaluate($0, capture: cap, reference: reference, pageSize: 16, detail: .layers) }
        let info = EvalReport.CaptureInfo(file: "small.h5", sha256: "00", bytes: 1, model: "m", sequences: 1, tokens: 200, probes: 6, layers: 2)
        let report = EvalReport(kvpackVersion: "t", captures: [info],
                                settings: .init(templates: ["snapkv"], budgets: ["0.2", "0.5"], topK: 4, pageSize: 16, detail: .layers),
                                totalRuns: 2, shard: nil, runs: runs)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kvpack-report-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try ReportDirectory(dir).write(report)
        let names = try FileManager.default.contentsOfDirectory(atPath: dir)
        for name in ["report.md", "report.json", "report.csv", "error-vs-memory.svg", "layers.svg"] { #expect(names.contains(name), "\(name)") }
        #expect(!names.contains { $0.hasPrefix(".kvpack-eval-partial") })
        #expect(try EvalReport.read(dir + "/report.json") == report)
        let file = dir + "/report.md/sub"
        let r = Result { () throws(ReportDirectoryError) in try ReportDirectory(file) }
        guard case .failure(.output(.directoryIsFile)) = r else { Issue.record("\(r)"); return }
    }
}

@Suite("Library article example")
struct LibraryArticleExampleTests {
    @Test("compress, decode and evaluate as the library article (LibraryUsage.md) shows")
    func example() throws {
        let capture = try smallCapture(sliding: nil)
        let pipeline = try PolicyPipeline(parsing: "snapkv(keep=0.25) | mustafar(k=0.5,v=0.5)")
        let cache = try pipeline.compress(capture)
        let decoded = try DecodeSimulation.run(pipeline, capture: capture)
        let reference = try DenseReference(capture, name: "capture.h5", topK: 8)
        let run = try SweepPlan(captures: 1, templates: ["snapkv"], budgets: ["0.25"]).runs[0]
        let result = RunEvaluation.evaluate(run, capture: capture, reference: reference, pageSize: 16, detail: .layers)
        #expect(cache.byteCount < capture.denseKVBytes / 2)
        #expect(decoded.outputs[0].count == 6)
        #expect(result.memoryRatio < 0.3 && result.relativeL2.mean.isFinite && result.massRecall.mean > 0)
    }
}
