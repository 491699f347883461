import Foundation
import Testing

/// `kvpack eval --model --needle`: needle retrieval on the shipped SmolLM2 model (installed by
/// Tools/scripts/setup.sh --tests) with the GPL-3 text as filler, its report, its bad input.
@Suite("kvpack eval --model --needle", .serialized)
struct NeedleCLITests {
    @Test("a small sweep prints the table and writes the report: JSON, CSV, heat maps per run and the dense reference")
    func smallSweep() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("report").path
        let run = try KVPackRun(arguments: ["eval", "--model", "smollm2", "--needle", "--contexts", "256", "--depths", "0,100", "--samples", "1",
                                            "--policy", "dense", "--policy", "snapkv", "--budgets", "0.5", "--out", out])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("dense (reference)") && run.stdout.contains("accuracy %") && run.stdout.contains("snapkv(keep=0.5"),
                "\(run.stdout)")
        #expect(run.stderr.contains("kvpack: eval --needle: 2 tasks x (dense + 2 runs) in"), "\(run.stderr)")
        let json = try Data(contentsOf: URL(fileURLWithPath: out + "/report.json"))
        let report = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        let tasks = try #require(report["tasks"] as? [[String: Any]])
        #expect(tasks.map { $0["depth"] as? Double } == [0, 100] && tasks.allSatisfy { ($0["promptTokens"] as? Int ?? 999) <= 256 - 12 })
        let reference = try #require(report["reference"] as? [String: Any])
        let answers = try #require(reference["answers"] as? [[String: Any]])
        #expect(answers.count == 2 && answers.allSatisfy { $0["correct"] as? Bool == true }, "\(answers)")
        let runs = try #require(report["runs"] as? [[String: Any]])
        #expect(runs.count == 2 && (runs[1]["run"] as? [String: Any])?["keep"] as? String == "0.5")
        // (and a PNG of each SVG where rsvg-convert is installed)
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: out).filter { !$0.hasSuffix(".png") })
        #expect(names == ["report.md", "report.json", "report.csv", "needle-dense.svg", "needle-00-dense.svg", "needle-01-snapkv-keep0.5.svg",
                          "accuracy-vs-memory.svg"], "\(names)")
        let csv = try String(contentsOfFile: out + "/report.csv", encoding: .utf8)
        #expect(csv.hasPrefix("index,template,policy,keep,memory_ratio,context,depth,correct,tasks,accuracy,error\n"))
        #expect(csv.contains(",dense (reference),dense (reference),,") && csv.contains(",256,100,1,1,1.0,\n"), "\(csv)")
    }

    @Test("--json prints the report's JSON")
    func json() throws {
        let run = try KVPackRun("eval", "--model", "smollm2", "--needle", "--contexts", "200", "--depths", "50", "--samples", "1", "--policy",
                                "quant(bits=8)", "--json")
        #expect(run.status == 0, "\(run.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let runs = try #require(report["runs"] as? [[String: Any]])
        #expect(runs.count == 1 && (runs[0]["answers"] as? [[String: Any]])?.count == 1)
        #expect((report["settings"] as? [String: Any])?["contexts"] as? [Int] == [200])
    }

    @Test("bad input is refused with what to do, and nothing is written", arguments: [
        (["--policy", "snapkv(keep=2x)"], 64, "policy \"snapkv(keep=2x)\""),
        (["--policy", "nosuch"], 64, "nosuch"),
        (["--depths", "0,150"], 64, "needle depth 150 is outside 0...100"),
        (["--depths", "middle"], 64, "--depths: 'middle' is not a percentage"),
        (["--contexts", "48"], 64, "a context of 48 tokens cannot hold the task"),
        (["--contexts", "1K,16K"], 64, "a context of 16384 tokens is beyond the 8192 tokens"),
        (["--contexts", "lots"], 64, "--contexts: 'lots' is not a token count"),
        (["--samples", "0"], 64, "--samples must be positive; got 0"),
        (["--context", "512"], 64, "--context applies to next-token fidelity, not to --needle"),
    ])
    func badInput(extra: [String], status: Int32, message: String) throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("report").path
        let r = try KVPackRun(arguments: ["eval", "--model", "smollm2", "--needle", "--out", out] + extra)
        #expect(r.status == status && r.stderr.contains(message), "\(r.status): \(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out), "nothing written")
    }

    @Test("--needle and its options need --model; its options need --needle")
    func optionsNeedModel() throws {
        let alone = try KVPackRun("eval", "--needle")
        #expect(alone.status == 64 && alone.stderr.contains("--needle needs --model"), "\(alone.stderr)")
        let depths = try KVPackRun("eval", "capture.h5", "--depths", "50")
        #expect(depths.status == 64 && depths.stderr.contains("--depths needs --model"), "\(depths.stderr)")
        let fidelity = try KVPackRun("eval", "--model", "smollm2", "--samples", "3")
        #expect(fidelity.status == 64 && fidelity.stderr.contains("--samples needs --needle"), "\(fidelity.stderr)")
    }

    @Test("Ctrl-C during a sweep leaves no report directory and nothing beside it")
    func interrupted() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("needle").path
        // Minutes of work (every default policy over 1K prompts), interrupted once the model is loaded and the tasks made.
        let start = Date()
        let r = try interrupt(["eval", "--model", "smollm2", "--needle", "--contexts", "1K", "--samples", "2", "--out", out], with: SIGINT) {
            Date().timeIntervalSince(start) > 4
        }
        #expect(r.signalled && r.status != 0)
        #expect(entries(dir.path).isEmpty, "after Ctrl-C: \(entries(dir.path))")
    }
}
