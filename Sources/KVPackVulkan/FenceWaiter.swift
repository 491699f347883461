import CVulkan
import Foundation

/// Waits on fences for async callers: one thread per device pool polls (then blocks in
/// `vkWaitForFences` on) the fences of the submissions in flight and resumes each waiting task as
/// soon as its fence signals, in whatever order they finish (calls on several queues finish out
/// of order). The callers' tasks suspend; no thread of theirs blocks.
///
/// The thread holds no reference that keeps the device alive: the owner calls `stop()`, which
/// returns once the thread is done with the device, so the device is destroyed on the owner's
/// thread when the owner lets go of it, never on this one (a device destroyed on a background
/// thread while the process exits crashed `kvpack serve --backend vulkan` on an NVIDIA driver).
final class FenceWaiter: @unchecked Sendable {
    private unowned let context: VulkanContext
    private let condition = NSCondition()
    private var queue: [(fence: VkFence, done: FenceTicket)] = []
    private var stopping = false
    private var finished = false
    private var thread: pthread_t?
    private var _spin: Duration
    /// How long the thread polls the pending fences, after one last signalled or was queued,
    /// before it blocks in `vkWaitForFences`: a blocked wait wakes when the driver's interrupt
    /// reaches it, a poll as soon as a fence signals, for a core spent while it polls. Zero: no
    /// polling.
    var spin: Duration {
        get { condition.lock(); defer { condition.unlock() }; return _spin }
        set { condition.lock(); _spin = newValue; condition.unlock() }
    }

    init(_ context: VulkanContext, spin: Duration = .zero) {
        self.context = context
        _spin = spin
        let thread = Thread { [self] in run() }
        thread.name = "kvpack.fence-waiter"
        thread.start()
    }

    /// The fence's result once it signals (`VK_SUCCESS`, or `VK_ERROR_DEVICE_LOST`...).
    func wait(_ fence: VkFence) async -> VkResult { await enqueue(fence).result() }

    /// Queues `fence` now (after those queued before it), for its result to be awaited later: a
    /// submission's fence queued as it is submitted is waited on in submission order, whenever
    /// its caller gets to await it.
    func enqueue(_ fence: VkFence) -> FenceTicket {
        let ticket = FenceTicket()
        condition.lock()
        queue.append((fence, ticket))
        condition.broadcast()
        condition.unlock()
        return ticket
    }

    /// Ends the thread once the fences queued so far are waited on, and returns when it no longer
    /// touches the device (at once when called on the thread itself).
    func stop() {
        condition.lock()
        defer { condition.unlock() }
        stopping = true
        condition.broadcast()
        if let thread, pthread_equal(thread, pthread_self()) != 0 { return }
        while !finished { condition.wait() }
    }

    /// Longest blocking wait before the thread looks for newly queued fences.
    private static let blockSlice: UInt64 = 1_000_000

    private func run() {
        condition.lock()
        thread = pthread_self()
        condition.unlock()
        // Fences queued and not yet signalled: polled in turn, each resolved as soon as it signals,
        // whatever the order (calls on several queues finish out of order).
        var pending: [(fence: VkFence, done: FenceTicket)] = []
        let clock = ContinuousClock()
        var lastProgress = clock.now
        while true {
            condition.lock()
            while queue.isEmpty && pending.isEmpty && !stopping { condition.wait() }
            if queue.isEmpty && pending.isEmpty {
                finished = true
                condition.broadcast()
                condition.unlock()
                return
            }
            if !queue.isEmpty {
                pending += queue
                queue.removeAll(keepingCapacity: true)
                lastProgress = clock.now
            }
            let spin = _spin
            condition.unlock()
            var resolved = false
            var k = 0
            while k < pending.count {
                var f: VkFence? = pending[k].fence
                var result = context.vk.waitForFences(context.handle, 1, &f, VkBool32(VK_TRUE), 0)
                if result == VK_TIMEOUT {
                    k += 1
                    continue
                }
                if let injected = context.takeInjectedWaitResult() { result = injected }
                pending.remove(at: k).done.resolve(result)
                resolved = true
            }
            if resolved {
                lastProgress = clock.now
                continue
            }
            if pending.isEmpty || clock.now - lastProgress < spin { continue }
            // Past the spin: block until one of them signals, a slice at a time, so that fences
            // queued meanwhile are taken up.
            var fences: [VkFence?] = pending.map(\.fence)
            let result = context.vk.waitForFences(context.handle, UInt32(fences.count), &fences, VkBool32(VK_FALSE), Self.blockSlice)
            if result != VK_SUCCESS && result != VK_TIMEOUT {
                // The device is lost (or the wait failed): every pending call hears of it.
                for p in pending { p.done.resolve(context.takeInjectedWaitResult() ?? result) }
                pending.removeAll()
            }
        }
    }
}

/// A queued fence's result (`FenceWaiter.enqueue`): set once by the waiting thread, awaited once.
final class FenceTicket: @unchecked Sendable {
    private let lock = NSLock()
    private var value: VkResult?
    private var awaiting: CheckedContinuation<VkResult, Never>?

    func resolve(_ result: VkResult) {
        lock.lock()
        if let c = awaiting {
            awaiting = nil
            lock.unlock()
            c.resume(returning: result)
        } else {
            value = result
            lock.unlock()
        }
    }

    func result() async -> VkResult {
        await withCheckedContinuation { c in
            lock.lock()
            if let v = value {
                lock.unlock()
                c.resume(returning: v)
            } else {
                awaiting = c
                lock.unlock()
            }
        }
    }
}

/// An async mutual exclusion: `enter` suspends (no thread blocked) until the holder `leave`s.
actor AsyncGate {
    private var held = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func enter() async {
        guard held else {
            held = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func leave() {
        if waiters.isEmpty { held = false } else { waiters.removeFirst().resume() }
    }
}
