import Foundation
import KVPackTestSupport
import Testing

/// `kvpack serve` as a process on a port of the system's choosing, `kvpack loadtest` against it,
/// SIGTERM for a graceful exit; the server process is always ended.
@Suite("kvpack serve / loadtest", .serialized)
struct ServeCLITests {
    /// A running `kvpack serve`: its process and the port it printed.
    final class ServerProcess {
        let process = Process()
        let port: Int

        init(arguments: [String]) throws {
            process.executableURL = KVPackRun.executable
            process.arguments = ["serve", "--port", "0"] + arguments
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            try process.run()
            // The start line: "kvpack serve: NAME on http://127.0.0.1:PORT, ...".
            var text = ""
            let deadline = Date().addingTimeInterval(60)
            while !text.contains("\n"), Date() < deadline, process.isRunning {
                let data = out.fileHandleForReading.availableData
                if data.isEmpty { break }
                text += String(decoding: data, as: UTF8.self)
            }
            guard let range = text.range(of: "http://127.0.0.1:"),
                  let port = Int(text[range.upperBound...].prefix { $0.isNumber }) else {
                process.terminate()
                process.waitUntilExit()
                throw HarnessError(description: "kvpack serve printed no address: \(text)")
            }
            self.port = port
        }

        /// SIGTERM, then the exit status.
        func stop() -> Int32 {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            return process.terminationStatus
        }

        deinit { if process.isRunning { process.terminate(); process.waitUntilExit() } }
    }

    struct HarnessError: Error, CustomStringConvertible { let description: String }

    @Test("loadtest reports every request of a served tiny model; SIGTERM exits cleanly")
    func loadTest() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = dir.appendingPathComponent("tiny.gguf").path
        try Data(TinyModelFile.llama().bytes()).write(to: URL(fileURLWithPath: model))
        let text = dir.appendingPathComponent("words.txt").path
        try String(repeating: "the theory of the thing that the others then thought ", count: 40).write(toFile: text, atomically: true, encoding: .utf8)
        let server = try ServerProcess(arguments: ["--model", model, "--pool", "4MiB", "--policy", "streaming(sinks=4,keep=0.5)"])
        let report = dir.appendingPathComponent("report.json").path, metrics = dir.appendingPathComponent("metrics.txt").path
        let run = try KVPackRun("loadtest", "--url", "http://127.0.0.1:\(server.port)", "--clients", "3", "--requests", "6", "--max-tokens", "8",
                                "--prompt-words", "60", "--text", text, "--out", report, "--metrics-out", metrics)
        #expect(server.stop() == 0, "a graceful exit")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("6 completed, 0 failed, 0 rejected"), "\(run.stdout)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as? [String: Any])
        #expect(json["completed"] as? Int == 6)
        #expect((json["maxConcurrentAdmitted"] as? Double).map { (1...3).contains($0) } == true)
        #expect((json["meanRequestCompressionRatio"] as? Double).map { $0 < 0.8 } == true, "streaming keeps half the prompt")
        #expect(try String(contentsOfFile: metrics, encoding: .utf8).contains("kvpack_serve_generated_tokens_total 48"))
    }

    @Test("bad options are refused before anything starts")
    func badOptions() throws {
        let pool = try KVPackRun("serve", "--model", "smollm2", "--pool", "lots")
        #expect(pool.status == 64 && pool.stderr.contains("--pool must be a byte size"), "\(pool.stderr)")
        let model = try Self.tinyModel()
        defer { try? FileManager.default.removeItem(atPath: model) }
        let policy = try KVPackRun("serve", "--model", model, "--policy", "snapkvv")
        #expect(policy.status == 64 && policy.stderr.contains("unknown policy"), "\(policy.stderr)")
        let backend = try KVPackRun("serve", "--model", "smollm2", "--backend", "tpu")
        #expect(backend.status == 64, "\(backend.stderr)")
        let url = try KVPackRun("loadtest", "--url", "ftp://x")
        #expect(url.status == 64 && url.stderr.contains("--url must be http://host:port"), "\(url.stderr)")
    }

    static func tinyModel() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kvpack-cli-tiny-\(UUID().uuidString).gguf").path
        try Data(TinyModelFile.llama().bytes()).write(to: URL(fileURLWithPath: path))
        return path
    }
}
