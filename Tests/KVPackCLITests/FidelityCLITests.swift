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
        let args = ["eval", "--model", "smollm2", "--context", "64", "--continuation", "4", "--chunks", "1", "--policy", "dense", "--policy", "snapkv",
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

    @Test("shards of a sweep merge into the whole sweep's report; the directory gets CSV and the KLD plot")
    func shardAndMerge() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let args = ["eval", "--model", "smollm2", "--context", "96", "--continuation", "3", "--chunks", "1", "--policy", "dense",
                    "--policy", "snapkv(keep=0.5)", "--policy", "quant(bits=8)", "--json"]
        let whole = try KVPackRun(arguments: args)
        #expect(whole.status == 0, "\(whole.stderr)")
        var parts: [String] = []
        for i in 0..<2 {
            let part = try KVPackRun(arguments: args + ["--shard", "\(i)/2"])
            #expect(part.status == 0, "\(part.stderr)")
            let path = dir.appendingPathComponent("part\(i).json").path
            try Data(part.stdout.utf8).write(to: URL(fileURLWithPath: path))
            parts.append(path)
        }
        let out = dir.appendingPathComponent("merged").path
        let merged = try KVPackRun(arguments: ["eval", "merge"] + parts + ["--json", "--out", out])
        #expect(merged.status == 0, "\(merged.stderr)")
        func runs(_ json: String) throws -> String {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
            return String(decoding: try JSONSerialization.data(withJSONObject: object["runs"] ?? [], options: [.sortedKeys]), as: UTF8.self)
        }
        #expect(try runs(merged.stdout) == runs(whole.stdout))
        for name in ["report.md", "report.json", "report.csv", "kld-vs-memory.svg"] {
            #expect(FileManager.default.fileExists(atPath: out + "/" + name), "\(name)")
        }
        let incomplete = try KVPackRun(arguments: ["eval", "merge", parts[0]])
        #expect(incomplete.status == 65 && incomplete.stderr.contains("runs 1 are missing"), "\(incomplete.stderr)")
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
        #expect(shortRun.status == 65 && shortRun.stderr.contains("the text has") && shortRun.stderr.contains("tokens; 2 chunks of 1024"),
                "\(shortRun.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out), "nothing written")
    }
}
