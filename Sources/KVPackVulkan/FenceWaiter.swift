import CVulkan
import Foundation

/// Waits on fences for async callers: one thread per device pool blocks in `vkWaitForFences` for
/// the submissions in flight, one after another, and resumes each waiting task when its fence
/// signals. The callers' tasks suspend; no thread of theirs blocks.
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

    /// How long the thread polls a fence before it blocks in `vkWaitForFences`: a blocked wait
    /// wakes when the driver's interrupt reaches it, a poll as soon as the fence signals, for
    /// a core spent while it polls. Zero: no polling.
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

    private func run() {
        condition.lock()
        thread = pthread_self()
        condition.unlock()
        while true {
            condition.lock()
            while queue.isEmpty && !stopping { condition.wait() }
            if queue.isEmpty {
                finished = true
                condition.broadcast()
                condition.unlock()
                return
            }
            let (fence, done) = queue.removeFirst()
            let spin = _spin
            condition.unlock()
            var f: VkFence? = fence
            var result = VK_TIMEOUT
            if spin > .zero {
                let clock = ContinuousClock(), until = clock.now + spin
                repeat {
                    result = context.vk.waitForFences(context.handle, 1, &f, VkBool32(VK_TRUE), 0)
                } while result == VK_TIMEOUT && clock.now < until
            }
            if result == VK_TIMEOUT { result = context.vk.waitForFences(context.handle, 1, &f, VkBool32(VK_TRUE), UInt64.max) }
            if let injected = context.takeInjectedWaitResult() { result = injected }
            done.resolve(result)
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
