import Testing
@testable import KVPackVulkan

/// `HostRoundTrip`: blocks sent up come back unchanged (its own check), timings are ordered, bad
/// counts are refused, and the echo check finds the first differing float.
struct HostRoundTripTests {
    @Test(.vulkanDevice, arguments: [0, 1, 5], [HostRoundTrip.FenceWait.poll, .waitingThread(spin: .zero), .waitingThread(spin: .microseconds(200))])
    func blocksComeBackUnchanged(sequences: Int, wait: HostRoundTrip.FenceWait) async throws {
        let context = try #require(SharedContext.context)
        let t = try await HostRoundTrip.measure(context: context, sequences: sequences, floatsPerSequence: 96, iterations: 5, warmup: 1, await: wait)
        #expect(t.sequences == sequences && t.bytesPerSequence == 384 && t.iterations == 5)
        #expect(t.p10Seconds > 0 && t.p10Seconds <= t.medianSeconds && t.medianSeconds <= t.p90Seconds)
    }

    @Test(.vulkanDevice, arguments: [(-1, 8, 5), (2, 0, 5), (2, 8, 0), (Int.max / 2, 8, 5)])
    func badCountsAreRefused(sequences: Int, floats: Int, iterations: Int) async throws {
        let context = try #require(SharedContext.context)
        await #expect(throws: HostRoundTrip.RoundTripError.self) {
            try await HostRoundTrip.measure(context: context, sequences: sequences, floatsPerSequence: floats, iterations: iterations)
        }
    }

    @Test func firstMismatchFindsTheFirstDifferingFloat() {
        #expect(HostRoundTrip.firstMismatch(sent: [[1, 2], [3, 4]], back: [[1, 2], [3, 4]]) == nil)
        #expect(HostRoundTrip.firstMismatch(sent: [[1, 2], [3, 4]], back: [[1, 2], [3, 5]])! == (1, 1))
        #expect(HostRoundTrip.firstMismatch(sent: [[1, 2], [3, 4]], back: [[0, 2], [3, 5]])! == (0, 0))
        #expect(HostRoundTrip.firstMismatch(sent: [[1, 2], [3, 4]], back: [[1, 2]])! == (1, 0))
        #expect(HostRoundTrip.firstMismatch(sent: [[1, 2]], back: [[1]])! == (0, 1))
        #expect(HostRoundTrip.firstMismatch(sent: [[1, 2]], back: [[1, 2, 7]])! == (0, 2))
    }
}
