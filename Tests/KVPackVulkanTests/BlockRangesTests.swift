import Testing
@testable import KVPackVulkan

/// The free ranges small device buffers are placed in: hand-worked placements, alignment gaps,
/// merges, and random placements and releases that never overlap and leave the block whole.
struct BlockRangesTests {
    @Test func placesFirstFitAtItsAlignment() {
        var b = BlockRanges(capacity: 1024)
        #expect(b.place(100, alignment: 64) == 0..<100)
        // The next at 128: 100..<128 stays free.
        #expect(b.place(200, alignment: 64) == 128..<328)
        #expect(b.free == [100..<128, 328..<1024])
        // A small one fits the gap.
        #expect(b.place(16, alignment: 16) == 112..<128)
        #expect(b.free == [100..<112, 328..<1024])
        #expect(b.place(697, alignment: 1) == nil)
        #expect(b.place(696, alignment: 1) == 328..<1024)
        #expect(b.free == [100..<112])
        #expect(b.place(0, alignment: 16) == nil && b.place(4, alignment: 3) == nil)
    }

    @Test func mergesWhatIsGivenBack() {
        var b = BlockRanges(capacity: 300)
        let x = b.place(100, alignment: 1)!, y = b.place(100, alignment: 1)!, z = b.place(100, alignment: 1)!
        #expect(b.free.isEmpty)
        b.release(x)
        b.release(z)
        #expect(b.free == [0..<100, 200..<300])
        b.release(y)
        #expect(b.free == [0..<300] && b.isUnused)
    }

    @Test func randomPlacementsNeverOverlapAndAllComeBack() {
        var rng = SystemRandomNumberGenerator()
        var b = BlockRanges(capacity: 1 << 16)
        var placed: [Range<Int>] = []
        for _ in 0..<2000 {
            if placed.isEmpty || Bool.random(using: &rng) {
                let size = Int.random(in: 1...3000, using: &rng), alignment = 1 << Int.random(in: 0...8, using: &rng)
                if let r = b.place(size, alignment: alignment) {
                    #expect(r.count == size && r.lowerBound % alignment == 0 && r.upperBound <= b.capacity)
                    #expect(placed.allSatisfy { !$0.overlaps(r) })
                    #expect(b.free.allSatisfy { !$0.overlaps(r) })
                    placed.append(r)
                }
            } else {
                b.release(placed.remove(at: Int.random(in: 0..<placed.count, using: &rng)))
            }
            // Free ranges sorted, never adjacent; free and placed bytes (alignment gaps are free) make the block.
            #expect(zip(b.free, b.free.dropFirst()).allSatisfy { $0.upperBound < $1.lowerBound })
            #expect(b.free.reduce(0) { $0 + $1.count } + placed.reduce(0) { $0 + $1.count } == b.capacity)
        }
        for r in placed { b.release(r) }
        #expect(b.isUnused)
    }
}
