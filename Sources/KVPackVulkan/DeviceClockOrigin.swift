import Foundation

/// The tick a context's device timestamps are counted from: the first one it reads. Instants as
/// seconds since the device's own epoch are large (days of uptime: 1e5 s and more), and a
/// `Double` then keeps them to about 1e-10 s, so that the span between two instants of one
/// submission no longer matched its tick difference; counted from the first read, they keep
/// nanoseconds for as long as a process runs.
final class DeviceClockOrigin: @unchecked Sendable {
    private let lock = NSLock()
    private var origin: UInt64?

    /// `ticks` as seconds since the origin (`period` nanoseconds a tick); the first call's
    /// earliest tick becomes the origin, and ticks before it give negative seconds.
    func seconds(_ ticks: [UInt64], period: Double) -> [Double] {
        let start = lock.withLock { () -> UInt64 in
            if let origin { return origin }
            let first = ticks.min() ?? 0
            origin = first
            return first
        }
        return ticks.map { Double(Int64(bitPattern: $0 &- start)) * period * 1e-9 }
    }
}
