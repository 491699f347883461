import Foundation
import KVPackTestSupport
import Testing

/// `kvpack bench session` end to end on the machine's device (lavapipe on CI).
@Suite("kvpack bench session")
struct BenchSessionTests {
    struct Row: Decodable {
        struct Event: Decodable {
            var group: Int, layer: Int
            var appendStart: Double, callEnd: Double
            var deviceStart: Double?, kernelStart: Double?, kernelEnd: Double?, deviceEnd: Double?
            var prepare: Double?, read: Double?, plansMade: Int?, planning: Double?
        }
        var microbatches: Int?
        var freeRunningGroups: Bool?
        var steps: Int
        var p50StepSeconds: Double
        var stepsPerSecond: Double
        var kernelSecondsPerStep: Double?
        var deviceSecondsPerStep: Double?
        var deviceBusySecondsPerStep: Double?
        var kernelBusySecondsPerStep: Double?
        var pipelinesCreatedInSteps: Int?
        var stepSecondsByGroup: [[Double]]?
        var appendSecondsByGroup: [[Double]]?
        var warmupSecondsByGroup: [[Double]]?
        var buffersCreatedInSteps: Int?
        var bufferCreationSecondsInSteps: Double?
        var appendSecondsPerStep: Double?
        var trace: [Event]?
        var slowestStep: Int?
        var slowestStepTrace: [Event]?
        var checkWorstRelativeL2: Double?
    }

    func bench(_ arguments: [String]) throws -> (Int32, String, [Row]?) {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let json = dir.appendingPathComponent("session.json")
        let run = try KVPackRun(arguments: ["bench", "session", "--out", json.path] + arguments)
        let rows = (try? Data(contentsOf: json)).flatMap { try? JSONDecoder().decode([Row].self, from: $0) }
        return (run.status, run.stderr, rows)
    }

    static let small = ["--backend", "vulkan", "--sessions", "4", "--tokens", "64", "--layers", "2", "--steps", "3",
                        "--query-heads", "8", "--kv-heads", "2", "--policy", "snapkv(keep=0.5)", "--serial-appends", "--trace"]

    @Test("free-running groups: each group runs every step on its own, and the row and its timeline say so")
    func freeRunningGroups() throws {
        let (status, stderr, rows) = try bench(Self.small + ["--microbatches", "1", "2", "--free-running-groups"])
        if stderr.contains("lists no device") { try TestEnvironment.deviceMissing("Vulkan", why: stderr) }
        #expect(status == 0, "\(stderr)")
        let r = try #require(rows)
        try #require(r.count == 2)
        // One group has nothing to run apart from: the plain steps.
        #expect(r.map(\.microbatches) == [1, 2])
        #expect(r.map(\.freeRunningGroups) == [false, true])
        for row in r {
            #expect(row.steps == 3)
            #expect(row.p50StepSeconds > 0 && row.stepsPerSecond > 0)
            #expect(row.kernelSecondsPerStep != nil && row.appendSecondsPerStep != nil, "every step's calls and appends counted")
        }
        // The last step's timeline: both groups' two layers, from the first append among them.
        let events = try #require(r[1].trace)
        #expect(Set(events.map { [$0.group, $0.layer] }) == [[0, 0], [0, 1], [1, 0], [1, 1]])
        #expect(events.map(\.appendStart).min() == 0)
        #expect(Set(try #require(r[0].trace).map(\.group)) == [0])
        // The device's busy time: calls on the device at once count once, so at most the sums
        // (plus rounding), and the decodes within the submissions.
        for row in r {
            let busy = try #require(row.deviceBusySecondsPerStep), kernelBusy = try #require(row.kernelBusySecondsPerStep)
            let sum = try #require(row.deviceSecondsPerStep), kernelSum = try #require(row.kernelSecondsPerStep)
            #expect(busy > 0 && busy <= sum * (1 + 1e-9))
            #expect(kernelBusy > 0 && kernelBusy <= kernelSum * (1 + 1e-9) && kernelBusy <= busy * (1 + 1e-9))
        }
        // Every timed step's time, per group (one list for the plain steps); pipelines counted.
        for row in r {
            let byGroup = try #require(row.stepSecondsByGroup)
            #expect(byGroup.count == row.microbatches && byGroup.allSatisfy { $0.count == 3 && $0.allSatisfy { $0 > 0 } })
            // The slowest step is the one in which some group took longest, with its timeline.
            let slowest = try #require(row.slowestStep)
            #expect(byGroup.map { $0[slowest - 1] }.max() == byGroup.map { $0.max()! }.max())
            #expect(Set(try #require(row.slowestStepTrace).map(\.group)) == Set(0..<(row.microbatches ?? 1)))
            // A group's appends are part of its step.
            let appends = try #require(row.appendSecondsByGroup)
            #expect(appends.count == byGroup.count && zip(appends, byGroup).allSatisfy { a, s in
                a.count == s.count && zip(a, s).allSatisfy { $0 > 0 && $0 < $1 }
            })
            #expect(try #require(row.pipelinesCreatedInSteps) >= 0)
            // The warm-up step, once per group (every group's before any timed step).
            let warmup = try #require(row.warmupSecondsByGroup)
            #expect(warmup.count == byGroup.count && warmup.allSatisfy { $0.count == 1 && $0[0] > 0 })
            #expect(try #require(row.buffersCreatedInSteps) >= 0)
            let creating = try #require(row.bufferCreationSecondsInSteps)
            #expect(creating >= 0 && (row.buffersCreatedInSteps! > 0 || creating == 0))
        }
        // The timeline on the device's clock, from the step's first submission.
        #expect(events.compactMap(\.deviceStart).min() == 0)
        for e in events {
            let stamps = [e.deviceStart, e.kernelStart, e.kernelEnd, e.deviceEnd].compactMap { $0 }
            #expect(stamps.count == 4 && stamps == stamps.sorted(), "start <= decodes <= end: \(stamps)")
            // The reads are a part of the call's preparation; plans are counted.
            let (prepare, read) = (try #require(e.prepare), try #require(e.read))
            #expect(read > 0 && read <= prepare)
            let (made, planning) = (try #require(e.plansMade), try #require(e.planning))
            #expect(made >= 0 && planning >= 0 && read + planning <= prepare)
            // A lane's buffers for a bank are made with its first plan there.
            #expect(made > 0 || planning == 0)
        }
    }

    @Test("--check: one more step of every group at once, the device's outputs against the CPU's, on the last row")
    func checkAgainstTheCPU() throws {
        let (status, stderr, rows) = try bench(Self.small + ["--microbatches", "1", "2", "--free-running-groups", "--check"])
        if stderr.contains("lists no device") { try TestEnvironment.deviceMissing("Vulkan", why: stderr) }
        #expect(status == 0, "\(stderr)")
        let r = try #require(rows)
        try #require(r.count == 2)
        #expect(r[0].checkWorstRelativeL2 == nil)
        let worst = try #require(r[1].checkWorstRelativeL2)
        #expect(worst.isFinite && worst < 1e-3, "largest relative L2 \(worst)")
    }

    @Test("--check is refused without the device backend")
    func checkNeedsTheDevice() throws {
        let (status, stderr, _) = try bench(["--sessions", "2", "--tokens", "64", "--layers", "1", "--steps", "1", "--check"])
        #expect(status != 0)
        #expect(stderr.contains("--check needs --backend vulkan"), "\(stderr)")
    }

    @Test("free-running groups are refused without the device backend")
    func freeRunningNeedsTheDevice() throws {
        let (status, stderr, _) = try bench(["--sessions", "2", "--tokens", "64", "--layers", "1", "--steps", "1", "--free-running-groups"])
        #expect(status != 0)
        #expect(stderr.contains("--free-running-groups needs --backend vulkan"), "\(stderr)")
    }
}
