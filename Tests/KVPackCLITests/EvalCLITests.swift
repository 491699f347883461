import Foundation
import KVPackTestSupport
import Testing

@Suite("kvpack eval", .serialized)
struct EvalCLITests {
    /// A small synthetic capture (with probes unless `probes` is 0).
    func capture(_ dir: URL, probes: Int = 8, tokens: Int = 300, headDim: Int = 32, slidingWindow: Int? = nil) throws -> String {
        let path = dir.appendingPathComponent("c\(probes)-\(tokens)-\(headDim)-\(slidingWindow ?? 0).h5").path
        let run = try KVPackRun(arguments: ["synth", "-o", path, "--layers", "2", "--query-heads", "4", "--kv-heads", "2",
                                            "--head-dim", "\(headDim)", "--tokens", "\(tokens)", "--window", "16", "--probes", "\(probes)"]
                                    + (slidingWindow.map { ["--sliding-window", "\($0)"] } ?? []))
        #expect(run.status == 0, "\(run.stderr)")
        return path
    }

    @Test("the table for given policies and budgets; JSON twice is byte-identical; shards merge into it")
    func tableJSONAndShards() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cap = try capture(dir)
        let args = ["eval", cap, "--policy", "snapkv", "--policy", "quant(bits=4)", "--budgets", "0.1,0.5"]
        let table = try KVPackRun(arguments: args)
        #expect(table.status == 0, "\(table.stderr)")
        #expect(table.stdout.contains("snapkv(keep=0.1,") && table.stdout.contains("quant(keys=int4/g32,values=int4/g32)"))
        #expect(table.stdout.contains("mass recall"))
        let a = try KVPackRun(arguments: args + ["--json"]), b = try KVPackRun(arguments: args + ["--json"])
        #expect(a.status == 0 && a.stdout == b.stdout && a.stdout.contains("\"sha256\""))
        var parts: [String] = []
        for i in 0..<2 {
            let part = dir.appendingPathComponent("part\(i).json").path
            let r = try KVPackRun(arguments: args + ["--shard", "\(i)/2", "--json"])
            #expect(r.status == 0)
            try r.stdout.write(toFile: part, atomically: true, encoding: .utf8)
            parts.append(part)
        }
        let merged = try KVPackRun(arguments: ["eval", "merge"] + parts + ["--json"])
        #expect(merged.status == 0, "\(merged.stderr)")
        #expect(merged.stdout == a.stdout)
        let incomplete = try KVPackRun(arguments: ["eval", "merge", parts[0]])
        #expect(incomplete.status == 65 && incomplete.stderr.contains("missing"))
    }

    @Test("bad input: unknown policy, malformed spec, budget outside (0, 1], no probes, unwritable output, bad shard")
    func badInput() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cap = try capture(dir)
        var r = try KVPackRun("eval", cap, "--policy", "snapkvv")
        #expect(r.status == 64 && r.stderr.contains("unknown policy \"snapkvv\""))
        r = try KVPackRun("eval", cap, "--policy", "snapkv(keep=0.1")
        #expect(r.status == 64 && r.stderr.contains("^"))
        r = try KVPackRun("eval", cap, "--policy", "snapkv", "--budgets", "1.5")
        #expect(r.status == 64 && r.stderr.contains("budget \"1.5\""))
        r = try KVPackRun("eval", try capture(dir, probes: 0))
        #expect(r.status == 65 && r.stderr.contains("no probe queries") && r.stderr.contains("--probes"))
        let file = dir.appendingPathComponent("f.txt").path
        try "x".write(toFile: file, atomically: true, encoding: .utf8)
        r = try KVPackRun("eval", cap, "--policy", "dense", "--out", file)
        #expect(r.status == 73 && r.stderr.contains("cannot write the report"))
        r = try KVPackRun("eval", cap, "--shard", "2/2")
        #expect(r.status == 64)
        r = try KVPackRun("eval", dir.appendingPathComponent("missing.h5").path)
        #expect(r.status == 66)
    }

    @Test("--out writes every file; Ctrl-C during a run leaves no report")
    func outAndInterrupt() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cap = try capture(dir)
        let out = dir.appendingPathComponent("report").path
        let r = try KVPackRun("eval", cap, "--policy", "streaming", "--budgets", "0.2,0.5", "--out", out)
        #expect(r.status == 0, "\(r.stderr)")
        let names = try FileManager.default.contentsOfDirectory(atPath: out)
        for name in ["report.md", "report.json", "report.csv", "error-vs-memory.svg", "layers.svg"] { #expect(names.contains(name)) }

        // A longer sweep (decoding 32 probes over 30K tokens with every default policy: several
        // seconds), interrupted after a moment.
        let big = try capture(dir, probes: 32, tokens: 30000)
        let out2 = dir.appendingPathComponent("interrupted").path
        let p = Process()
        p.executableURL = KVPackRun.executable
        p.arguments = ["eval", big, "--decode", "--out", out2]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        Thread.sleep(forTimeInterval: 1.5)
        p.interrupt()
        p.waitUntilExit()
        #expect(p.terminationStatus != 0)
        let left = (try? FileManager.default.contentsOfDirectory(atPath: out2)) ?? []
        #expect(left.isEmpty, "after Ctrl-C: \(left)")
    }

    @Test("--backend vulkan (lavapipe here) measures what the CPU backend measures, sliding-window layer included")
    func vulkanBackend() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // One of the two layers slides (window 40): its probes attend on the GPU with a position mask.
        let cap = try capture(dir, headDim: 64, slidingWindow: 40)
        var stderr = ""
        func json(_ extra: [String]) throws -> [String: Any] {
            let r = try KVPackRun(arguments: ["eval", cap, "--policy", "snapkv", "--policy", "quant(bits=4)", "--budgets", "0.5", "--json"] + extra)
            #expect(r.status == 0, "\(r.stderr)")
            stderr = r.stderr
            return try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        }
        let cpu = try json([]), gpu = try json(["--backend", "vulkan"])
        // Without a device the CPU would stand in and the comparison below would pass vacuously.
        if let line = stderr.split(separator: "\n").first(where: { $0.contains("Vulkan unavailable") }) {
            try TestEnvironment.deviceMissing("Vulkan", why: String(line))
        }
        let settings = try #require(gpu["settings"] as? [String: Any])
        #expect(settings["backend"] as? String == "vulkan")
        let a = try #require(cpu["runs"] as? [[String: Any]]), b = try #require(gpu["runs"] as? [[String: Any]])
        #expect(a.count == 2 && b.count == 2)
        for (x, y) in zip(a, b) {
            let ex = try #require((x["relativeL2"] as? [String: Any])?["mean"] as? Double)
            let ey = try #require((y["relativeL2"] as? [String: Any])?["mean"] as? Double)
            #expect(abs(ex - ey) < 1e-3, "cpu \(ex) vs vulkan \(ey)")
            #expect(x["bytes"] as? Int == y["bytes"] as? Int)
        }
        // No device matches: the CPU attends, with a log line.
        let none = try KVPackRun(arguments: ["eval", cap, "--policy", "dense", "--backend", "vulkan"], environment: ["KVPACK_VULKAN_DEVICE": "no-such-gpu"])
        #expect(none.status == 0 && none.stderr.contains("Vulkan unavailable") && none.stderr.contains("CPU backend"), "\(none.stderr)")
        // A head dim the kernels do not cover: the CPU attends, with a log line.
        let r = try KVPackRun(arguments: ["eval", try capture(dir, headDim: 32), "--policy", "dense", "--backend", "vulkan"])
        #expect(r.status == 0 && r.stderr.contains("attends on the CPU"), "\(r.stderr)")
    }
}
