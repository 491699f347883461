import ArgumentParser
import Foundation
import KVPack
import KVPackVulkan

extension Bench {
    struct RoundTrip: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "roundtrip",
            abstract: "The least a host-driven decode call costs on the Vulkan device, with no attention in it.",
            discussion: """
                Per batch size B: B sequences' query blocks ([query heads, head dim] floats each, as `attend` takes them) written from host arrays into staging, one pre-recorded submission copying them to device memory and back to a readback buffer, the calling thread polling the fence, and each block read back into a new array (as `attend` returns its outputs). B = 0 submits an empty command buffer: the queue's and fence's latency alone. A decode loop whose queries come from the host, one call per layer, takes at least this per layer; compare it with the kernels' time per layer (`kvpack bench session`, `kvpack bench vulkan`). Every block read back is checked against the one sent.
                  kvpack bench roundtrip --batch 0 1 8 32
                """)

        @Option(parsing: .upToNextOption, help: "Batch sizes (sequences per call; 0: an empty submission).") var batch: [Int] = [0, 1, 8, 32]
        @Option(name: .customLong("query-heads")) var queryHeads = 32
        @Option(name: .customLong("head-dim")) var headDim = 128
        @Option(help: "Timed calls per batch size (median and p10 / p90 reported).") var iterations = 500
        @Option(parsing: .upToNextOption, help: "Who waits for each submission (each a row per batch size): poll (the calling thread polls the fence: the floor), thread (the session pool's way: its waiting thread, polling up to --spin-microseconds, resumes the awaiting task).")
        var wait: [String] = ["poll"]
        @Option(name: .customLong("spin-microseconds"), help: "Microseconds the waiting thread (thread) polls before blocking.") var spinMicroseconds = 2000
        @Option(help: "Vulkan device: an index or a name substring (default: KVPACK_VULKAN_DEVICE, else the first GPU).") var device: String?
        @Option(help: "Also write the JSON to this file.") var json: String?

        func validate() throws {
            if batch.isEmpty || batch.contains(where: { $0 < 0 }) { throw ValidationError("--batch takes counts of 0 or more") }
            if let bad = wait.first(where: { !["poll", "thread"].contains($0) }) { throw ValidationError("--wait takes poll or thread; got \(bad)") }
            if spinMicroseconds < 0 { throw ValidationError("--spin-microseconds must be 0 or more") }
            for (name, v) in [("--query-heads", queryHeads), ("--head-dim", headDim), ("--iterations", iterations)] where v <= 0 {
                throw ValidationError("\(name) must be positive; got \(v)")
            }
        }

        /// One batch size's round trips, as `--json` writes them.
        struct Row: Codable {
            var wait: String
            var spinMicroseconds: Int?
            var timing: HostRoundTrip.Timing
        }

        func run() throws {
            try failing {
                let context = try VulkanContext(selector: device.map(VulkanDeviceSelector.parse) ?? .environment)
                print("host round trips on \(context.device.name): \(queryHeads) query heads x head dim \(headDim) floats a sequence, up and back")
                print("  wait        B   KB up   median us     p10 us     p90 us   device us   staging")
                var rows: [Row] = []
                let spin = Duration.microseconds(spinMicroseconds), floats = queryHeads * headDim, iterations = iterations
                for mode in wait {
                    for b in batch {
                        let how: HostRoundTrip.FenceWait = mode == "poll" ? .poll : .waitingThread(spin: spin)
                        let measured = Session.blocking { () async -> Result<HostRoundTrip.Timing, any Error> in
                            do {
                                return .success(try await HostRoundTrip.measure(context: context, sequences: b, floatsPerSequence: floats,
                                                                                iterations: iterations, await: how))
                            } catch { return .failure(error) }
                        }
                        let t: HostRoundTrip.Timing
                        do {
                            t = try measured.get()
                        } catch let e as HostRoundTrip.RoundTripError {
                            throw ValidationError(e.description)
                        }
                        rows.append(Row(wait: mode, spinMicroseconds: mode == "poll" ? nil : spinMicroseconds, timing: t))
                        let onDevice = t.deviceMedianSeconds.map { String(format: "%11.1f", $0 * 1e6) } ?? String(repeating: " ", count: 10) + "-"
                        print(mode.padding(toLength: 6, withPad: " ", startingAt: 0)
                              + String(format: "  %5d  %6.0f  %10.1f %10.1f %10.1f ", b, Double(b * t.bytesPerSequence) / 1024, t.medianSeconds * 1e6,
                                       t.p10Seconds * 1e6, t.p90Seconds * 1e6) + onDevice + "   " + (t.stagingDeviceLocal ? "device-local" : "host"))
                    }
                }
                if let json {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                    try encoder.encode(rows).write(to: URL(fileURLWithPath: json), options: .atomic)
                }
            }
        }
    }
}
