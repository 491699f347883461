/// What one call of `VulkanSessionPool.attend` holds from its start until its outputs are read:
/// a submission frame (command buffer, fence, staging and readback buffers), the per-bank decode
/// buffers and plans recorded into it, and the scatter copies' descriptor sets bound to its staging
/// buffer. A pool keeps a few (`VulkanSessionPool.callsInFlight`); a call takes a free one
/// (`LaneQueue`) and has it to itself, so calls prepare on their lanes at the same time and only
/// take turns to submit.
final class SubmissionLane {
    let frame: SubmissionFrame
    /// Per bank and model shape: the reused per-call buffers, descriptor set and directory.
    var bankCalls: [BankCallKey: BankCall] = [:]
    /// Per bank: the descriptor set of the scatter copies into it, and the staging buffer it binds.
    var scatterSets: [Int: (bindings: DecodeBindings, staging: DeviceBuffer)] = [:]
    /// Bytes of written slots the last call on this lane took: room kept for the next call's
    /// backlog when it stages its own data, before it knows the backlog.
    var lastPendingBytes = 0

    init(_ context: VulkanContext, staging: DeviceBuffer.Location) throws(VulkanError) {
        frame = try SubmissionFrame(context, staging: staging)
    }
}

/// The free lanes of a pool (indices into its `lanes`): `take` suspends (no thread blocked) until
/// one is free, callers served in the order they came.
actor LaneQueue {
    private var free: [Int]
    private var waiters: [CheckedContinuation<Int, Never>] = []

    init(lanes: Int) { free = Array((0..<lanes).reversed()) }

    func take() async -> Int {
        if let lane = free.popLast() { return lane }
        return await withCheckedContinuation { waiters.append($0) }
    }

    func give(_ lane: Int) {
        if waiters.isEmpty { free.append(lane) } else { waiters.removeFirst().resume(returning: lane) }
    }
}
