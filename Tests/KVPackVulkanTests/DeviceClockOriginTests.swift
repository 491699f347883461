import Testing
@testable import KVPackVulkan

/// Device timestamps as seconds from the context's first read: large tick counts (days of
/// uptime) keep their nanoseconds, and instants of later submissions are comparable.
struct DeviceClockOriginTests {
    /// Within a femtosecond (and 1e-12 of the value): seconds since the device's epoch at these
    /// tick counts are kept to about 1e-10 s only, which fails it.
    static func close(_ a: [Double], _ b: [Double]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-15 + 1e-12 * abs($1) }
    }

    @Test func countsFromTheFirstReadAndKeepsNanoseconds() {
        let clock = DeviceClockOrigin()
        // About 5.8 days of nanosecond ticks.
        let base: UInt64 = 500_000_000_000_000
        #expect(Self.close(clock.seconds([base + 7, base, base + 50_001], period: 1), [7e-9, 0, 50_001e-9]))
        // A later submission: the same origin; one that started before it counts back.
        #expect(Self.close(clock.seconds([base + 2_000_000_000], period: 1), [2]))
        #expect(Self.close(clock.seconds([base - 3], period: 1), [-3e-9]))
        // A tick of 10 ns.
        #expect(Self.close(DeviceClockOrigin().seconds([base, base + 3], period: 10), [0, 30e-9]))
    }

    @Test func spansMatchTheTickDifferences() {
        let clock = DeviceClockOrigin()
        let base: UInt64 = 912_345_678_901_234
        _ = clock.seconds([base], period: 1)
        for d: UInt64 in [1, 999, 123_457, 50_000_001] {
            let s = clock.seconds([base + 1_000, base + 1_000 + d], period: 1)
            #expect(Self.close([s[1] - s[0]], [Double(d) * 1e-9]), "\(d) ticks")
            // As seconds since the device's epoch (before the origin), the span was off by up to 1e-10 s.
            let epoch = [base + 1_000, base + 1_000 + d].map { Double($0) * 1e-9 }
            #expect(!Self.close([epoch[1] - epoch[0]], [Double(d) * 1e-9]), "\(d) ticks from the epoch")
        }
    }
}
