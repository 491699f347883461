import Foundation
import Testing

/// `kvpack eval --model`: next-token fidelity on the shipped SmolLM2 model (installed by
/// Tools/scripts/setup.sh --tests) over the GPL-3 text, and its bad input.
@Suite("kvpack eval --model", .serialized)
struct FidelityCLITests {
    @Test("a small sweep prints the table, JSON, and writes report.md and report.json")
    func smallSweep() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("report").path
        let args = ["eval", "--model", "smollm2", "--context", "64", "--continuation", "4", "--policy", "dense", "--policy", "snapkv",
                    "--budgets", "0.5"]
        let json = try KVPackRun(arguments: args + ["--json", "--out", out])
        #expect(json.status == 0, "\(json.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let runs = try #require(report["runs"] as? [[String: Any]])
        #expect(runs.count == 2)
        let dense = try #require(runs[0]["summary"] as? [String: Any])
        #expect(dense["positions"] as? Int == 4 && dense["maxKLD"] as? Double == 0)
        #expect((runs[1]["run"] as? [String: Any])?["keep"] as? String == "0.5")
        #expect(FileManager.default.fileExists(atPath: out + "/report.md") && FileManager.default.fileExists(atPath: out + "/report.json"))
        #expect(json.stderr.contains("kvpack: eval --model: 2 runs x 1 chunks in"))

        let table = try KVPackRun(arguments: args)
        #expect(table.status == 0, "\(table.stderr)")
        #expect(table.stdout.contains("KLD mean ± SE") && table.stdout.contains("snapkv(keep=0.5"), "\(table.stdout)")
    }

    @Test("bad input is refused with what to do, and nothing is written")
    func badInput() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("report").path
        let unknown = try KVPackRun("eval", "--model", "llama-70b")
        #expect(unknown.status == 66 && unknown.stderr.contains("unknown model 'llama-70b'"), "\(unknown.stderr)")
        let both = try KVPackRun("eval", "--model", "smollm2", "capture.h5")
        #expect(both.status == 64 && both.stderr.contains("give captures or --model, not both"), "\(both.stderr)")
        let textAlone = try KVPackRun("eval", "--text", "/usr/share/common-licenses/GPL-3", "capture.h5")
        #expect(textAlone.status == 64 && textAlone.stderr.contains("--text needs --model"), "\(textAlone.stderr)")
        let zero = try KVPackRun("eval", "--model", "smollm2", "--continuation", "0")
        #expect(zero.status == 64 && zero.stderr.contains("--continuation must be positive; got 0"), "\(zero.stderr)")
        let long = try KVPackRun("eval", "--model", "smollm2", "--context", "9000", "--out", out)
        #expect(long.status == 64 && long.stderr.contains("beyond the 8192 tokens") && long.stderr.contains("--force"), "\(long.stderr)")

        let short = dir.appendingPathComponent("short.txt")
        try Data("A short text of a few words.".utf8).write(to: short)
        let shortRun = try KVPackRun("eval", "--model", "smollm2", "--text", short.path, "--out", out)
        #expect(shortRun.status == 65 && shortRun.stderr.contains("the text has") && shortRun.stderr.contains("tokens; 1 chunk of 1024"),
                "\(shortRun.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out), "nothing written")
    }
}
