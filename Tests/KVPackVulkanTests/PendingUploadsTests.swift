import Testing
@testable import KVPackVulkan

/// The host pool's queue of bytes for the device banks: queued in order, taken whole, and a
/// step's arrays reused by the next (the same storage, not a copy of it).
@Suite("Pending uploads")
struct PendingUploadsTests {
    func queue(_ uploads: PendingUploads, _ values: [UInt8], bank: Int, offset: Int) {
        values.withUnsafeBytes { uploads.add([(bank: bank, offset: offset, bytes: $0)]) }
    }

    @Test("adjacent writes extend one copy; taken queues, recycled, are the storage of the queues after (two in turn)")
    func recycledStorageIsReused() {
        let uploads = PendingUploads()
        queue(uploads, [1, 2, 3, 4], bank: 0, offset: 64)
        queue(uploads, [5, 6, 7, 8], bank: 0, offset: 68)
        queue(uploads, [9, 9, 9, 9], bank: 1, offset: 0)
        var first = uploads.take()
        #expect(first.bytes == [1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 9])
        #expect(first.copies.map(\.bank) == [0, 1])
        #expect(first.copies.map(\.count) == [8, 4])
        let storage = first.bytes.withUnsafeBufferPointer { $0.baseAddress }
        uploads.recycle(&first)
        #expect(first.bytes.isEmpty && first.copies.isEmpty)
        // The queue filling while the first was out is taken next; then the first's storage returns.
        queue(uploads, [6, 6, 6, 6], bank: 0, offset: 0)
        var second = uploads.take()
        #expect(second.bytes == [6, 6, 6, 6])
        uploads.recycle(&second)
        queue(uploads, [7, 7, 7, 7], bank: 2, offset: 16)
        let third = uploads.take()
        #expect(third.bytes == [7, 7, 7, 7])
        #expect(third.copies.map(\.destination) == [16])
        #expect(third.bytes.withUnsafeBufferPointer { $0.baseAddress } == storage)
    }

    @Test("two taken queues out at once, both recycled: the two queues after the one open are their storage")
    func severalRecycledQueuesAreKept() {
        let uploads = PendingUploads()
        queue(uploads, Array(repeating: 1, count: 4096), bank: 0, offset: 0)
        var a = uploads.take()
        queue(uploads, Array(repeating: 2, count: 4096), bank: 0, offset: 8192)
        var b = uploads.take()
        let storages = Set([a, b].map { t in t.bytes.withUnsafeBufferPointer { Int(bitPattern: $0.baseAddress) } })
        #expect(storages.count == 2)
        uploads.recycle(&a)
        uploads.recycle(&b)
        // The queue open at the recycling (its own storage) is taken first; the two after it grow
        // into the recycled arrays.
        queue(uploads, [3, 3, 3, 3], bank: 0, offset: 0)
        let c = uploads.take()
        queue(uploads, [4, 4, 4, 4], bank: 0, offset: 0)
        let d = uploads.take()
        queue(uploads, [5, 5, 5, 5], bank: 0, offset: 0)
        #expect(c.bytes == [3, 3, 3, 3] && d.bytes == [4, 4, 4, 4])
        let reused = Set([d, uploads.take()].map { t in t.bytes.withUnsafeBufferPointer { Int(bitPattern: $0.baseAddress) } })
        #expect(reused == storages)
        #expect(!storages.contains(c.bytes.withUnsafeBufferPointer { Int(bitPattern: $0.baseAddress) }))
    }
}
