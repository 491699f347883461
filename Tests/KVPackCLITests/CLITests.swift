import Foundation
import Testing

/// Runs the built `kvpack` executable (it sits beside the test bundle in the build directory).
struct KVPackRun {
    var status: Int32
    var stdout: String
    var stderr: String

    static let executable: URL = {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        if dir.lastPathComponent.hasSuffix(".xctest") { dir.deleteLastPathComponent() }
        return dir.appendingPathComponent("kvpack")
    }()

    init(_ arguments: String..., in directory: URL? = nil) throws {
        try self.init(arguments: arguments, in: directory)
    }

    init(arguments: [String], in directory: URL? = nil, environment: [String: String] = [:]) throws {
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        if let directory { process.currentDirectoryURL = directory }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        status = process.terminationStatus
        stdout = String(decoding: o, as: UTF8.self)
        stderr = String(decoding: e, as: UTF8.self)
    }
}

func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("kvpack-cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

@Suite("kvpack CLI", .serialized)
struct CLITests {
    @Test("synth writes a capture that summarize reads; an existing output needs --force")
    func synthAndSummarize() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("s.h5").path
        let args = ["synth", "-o", out, "--layers", "3", "--query-heads", "4", "--kv-heads", "2", "--head-dim", "32",
                    "--tokens", "300", "--window", "16", "--probes", "8", "--sliding-window", "64"]
        var run = try KVPackRun(arguments: args)
        #expect(run.status == 0, "\(run.stderr)")
        run = try KVPackRun("synth", "-o", out, "--layers", "2")
        #expect(run.status == 73)
        #expect(run.stderr.contains("already exists") && run.stderr.contains(out))
        run = try KVPackRun(arguments: args.map { $0 == "3" ? "2" : $0 } + ["--force"]) // now 2 layers
        #expect(run.status == 0)

        run = try KVPackRun("summarize", out, "--json")
        #expect(run.status == 0, "\(run.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let layers = try #require(json["layers"] as? [[String: Any]])
        #expect(layers.count == 2)
        #expect(json["queriesProfiled"] as? String == "probes")
        for layer in layers {
            let profile = try #require(layer["profile"] as? [String: Any])
            let sink = try #require(profile["sinkMass"] as? Double)
            let top = try #require(profile["top1PercentMass"] as? Double)
            #expect((0...1).contains(sink) && (0...1).contains(top))
            #expect(profile["rows"] as? Int == 4 * 8)
        }
        run = try KVPackRun("summarize", out)
        #expect(run.stdout.contains("layer") && run.stdout.contains("sliding(64)"))
    }

    @Test("summarize without a capture falls back to a sample or a synthetic capture")
    func summarizeDefault() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try KVPackRun("summarize", in: dir) // no Datasets/samples here
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("synthetic, made on the fly"))
        #expect(run.stdout.split(separator: "\n").filter { $0.contains("global") }.count == 8)
    }

    @Test("bad input gives a message and the documented exit code")
    func badInput() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var run = try KVPackRun("summarize", "/no/such/capture.h5")
        #expect(run.status == 66 && run.stderr.contains("/no/such/capture.h5"))
        let text = dir.appendingPathComponent("text.h5").path
        try "hello".write(toFile: text, atomically: true, encoding: .utf8)
        run = try KVPackRun("summarize", text)
        #expect(run.status == 65 && run.stderr.contains("not an HDF5 file"))
        run = try KVPackRun("synth", "-o", dir.appendingPathComponent("x.h5").path, "--query-heads", "8", "--kv-heads", "3")
        #expect(run.status == 64 && run.stderr.contains("multiple of --kv-heads"))
        run = try KVPackRun("synth", "-o", "/no/such/dir/x.h5", "--layers", "1")
        #expect(run.status == 73)
        run = try KVPackRun("convert", "/no/such/tensors", "-o", dir.appendingPathComponent("c.h5").path)
        #expect(run.status == 66)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["text.h5"]) // nothing half-written
    }

    @Test("bench reference reports a throughput as JSON")
    func benchReference() throws {
        let run = try KVPackRun("bench", "reference", "--tokens", "512", "--query-heads", "8", "--kv-heads", "2",
                                "--head-dim", "64", "--iterations", "3", "--json")
        #expect(run.status == 0, "\(run.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(json["kvBytes"] as? Int == 2 * 2 * 512 * 64 * 2)
        #expect((json["gigabytesPerSecond"] as? Double ?? 0) > 0)
    }

    @Test("doctor lists the libraries")
    func doctor() throws {
        let run = try KVPackRun("doctor")
        #expect(run.status == 0)
        #expect(run.stdout.contains("HDF5") && run.stdout.contains("zstd") && run.stdout.contains("lz4"))
        // Each Vulkan device's line is followed by its cooperative-matrix shapes: none on a CPU device (lavapipe).
        let lines = run.stdout.split(separator: "\n").map(String.init)
        for (i, line) in lines.enumerated() where line.hasPrefix("  device: ") {
            let next = i + 1 < lines.count ? lines[i + 1] : ""
            #expect(next.hasPrefix("    cooperative matrices: "), "\(line) / \(next)")
            if line.contains("(cpu, ") { #expect(next == "    cooperative matrices: none") }
        }
    }
}

@Suite("kvpack compress / inspect / decompress", .serialized)
struct ContainerCLITests {
    func synth(_ dir: URL) throws -> String {
        let path = dir.appendingPathComponent("s.h5").path
        let run = try KVPackRun(arguments: ["synth", "-o", path, "--layers", "2", "--query-heads", "4", "--kv-heads", "2",
                                            "--head-dim", "64", "--tokens", "50", "--window", "4", "--probes", "2"])
        #expect(run.status == 0, "\(run.stderr)")
        return path
    }

    @Test("compress -> inspect -> decompress, for each encoding and codec",
          arguments: [["f16", "f16"], ["int8", "int4/c16"], ["bitmap", "int8/g64"]], [false, true])
    func pipeline(encodings: [String], fast: Bool) throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let capture = try synth(dir)
        let kvp = dir.appendingPathComponent("c.kvp").path
        var run = try KVPackRun(arguments: ["compress", capture, "-o", kvp, "--keys", encodings[0], "--values", encodings[1],
                                            "--page-size", "16"] + (fast ? ["--fast"] : []))
        #expect(run.status == 0, "\(run.stderr)")
        run = try KVPackRun("inspect", kvp, "--json", "--positions")
        #expect(run.status == 0, "\(run.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect((json["policy"] as? String)?.contains("keys=\(encodings[0] == "int8" ? "int8/g32" : encodings[0])") == true)
        let heads = try #require(json["heads"] as? [[String: Any]])
        #expect(heads.count == 4 && heads.allSatisfy { $0["tokens"] as? Int == 50 })
        #expect((heads[0]["positions"] as? [Int]) == Array(0..<50))
        let ratio = try #require(json["ratio"] as? Double)
        #expect(ratio > 0 && ratio < 1.1)
        run = try KVPackRun("inspect", kvp)
        #expect(run.stdout.contains("ratio") && run.stdout.contains("tokens kept per head"))
        let out = dir.appendingPathComponent("back.h5").path
        run = try KVPackRun("decompress", kvp, "-o", out)
        #expect(run.status == 0, "\(run.stderr)")
        run = try KVPackRun("summarize", out, "--json")
        #expect(run.status == 0, "\(run.stderr)")
    }

    @Test("bad input: missing file, damaged file, bad encoding, existing output")
    func badInput() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let capture = try synth(dir)
        let kvp = dir.appendingPathComponent("c.kvp").path
        #expect(try KVPackRun("compress", capture, "-o", kvp).status == 0)
        var run = try KVPackRun("compress", capture, "-o", kvp)
        #expect(run.status == 73 && run.stderr.contains("already exists"))
        run = try KVPackRun("compress", capture, "-o", kvp, "--keys", "int3", "--force")
        #expect(run.status == 64)
        run = try KVPackRun("inspect", "/no/such.kvp")
        #expect(run.status == 66)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: kvp))
        bytes[bytes.count / 2] ^= 0x40
        let damaged = dir.appendingPathComponent("damaged.kvp").path
        try bytes.write(to: URL(fileURLWithPath: damaged))
        run = try KVPackRun("inspect", damaged)
        #expect(run.status == 65 && (run.stderr.contains("damaged") || run.stderr.contains("corrupt")), "\(run.stderr)")
        run = try KVPackRun("inspect", capture) // an HDF5 file is not a .kvp
        #expect(run.status == 65 && run.stderr.contains("not a KVPack .kvp file"))
        run = try KVPackRun("decompress", damaged, "-o", dir.appendingPathComponent("x.h5").path)
        #expect(run.status == 65)
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("x.h5").path))
    }
}

@Suite("kvpack compress --policy", .serialized)
struct PolicyCLITests {
    @Test("a policy spec compresses, and a bad one points at the column")
    func policy() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let capture = dir.appendingPathComponent("s.h5").path
        #expect(try KVPackRun(arguments: ["synth", "-o", capture, "--layers", "1", "--query-heads", "4", "--kv-heads", "2",
                                          "--head-dim", "64", "--tokens", "64", "--window", "8"]).status == 0)
        let out = dir.appendingPathComponent("c.kvp").path
        var run = try KVPackRun("compress", capture, "-o", out, "--policy", "snapkv(keep=0.25,window=8) | quant(bits=4)")
        #expect(run.status == 0, "\(run.stderr)")
        run = try KVPackRun("inspect", out, "--json")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(json["policy"] as? String == "snapkv(keep=0.25,window=8,kernel=5,pool=avg,gqa=mean) | quant(keys=int4/g32,values=int4/g32)")
        #expect((json["heads"] as? [[String: Any]])?.allSatisfy { $0["tokens"] as? Int == 16 } == true)
        run = try KVPackRun("compress", capture, "-o", out, "--force", "--policy", "snapkv(keep=0.25,,)")
        #expect(run.status == 64 && run.stderr.contains("column 18") && run.stderr.contains("^"), "\(run.stderr)")
        run = try KVPackRun("compress", capture, "-o", out, "--force", "--policy", "h3o(keep=0.5)")
        #expect(run.status == 64 && run.stderr.contains("unknown policy"))
    }
}
