import CVulkan
import Foundation
import Testing
@testable import KVPackVulkan

/// A queued fence's ticket gives its result whether the waiting thread resolves it before or after
/// the caller awaits it.
struct FenceTicketTests {
    @Test func resolvedBeforeItIsAwaited() async {
        let ticket = FenceTicket()
        ticket.resolve(VK_ERROR_DEVICE_LOST)
        #expect(await ticket.result() == VK_ERROR_DEVICE_LOST)
    }

    @Test func resolvedWhileAwaited() async {
        let ticket = FenceTicket()
        let thread = Thread {
            Thread.sleep(forTimeInterval: 0.05)
            ticket.resolve(VK_SUCCESS)
        }
        thread.start()
        #expect(await ticket.result() == VK_SUCCESS)
    }
}

/// The waiting thread resolves each queued fence as soon as it signals, in whatever order they
/// signal: a fence queued behind one that has not signalled is not held up by it.
struct FenceWaiterOrderTests {
    @Test(.timeLimit(.minutes(1)), arguments: [Duration.zero, .milliseconds(2)])
    func aLaterFenceResolvesFirst(spin: Duration) async throws {
        let context = try #require(SharedContext.context)
        let waiter = FenceWaiter(context, spin: spin)
        defer { waiter.stop() }
        // First: a frame's fence, not yet submitted (unsignalled). Second: a fence made signalled.
        let frame = try SubmissionFrame(context)
        var info = VkFenceCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO
        info.flags = UInt32(VK_FENCE_CREATE_SIGNALED_BIT.rawValue)
        var signalled: VkFence? = nil
        try context.vk.createFence(context.handle, &info, nil, &signalled).check("vkCreateFence")
        defer { context.vk.destroyFence(context.handle, signalled, nil) }
        var reset: VkFence? = frame.fence
        try context.vk.resetFences(context.handle, 1, &reset).check("vkResetFences")
        let first = waiter.enqueue(frame.fence), second = waiter.enqueue(signalled!)
        #expect(await second.result() == VK_SUCCESS)
        // The first resolves once its (empty) submission runs.
        try frame.beginMain()
        try frame.submit()
        #expect(await first.result() == VK_SUCCESS)
    }
}
