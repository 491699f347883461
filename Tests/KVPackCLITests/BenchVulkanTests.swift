import Foundation
import KVPackTestSupport
import Testing

/// `kvpack bench vulkan` end to end: on the machine's device (lavapipe on CI) and without one.
@Suite("kvpack bench vulkan")
struct BenchVulkanTests {
    struct Output: Decodable {
        struct Row: Decodable {
            var encoding: String
            var kernel: String?
            var medianSeconds: Double?
            var cpuSeconds: Double?
            var maxRelativeL2VsCPU: Double?
            var splits: Int?
            var fusedMerge: Bool?
            var mergeSplitChunk: Int?
        }
        var backend: String
        var rows: [Row]
    }

    func bench(_ arguments: [String], environment: [String: String] = [:]) throws -> (Int32, String, Output?) {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let json = dir.appendingPathComponent("bench.json")
        let process = Process()
        process.executableURL = KVPackRun.executable
        process.arguments = ["bench", "vulkan", "--json", json.path] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let err = Pipe()
        process.standardError = err
        process.standardOutput = Pipe()
        try process.run()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let output = (try? Data(contentsOf: json)).flatMap { try? JSONDecoder().decode(Output.self, from: $0) }
        return (process.terminationStatus, String(decoding: e, as: UTF8.self), output)
    }

    /// The line of `stderr` that says why Vulkan is unavailable.
    static func unavailable(_ stderr: String) -> String {
        stderr.split(separator: "\n").first { $0.contains("Vulkan unavailable") }.map(String.init) ?? stderr
    }

    static let small = ["--tokens", "100", "--batch", "2", "--query-heads", "8", "--kv-heads", "2", "--head-dim", "128",
                        "--iterations", "2", "--warmup", "0"]

    @Test("without a Vulkan device it says why and measures the CPU backend")
    func noDevice() throws {
        let (status, stderr, output) = try bench(Self.small + ["--encodings", "f16", "--no-mixed"],
                                                 environment: ["VK_DRIVER_FILES": "/nonexistent/icd.json", "VK_ICD_FILENAMES": "/nonexistent/icd.json"])
        #expect(status == 0)
        #expect(stderr.contains("Vulkan unavailable"))
        #expect(output?.backend == "cpu")
        #expect(output?.rows.first?.cpuSeconds != nil)
        #expect(output?.rows.first?.medianSeconds == nil)
    }

    @Test("on the device: every encoding runs, is timed, and matches the CPU backend")
    func onDevice() throws {
        let (status, stderr, output) = try bench(Self.small)
        #expect(status == 0, "\(stderr)")
        let out = try #require(output)
        if out.backend == "cpu" { try TestEnvironment.deviceMissing("Vulkan", why: Self.unavailable(stderr)) }
        #expect(out.rows.count == 5)
        for row in out.rows {
            #expect(row.medianSeconds != nil, "\(row.encoding)")
            #expect((row.maxRelativeL2VsCPU ?? 1) < 4e-3, "\(row.encoding): \(String(describing: row.maxRelativeL2VsCPU))")
            // Split-K rows (the mixed tiers' three passes here) say how they were merged: fused by default.
            if (row.splits ?? 1) > 1 { #expect(row.fusedMerge == true && (row.mergeSplitChunk ?? 0) >= 1, "\(row.encoding)") }
        }
        #expect(out.rows.contains { ($0.splits ?? 1) > 1 })
    }

    @Test("a fused merge chunk outside 1 ... 32 is refused with a message, before any pipeline")
    func badChunk() throws {
        let (status, stderr, _) = try bench(Self.small + ["--encodings", "f16", "--no-mixed", "--merge-split-chunk", "40"])
        // The CPU backend ignores kernel options (noDevice covers it): this needs the device.
        if stderr.contains("Vulkan unavailable") { try TestEnvironment.deviceMissing("Vulkan", why: Self.unavailable(stderr)) }
        #expect(status != 0)
        #expect(stderr.contains("the fused merge loads 1 to 32 splits at once, not 40"), "\(stderr)")
    }

    struct Check: Decodable {
        struct Row: Decodable {
            var headDim: Int, queryHeads: Int, kernel: String, mask: String, split: String, encoding: String
            var splits: Int?
            var maxRelativeL2VsCPU: Double?
            var passed: Bool
        }
        var capabilities: Capabilities
        var rows: [Row]
        var coopmatSkipped: String?
        struct Capabilities: Decodable { var cooperativeMatrix: Bool }
    }

    @Test("--check: each case against the CPU, the largest error per case and kernel; f16 and int8 pages; coopmat where the device has it, else said skipped")
    func check() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let json = dir.appendingPathComponent("check.json")
        let process = Process()
        process.executableURL = KVPackRun.executable
        process.arguments = ["bench", "vulkan", "--check", "--check-head-dims", "64", "--check-groups", "4", "--check-encodings", "f16", "int8/g32",
                             "--json", json.path]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let printed = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if process.terminationStatus == 69 { try TestEnvironment.deviceMissing("Vulkan", why: stderr) }
        #expect(process.terminationStatus == 0, "\(stderr)")
        let check = try JSONDecoder().decode(Check.self, from: Data(contentsOf: json))
        let coopmat = check.capabilities.cooperativeMatrix
        // Each encoding's own kernel, and coopmat where the device has it.
        let pairs: Set<String> = coopmat ? ["f16 f16", "int8/g32 int8", "f16 coopmat", "int8/g32 coopmat"] : ["f16 f16", "int8/g32 int8"]
        // 2 masks x 3 splits per encoding and kernel, each within the tolerance; split-K really split.
        #expect(check.rows.count == 6 * pairs.count)
        #expect(Set(check.rows.map { "\($0.encoding) \($0.kernel)" }) == pairs)
        for row in check.rows {
            #expect(row.passed && (row.maxRelativeL2VsCPU ?? 1) < 2e-2, "\(row)")
            if row.split != "none" { #expect((row.splits ?? 1) > 1, "\(row)") }
        }
        #expect(check.rows.contains { $0.mask != "none" })
        #expect(printed.contains("rel.L2 vs CPU") && printed.contains("check: f16 pages, f16 kernel: 6 cases")
                && printed.contains("check: int8/g32 pages, int8 kernel: 6 cases"), "\(printed)")
        if !coopmat {
            // On lavapipe: the coopmat cases are said to be skipped, and the others still pass.
            #expect(printed.contains("coopmat kernel unavailable") && printed.contains("12 cases (f16, int8/g32 pages) are SKIPPED"), "\(printed)")
            #expect(printed.contains("check: coopmat: SKIPPED"), "\(printed)")
            #expect(check.coopmatSkipped?.contains("VK_KHR_cooperative_matrix") == true)
        } else {
            #expect(check.coopmatSkipped == nil)
        }
    }
}
