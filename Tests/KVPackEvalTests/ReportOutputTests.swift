import Foundation
import KVPack
@testable import KVPackEval
import Testing

@Suite("Report files")
struct ReportOutputTests {
    /// A report of `templates` on `captures` copies of the small capture; the last template may fail.
    func report(_ templates: [String], captures: Int = 1) throws -> EvalReport {
        let cap = try smallCapture()
        let reference = try DenseReference(cap, name: "small", topK: 4)
        let plan = try SweepPlan(captures: captures, templates: templates, budgets: ["0.5"])
        let runs = plan.runs.map { RunEvaluation.evaluate($0, capture: cap, reference: reference, pageSize: 16, detail: .layers) }
        let infos = (0..<captures).map {
            EvalReport.CaptureInfo(file: "c\($0).h5", sha256: "00", bytes: 1, model: "m", sequences: 1, tokens: 200, probes: 6, layers: 2)
        }
        return EvalReport(kvpackVersion: "t", captures: infos,
                          settings: .init(templates: templates, budgets: ["0.5"], topK: 4, pageSize: 16, detail: .layers),
                          totalRuns: plan.runs.count, shard: nil, runs: runs)
    }

    @Test("the terminal table keeps its columns when a run fails: the failure spans them, and every other row lines up")
    func failedRunAlignment() throws {
        let r = try report(["snapkv(window=8)", "quant(bits=4,group=16)", "snapkv(keep=1,window=8)"])
        #expect(r.runs.last!.error != nil && r.runs.dropLast().allSatisfy { $0.error == nil })
        let lines = ReportTable.terminal(r).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let header = try #require(lines.first { $0.contains("rel-L2 mean") })
        let table = lines.drop { $0 != header }.prefix { !$0.isEmpty }
        let rows = table.filter { !$0.contains("failed:") }
        #expect(rows.count == 4 && Set(rows.map(\.count)).count == 1, "\(rows)") // header, rule, two runs
        #expect(table.contains { $0.contains("failed: snapkv: keep=1 leaves a head 1 token") })
        // The same columns as without the failed run: its message widens none of them.
        var without = r
        without.runs.removeLast()
        #expect(ReportTable.terminal(without).split(separator: "\n").map(String.init).filter { !$0.contains("failed:") }.contains(header))
    }

    @Test("report.md links each capture's plots, which are among the files written", arguments: [1, 2])
    func markdownLinksPlots(captures: Int) throws {
        let r = try report(["snapkv(window=8)"], captures: captures)
        let md = ReportTable.markdown(r)
        let names = Set(ReportDirectory.files(r).map(\.name))
        let links = md.split(separator: "\n").filter { $0.hasPrefix("![") }.map { String($0.split(separator: "(").last!.dropLast()) }
        #expect(links.count == 2 * captures && links.allSatisfy { names.contains($0) }, "\(links) \(names)")
    }

    @Test("a report replaces the previous one as a whole: files the new one does not write are gone, nothing is left beside it")
    func replacedWhole() throws {
        let parent = FileManager.default.temporaryDirectory.appendingPathComponent("report-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let dir = parent + "/rep"
        try ReportDirectory(dir).write(try report(["snapkv(window=8)"], captures: 2))
        #expect(FileManager.default.fileExists(atPath: dir + "/error-vs-memory-1.svg"))
        let second = try report(["quant(bits=4,group=16)"])
        try ReportDirectory(dir).write(second)
        let expected = ReportDirectory.files(second).map(\.name).sorted()
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == expected)
        #expect(try EvalReport.read(dir + "/report.json") == second)
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent) == ["rep"])
    }
}
