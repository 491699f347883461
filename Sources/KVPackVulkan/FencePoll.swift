import CVulkan

/// A fence polled by the task that awaits it, yielding between polls (no thread blocked, other
/// tasks run between polls): it resumes its caller as soon as the fence signals, without the
/// hand-over from a waiting thread (which wakes a parked thread of the task's executor).
enum FencePoll {
    /// The fence's result once it signals within `limit` (`VK_SUCCESS`, or an error such as
    /// `VK_ERROR_DEVICE_LOST`), nil when it has not signalled by then (or `limit` is zero). A
    /// result injected for tests (`VulkanContext.injectWaitResult`) replaces the fence's, as the
    /// waiting thread's does.
    static func result(_ fence: VkFence, context: VulkanContext, limit: Duration) async -> VkResult? {
        guard limit > .zero else { return nil }
        let clock = ContinuousClock(), until = clock.now + limit
        var f: VkFence? = fence
        while true {
            let r = context.vk.waitForFences(context.handle, 1, &f, VkBool32(VK_TRUE), 0)
            if r != VK_TIMEOUT { return context.takeInjectedWaitResult() ?? r }
            if clock.now >= until { return nil }
            await Task.yield()
        }
    }
}
