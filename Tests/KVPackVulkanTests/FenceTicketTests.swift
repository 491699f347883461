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
