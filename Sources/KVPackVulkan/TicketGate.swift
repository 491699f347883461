/// An async turnstile passed in ticket order: `enter(t)` suspends (no thread blocked) until the
/// holders of tickets 0 ..< t have each entered and left. Every ticket handed out must enter and
/// leave once, or those after it wait for ever.
actor TicketGate {
    private var serving: UInt64 = 0
    private var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]

    func enter(_ ticket: UInt64) async {
        guard ticket != serving else { return }
        await withCheckedContinuation { waiters[ticket] = $0 }
    }

    /// Ends the current holder's turn: the next ticket's holder, if waiting, goes on.
    func leave() {
        serving += 1
        waiters.removeValue(forKey: serving)?.resume()
    }
}
