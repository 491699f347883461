import Foundation
import Testing

/// Starts `kvpack` with `arguments` (output discarded), waits until `ready` holds (polled), sends
/// `sig`, and returns the exit status; nil if it finished before `ready` held.
func interrupt(_ arguments: [String], with sig: Int32, when ready: () -> Bool) throws -> (status: Int32, signalled: Bool) {
    let p = Process()
    p.executableURL = KVPackRun.executable
    p.arguments = arguments
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    var signalled = false
    while p.isRunning {
        if ready() {
            kill(p.processIdentifier, sig)
            signalled = true
            break
        }
        usleep(200)
    }
    p.waitUntilExit()
    return (p.terminationStatus, signalled)
}

func entries(_ dir: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() }

@Suite("kvpack offline tools: interrupts, early checks, one memory ratio", .serialized)
struct OfflineCLITests {
    func synth(_ dir: URL, name: String = "s.h5", tokens: Int = 300, window: Int = 16, extra: [String] = []) throws -> String {
        let path = dir.appendingPathComponent(name).path
        let run = try KVPackRun(arguments: ["synth", "-o", path, "--layers", "2", "--query-heads", "4", "--kv-heads", "2", "--head-dim", "64",
                                            "--tokens", "\(tokens)", "--window", "\(window)", "--probes", "4"] + extra)
        #expect(run.status == 0, "\(run.stderr)")
        return path
    }

    @Test("a report replaced under SIGINT or SIGTERM is the old one or the new one, whole, with nothing left beside it",
          arguments: [SIGINT, SIGTERM, SIGINT, SIGTERM])
    func reportSwapUnderSignal(sig: Int32) throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cap = try synth(dir, tokens: 3000)
        let out = dir.appendingPathComponent("rep").path
        let old = try KVPackRun("eval", cap, "--policy", "knorm(keep=0.5)", "--out", out)
        #expect(old.status == 0, "\(old.stderr)")
        let oldFiles = entries(out)
        // Signal as soon as the sibling folder of the new report appears (or the report changes).
        let before = try Data(contentsOf: URL(fileURLWithPath: out + "/report.json"))
        let r = try interrupt(["eval", cap, "--policy", "streaming(keep=0.5)", "--out", out], with: sig) {
            entries(dir.path).contains { $0.hasPrefix(".rep.tmp-") }
                || (try? Data(contentsOf: URL(fileURLWithPath: out + "/report.json"))) != before
        }
        #expect(!r.signalled || r.status == 0 || r.status == 128 + sig, "status \(r.status)")
        // One generation in every text file, and the files of that generation.
        var generations: Set<String> = []
        for name in ["report.md", "report.json", "report.csv"] {
            let text = try String(contentsOfFile: out + "/" + name, encoding: .utf8)
            generations.formUnion([text.contains("knorm(") ? "old" : nil, text.contains("streaming(") ? "new" : nil].compactMap { $0 })
        }
        #expect(generations.count == 1, "\(generations)")
        if generations == ["old"] { #expect(entries(out) == oldFiles) }
        #expect(entries(dir.path).allSatisfy { !$0.contains(".tmp-") }, "\(entries(dir.path))")
    }

    /// Repeated: a signal the process lost (it once was, about one run in four, to a thread that
    /// did not block it) shows up as status 0 and a replaced output.
    @Test("an interrupted synth removes its temporary file and leaves the existing output as it was",
          arguments: [SIGINT, SIGTERM, SIGHUP, SIGINT, SIGTERM, SIGHUP])
    func tempRemovedOnSignal(sig: Int32) throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = try synth(dir, name: "big.h5", tokens: 50)
        let original = try Data(contentsOf: URL(fileURLWithPath: out))
        let r = try interrupt(["synth", "-o", out, "--force", "--layers", "24", "--query-heads", "8", "--kv-heads", "8", "--head-dim", "128",
                               "--tokens", "8192"], with: sig) {
            entries(dir.path).contains { $0.hasPrefix(".big.h5.tmp-") }
        }
        #expect(r.signalled && r.status == 128 + sig, "status \(r.status)")
        #expect(entries(dir.path) == ["big.h5"])
        #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == original)
    }

    @Test("temporary files of processes that are gone are swept when a tool next writes beside them")
    func sweptAtStart() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/true")
        try p.run()
        p.waitUntilExit()
        let stale = [".c.kvp.tmp-\(p.processIdentifier)-1", ".s.h5.tmp-\(p.processIdentifier)-2"], live = ".x.h5.tmp-\(getpid())-3"
        for name in stale + [live] { FileManager.default.createFile(atPath: dir.appendingPathComponent(name).path, contents: Data([0])) }
        _ = try synth(dir)
        #expect(entries(dir.path) == [live, "s.h5"])
    }

    @Test("outputs are checked before any work: existing, in a missing directory, or an input; a report directory that is not a report")
    func earlyOutputChecks() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cap = try synth(dir)
        let bogus = dir.appendingPathComponent("bogus.h5").path // reading it would fail: the output error must come first
        try "not hdf5".write(toFile: bogus, atomically: true, encoding: .utf8)
        let kvp = dir.appendingPathComponent("c.kvp").path
        #expect(try KVPackRun("compress", cap, "-o", kvp).status == 0)
        let capBytes = try Data(contentsOf: URL(fileURLWithPath: cap)), kvpBytes = try Data(contentsOf: URL(fileURLWithPath: kvp))
        let cases: [([String], String)] = [
            (["compress", bogus, "-o", kvp], "already exists"),
            (["compress", bogus, "-o", dir.appendingPathComponent("no/c.kvp").path], "does not exist"),
            (["compress", cap, "-o", cap, "--force"], "is the input"),
            (["decompress", kvp, "-o", kvp, "--force"], "is the input"),
            (["decompress", bogus, "-o", cap], "already exists"),
            (["synth", "-o", dir.appendingPathComponent("no/s.h5").path], "does not exist"),
            (["eval", bogus, "--out", dir.path], "holds the input"),
            (["eval", bogus, "--out", kvp], "a file, not a directory"),
        ]
        for (args, message) in cases {
            let r = try KVPackRun(arguments: args)
            #expect(r.status == 73 && r.stderr.contains(message), "\(args): \(r.status) \(r.stderr)")
        }
        // A directory holding other files is not replaced by a report.
        let other = dir.appendingPathComponent("notes").path
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        try "keep me".write(toFile: other + "/todo.txt", atomically: true, encoding: .utf8)
        let r = try KVPackRun("eval", cap, "--policy", "dense", "--out", other)
        #expect(r.status == 73 && r.stderr.contains("todo.txt"), "\(r.stderr)")
        #expect(entries(other) == ["todo.txt"])
        #expect(try Data(contentsOf: URL(fileURLWithPath: cap)) == capBytes && (try Data(contentsOf: URL(fileURLWithPath: kvp))) == kvpBytes)
    }

    @Test("compress, inspect and eval report one memory ratio for gqa=repeat: against the model's dense KV cache")
    func oneMemoryRatio() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cap = try synth(dir)
        let spec = "snapkv(keep=0.25,window=16,gqa=repeat)", kvp = dir.appendingPathComponent("r.kvp").path
        let compressed = try KVPackRun("compress", cap, "-o", kvp, "--policy", spec)
        #expect(compressed.status == 0, "\(compressed.stderr)")
        let printed = try #require(compressed.stdout.split(separator: "(").dropFirst(2).first.flatMap { Double($0.prefix { $0 != " " }) })
        let inspected = try #require(try JSONSerialization.jsonObject(with: Data(try KVPackRun("inspect", kvp, "--json").stdout.utf8)) as? [String: Any])
        let evaluated = try #require(try JSONSerialization.jsonObject(with: Data(try KVPackRun("eval", cap, "--policy", spec, "--json").stdout.utf8)) as? [String: Any])
        let ratio = try #require(inspected["ratio"] as? Double)
        let run = try #require((evaluated["runs"] as? [[String: Any]])?.first)
        #expect(abs(printed - ratio) < 5e-4 && run["memoryRatio"] as? Double == ratio)
        // Two query heads share each of the 2 KV heads: a copy per query head keeps 2 x 0.25 of the dense cache (and
        // the pages' metadata); against a dense cache of query heads it read half that.
        #expect(ratio > 0.5 && ratio < 0.55, "\(ratio)")
        #expect(inspected["denseBytes"] as? Int == 2 * 2 * 300 * 2 * 64 * 2)
    }

    @Test("a policy that scores with window queries, on a decompressed cache (it has none), fails with directions")
    func missingWindowQueries() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cap = try synth(dir)
        let kvp = dir.appendingPathComponent("p.kvp").path, kept = dir.appendingPathComponent("kept.h5").path
        #expect(try KVPackRun("compress", cap, "-o", kvp, "--policy", "streaming(keep=0.5)").status == 0)
        #expect(try KVPackRun("decompress", kvp, "-o", kept).status == 0)
        let r = try KVPackRun("compress", kept, "-o", dir.appendingPathComponent("again.kvp").path, "--policy", "snapkv(keep=0.25)")
        #expect(r.status == 64 && r.stderr.contains("snapkv scores tokens with the capture's window queries") && r.stderr.contains("has none"))
        #expect(!entries(dir.path).contains("again.kvp"))
    }

    @Test("eval --decode --backend vulkan decodes through sessions mirrored on the device, as the CPU does")
    func decodeOnTheDevice() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cap = try synth(dir)
        let specs = ["--policy", "paged(keep=0.5,block=4)", "--policy", "arkv(keep=0.5,window=8)"]
        let cpu = try KVPackRun(arguments: ["eval", cap, "--decode", "--json"] + specs)
        let gpu = try KVPackRun(arguments: ["eval", cap, "--decode", "--backend", "vulkan", "--json"] + specs)
        #expect(cpu.status == 0 && gpu.status == 0, "cpu: \(cpu.stderr) vulkan: \(gpu.stderr)")
        func runs(_ out: String) throws -> [[String: Any]] {
            try #require((try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])?["runs"] as? [[String: Any]])
        }
        let (a, b) = (try runs(cpu.stdout), try runs(gpu.stdout))
        #expect(a.count == 2 && b.count == 2)
        for (x, y) in zip(a, b) {
            #expect(x["memoryRatio"] as? Double == y["memoryRatio"] as? Double, "the same tokens kept, the same bytes")
            let ex = try #require((x["relativeL2"] as? [String: Any])?["mean"] as? Double)
            let ey = try #require((y["relativeL2"] as? [String: Any])?["mean"] as? Double)
            #expect(abs(ex - ey) <= 1e-4 * max(ex, 1e-3), "mean relative L2: cpu \(ex), vulkan \(ey)")
        }
    }

    @Test("arguments that would be ignored are refused; a default fitted to the capture is a warning and the spec says what ran")
    func ignoredArguments() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cap = try synth(dir)
        let out = dir.appendingPathComponent("c.kvp").path
        var r = try KVPackRun("compress", cap, "-o", out, "--policy", "snapkv(keep=0.5)", "--keys", "int8")
        #expect(r.status == 64 && r.stderr.contains("--keys applies only without --policy"), "\(r.stderr)")
        r = try KVPackRun("compress", cap, "-o", out, "--key-sparsity", "0.7")
        #expect(r.status == 64 && r.stderr.contains("bitmap"), "\(r.stderr)")
        r = try KVPackRun("eval", cap, "--policy", "dense", "--top-k", "500")
        #expect(r.status == 0 && r.stderr.contains("warning: --top-k 500 is more than the 300 prompt tokens"), "\(r.stderr)")
        r = try KVPackRun("eval", cap, "--policy", "snapkv(keep=0.5,window=16)", "--budgets", "0.25")
        #expect(r.status == 0 && r.stderr.contains("warning: --budgets is not used"), "\(r.stderr)")
        // The capture has 16 window queries: the default window of 32 becomes 16, said once, and recorded.
        r = try KVPackRun("compress", cap, "-o", out, "--policy", "snapkv(keep=0.5)")
        #expect(r.status == 0 && r.stderr.contains("warning: snapkv: the capture has 16 window queries"), "\(r.stderr)")
        #expect(r.stdout.contains("snapkv(keep=0.5,window=16,"))
        r = try KVPackRun("eval", cap, "--policy", "snapkv(keep=0.5)", "--json")
        let run = try #require((try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])?["runs"] as? [[String: Any]])[0]
        #expect((run["ran"] as? String)?.contains("window=16,") == true && (run["warnings"] as? [String])?.count == 1)
    }

    @Test("help examples stay whole at 80 columns", arguments: ["eval", "compress", "synth", "summarize", "decompress", "convert", "inspect",
                                                                "bench", "bench reference", "bench compressed", "bench policies", "bench vulkan"])
    func helpExamples(command: String) throws {
        func help(_ columns: Int) throws -> [String] {
            let r = try KVPackRun(arguments: ["help"] + command.split(separator: " ").map(String.init), environment: ["COLUMNS": "\(columns)"])
            #expect(r.status == 0)
            return r.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        }
        let wide = try help(300), narrow = try help(80)
        // Indented lines of the discussion (examples, lists) print the same at 80 columns as at 300.
        let preformatted = wide.prefix { !$0.hasPrefix("USAGE:") }.filter { $0.hasPrefix("  ") }
        for line in preformatted { #expect(narrow.contains(line), "\(command): \(line)") }
        // Prose is wrapped at words: no line of the narrow help's discussion is longer than 80.
        #expect(narrow.prefix { !$0.hasPrefix("USAGE:") }.allSatisfy { $0.count <= 80 })
    }

    @Test(".kvp errors name the file")
    func kvpErrorsNameTheFile() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let kvp = dir.appendingPathComponent("c.kvp").path
        #expect(try KVPackRun("compress", try synth(dir), "-o", kvp).status == 0)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: kvp))
        bytes[10] = 0xFF // the version
        try bytes.write(to: URL(fileURLWithPath: kvp))
        for command in ["inspect", "decompress"] {
            let r = try KVPackRun(arguments: [command, kvp] + (command == "decompress" ? ["-o", dir.appendingPathComponent("x.h5").path] : []))
            #expect(r.status == 65 && r.stderr.contains("\(kvp): ") && r.stderr.contains("header is damaged"), "\(r.stderr)")
        }
    }
}
