/// What one call of `VulkanSessionPool.attend` holds from its start until its outputs are read:
/// a submission frame (command buffer, fence, staging and readback buffers), the per-bank decode
/// buffers and plans recorded into it, and the scatter copies' descriptor sets bound to its staging
/// buffer. A pool keeps a few (`VulkanSessionPool.callsInFlight`), so that one call records and
/// submits while the device still runs the one before it; a call takes a free one (`LanePool`).
final class SubmissionLane {
    let frame: SubmissionFrame
    /// Per bank and model shape: the reused per-call buffers, descriptor set and directory.
    var bankCalls: [BankCallKey: BankCall] = [:]
    /// Per bank: the descriptor set of the scatter copies into it, and the staging buffer it binds.
    var scatterSets: [Int: (bindings: DecodeBindings, staging: DeviceBuffer)] = [:]
    /// Its index in the pool's lanes (`LanePool`).
    let index: Int

    /// - Parameters:
    ///   - index: its index in the pool's lanes.
    ///   - queue: the queue its submissions go to.
    ///   - chained: submissions chained across queues (`SubmissionFrame.chained`).
    init(_ context: VulkanContext, staging: DeviceBuffer.Location, index: Int, queue: Int = 0, chained: Bool = false) throws(VulkanError) {
        self.index = index
        frame = try SubmissionFrame(context, staging: staging, queue: queue, chained: chained)
    }
}
