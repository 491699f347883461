import CVulkan
import Foundation

/// The least one host-driven decode call can cost on a device, with no attention in it: each
/// sequence's query block written from its host array into staging, one pre-recorded submission
/// that copies the blocks to device memory and back into a readback buffer, the calling thread
/// polling the fence, and each block read back into a new host array (as `attend` returns its
/// outputs). Nothing is recorded, allocated on the device or handed between threads per call, so
/// a decode loop whose queries come from the host and whose outputs go back to it, one call per
/// layer, cannot take less than this per layer, whatever its kernels.
public enum HostRoundTrip {
    /// Per-call times of `measure`, seconds.
    public struct Timing: Sendable, Codable {
        public var sequences: Int
        /// Bytes each sequence sends up and reads back.
        public var bytesPerSequence: Int
        public var iterations: Int
        public var medianSeconds: Double
        public var p10Seconds: Double
        public var p90Seconds: Double
        /// The device's time for the submission's copies (timestamps), median; nil without them.
        public var deviceMedianSeconds: Double?
        /// The staging buffer lies in device-local memory (written by the host over the bus).
        public var stagingDeviceLocal: Bool
    }

    /// Who waits for a round trip's submission.
    public enum FenceWait: Sendable, Equatable {
        /// The calling thread polls the fence until it signals (the floor).
        case poll
        /// The session pool's way: a waiting thread (`FenceWaiter`) polls the fence for up to
        /// `spin`, then blocks on it, and resumes the awaiting task.
        case waitingThread(spin: Duration)
    }

    /// Errors of `measure`'s arguments and of its echo check.
    public enum RoundTripError: Error, CustomStringConvertible, Equatable {
        case invalid(String)
        /// A block read back differs from the one sent (sequence, first differing float).
        case mismatch(sequence: Int, index: Int)

        public var description: String {
            switch self {
            case .invalid(let what): return "round trip: \(what)"
            case .mismatch(let s, let i):
                return "round trip: sequence \(s)'s block read back differs from the one sent at float \(i): the device's copies are wrong"
            }
        }
    }

    /// Times `iterations` round trips of `sequences` blocks of `floatsPerSequence` floats each
    /// (a decode call's queries `[queryHeads, 1, headDim]`, and its outputs of the same shape),
    /// after `warmup` untimed ones, and checks that every block read back equals the one sent.
    /// `sequences` 0 times an empty submission: the queue's and the fence's latency alone.
    /// `fenceWait` says who waits for the submission (`FenceWait`).
    /// - Throws: `RoundTripError` for a negative count or an echo that differs; `VulkanError`
    ///   for the device's failures.
    public static func measure(context: VulkanContext, sequences: Int, floatsPerSequence: Int, iterations: Int,
                               warmup: Int = 20, await fenceWait: FenceWait = .poll) async throws -> Timing {
        guard sequences >= 0, floatsPerSequence > 0, iterations > 0, warmup >= 0 else {
            throw RoundTripError.invalid("sequences \(sequences), floats \(floatsPerSequence), iterations \(iterations), warmup \(warmup): counts must be positive (sequences may be 0)")
        }
        let (floats, over) = sequences.multipliedReportingOverflow(by: floatsPerSequence)
        guard !over, floats <= Int.max / 4 else {
            throw RoundTripError.invalid("\(sequences) sequences of \(floatsPerSequence) floats: more bytes than a buffer can hold")
        }
        let vk = context.vk, device = context.handle
        let bytes = floats * 4
        let frame = try SubmissionFrame(context, staging: .upload)
        try frame.reserve(staging: max(16, bytes), readback: max(16, bytes))
        let middle = try DeviceBuffer(context, size: max(16, bytes))
        // Recorded once and submitted as is every call (no one-time-submit flag).
        var f: VkFence? = frame.fence
        try vk.resetFences(device, 1, &f).check("vkResetFences")
        var begin = VkCommandBufferBeginInfo()
        begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO
        try vk.beginCommandBuffer(frame.commands, &begin).check("vkBeginCommandBuffer")
        frame.stamp(0, bottom: false)
        if bytes > 0 {
            frame.copy(into: middle, [VkBufferCopy(srcOffset: 0, dstOffset: 0, size: VkDeviceSize(bytes))])
            frame.barrier(from: VK_PIPELINE_STAGE_TRANSFER_BIT, to: VK_PIPELINE_STAGE_TRANSFER_BIT)
            var region = VkBufferCopy(srcOffset: 0, dstOffset: 0, size: VkDeviceSize(bytes))
            vk.cmdCopyBuffer(frame.commands, middle.handle, frame.readback.handle, 1, &region)
            frame.barrier(from: VK_PIPELINE_STAGE_TRANSFER_BIT, to: VK_PIPELINE_STAGE_HOST_BIT)
        }
        frame.stamp(1, bottom: true)
        frame.stamp(2, bottom: true)
        frame.stamp(3, bottom: true)
        try vk.endCommandBuffer(frame.commands).check("vkEndCommandBuffer")

        // Each sequence's block: distinct values, so a misplaced copy shows.
        let blocks: [[Float]] = (0..<sequences).map { s in (0..<floatsPerSequence).map { Float(s * floatsPerSequence + $0) } }
        let staging = frame.staging.mapped!, readback = frame.readback.mapped!
        var times: [Double] = [], deviceTimes: [Double] = []
        times.reserveCapacity(iterations)
        var echoed: [[Float]] = []
        // The pool's waiting thread, where it is the one waiting.
        let waiter: FenceWaiter? = fenceWait == .poll ? nil : FenceWaiter(context)
        defer { waiter?.stop() }
        let clock = ContinuousClock()
        for i in 0..<(warmup + iterations) {
            let start = clock.now
            var at = 0
            for b in blocks {
                b.withUnsafeBytes { raw in (staging + at).copyMemory(from: raw.baseAddress!, byteCount: raw.count) }
                at += b.count * 4
            }
            try context.submit(frame.commands, fence: frame.fence)
            let status: VkResult
            switch fenceWait {
            case .poll:
                var polled = vk.waitForFences(device, 1, &f, VkBool32(VK_TRUE), 0)
                while polled == VK_TIMEOUT { polled = vk.waitForFences(device, 1, &f, VkBool32(VK_TRUE), 0) }
                status = polled
            case .waitingThread(let spin):
                waiter!.spin = spin
                status = await waiter!.wait(frame.fence)
            }
            try status.check("vkWaitForFences")
            let base = readback.assumingMemoryBound(to: Float.self)
            echoed = (0..<sequences).map { s in Array(UnsafeBufferPointer(start: base + s * floatsPerSequence, count: floatsPerSequence)) }
            try vk.resetFences(device, 1, &f).check("vkResetFences")
            let end = clock.now
            guard i >= warmup else { continue }
            times.append((end - start).seconds)
            if let s = frame.stamped() { deviceTimes.append(s.seconds[2]) }
        }
        if let (s, index) = firstMismatch(sent: blocks, back: echoed) { throw RoundTripError.mismatch(sequence: s, index: index) }
        func quantile(_ v: [Double], _ q: Double) -> Double { v.sorted()[min(v.count - 1, Int(Double(v.count) * q))] }
        return Timing(sequences: sequences, bytesPerSequence: floatsPerSequence * 4, iterations: iterations, medianSeconds: quantile(times, 0.5),
                      p10Seconds: quantile(times, 0.1), p90Seconds: quantile(times, 0.9),
                      deviceMedianSeconds: deviceTimes.isEmpty ? nil : quantile(deviceTimes, 0.5),
                      stagingDeviceLocal: frame.staging.deviceLocal)
    }

    /// The first block read back that differs from the one sent, and the first float where it
    /// does (a missing or short block differs where it ends).
    static func firstMismatch(sent: [[Float]], back: [[Float]]) -> (sequence: Int, index: Int)? {
        for (s, block) in sent.enumerated() {
            let other = s < back.count ? back[s] : []
            if let i = block.indices.first(where: { $0 >= other.count || block[$0] != other[$0] }) { return (s, i) }
            if other.count > block.count { return (s, block.count) }
        }
        return nil
    }
}
