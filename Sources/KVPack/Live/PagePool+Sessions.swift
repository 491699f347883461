extension PagePool {
    /// Opens a session: its id and the bank of each of its `layers` layers (spread round-robin,
    /// each session starting one bank further).
    func sessionOpened(layers: Int) -> (id: UInt64, banks: [Int]) {
        let out = state.withLock { s -> (UInt64, [Int]) in
            s.sessions += 1
            s.nextSessionID += 1
            let banks = configuration.banks, n = configuration.sessionsPerBankGroup
            let first = n == 1 ? Int(s.nextSessionID % UInt64(banks)) : Int((s.nextSessionID - 1) / UInt64(n) % UInt64(banks)) * layers % banks
            return (s.nextSessionID, (0..<layers).map { (first + $0) % banks })
        }
        publishGauges()
        return out
    }

    /// Opens a fork of a session (same banks): its id.
    func forkOpened() -> UInt64 {
        let id = state.withLock { s -> UInt64 in
            s.sessions += 1
            s.nextSessionID += 1
            return s.nextSessionID
        }
        publishGauges()
        return id
    }

    func sessionClosed(id: UInt64) {
        let mirror = state.withLock { s -> (any PagePoolMirror)? in
            s.sessions -= 1
            return s.mirror?.mirror
        }
        mirror?.sessionClosed(id)
        publishGauges()
    }
}
