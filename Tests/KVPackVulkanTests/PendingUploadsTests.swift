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
}
