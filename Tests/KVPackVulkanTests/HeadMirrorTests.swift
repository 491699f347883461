import Testing
import KVPack
@testable import KVPackVulkan

/// The page-table mirror of one head (`RegionDirectory.HeadMirror`): its pages, bytes, class
/// counts and class runs after updates from a changed page on, against hand-worked lists.
@Suite("Head mirrors of the device page tables")
struct HeadMirrorTests {
    static let f16 = EncodingClass(key: .f16, value: .f16)
    static let int8 = EncodingClass(key: .int8(QuantizationGrouping(groupSize: 32)), value: .int8(QuantizationGrouping(groupSize: 32)))

    func mirror(_ pages: [(EncodingClass, Int)]) -> RegionDirectory.HeadMirror {
        var m = RegionDirectory.HeadMirror(region: .init(bank: 0, offset: 0, size: 8))
        m.update(from: 0, pages)
        return m
    }

    func expect(_ m: RegionDirectory.HeadMirror, pages: [(EncodingClass, Int)], counts: [(EncodingClass, Int)], runs: [(EncodingClass, Int)],
                sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(m.pageList.map(\.0) == pages.map(\.0), sourceLocation: sourceLocation)
        #expect(m.pageList.map(\.1) == pages.map(\.1), sourceLocation: sourceLocation)
        #expect(m.bytes == pages.reduce(0) { $0 + $1.1 }, sourceLocation: sourceLocation)
        // What a call reads (`table`), from the values kept beside the arrays.
        let t = m.table(from: 0)
        #expect(t.pages == pages.count && t.bytes == m.bytes && t.firstClass == pages.first?.0, sourceLocation: sourceLocation)
        #expect(t.allRuns.map(\.0) == runs.map(\.0) && t.allRuns.map(\.1) == runs.map(\.1), sourceLocation: sourceLocation)
        #expect(Dictionary(uniqueKeysWithValues: m.classCounts.map { ($0.0, $0.1) }) == Dictionary(uniqueKeysWithValues: counts.map { ($0.0, $0.1) }),
                sourceLocation: sourceLocation)
        #expect(m.runs.map(\.0) == runs.map(\.0) && m.runs.map(\.1) == runs.map(\.1), sourceLocation: sourceLocation)
    }

    @Test("a decode step: the open page grows, then a page more")
    func openPageGrows() {
        let (a, b) = (Self.int8, Self.f16)
        var m = mirror([(a, 100), (a, 100), (b, 40)])
        m.update(from: 2, [(b, 60)])
        expect(m, pages: [(a, 100), (a, 100), (b, 60)], counts: [(a, 2), (b, 1)], runs: [(a, 2), (b, 1)])
        m.update(from: 2, [(b, 80), (b, 20)])
        expect(m, pages: [(a, 100), (a, 100), (b, 80), (b, 20)], counts: [(a, 2), (b, 2)], runs: [(a, 2), (b, 2)])
    }

    @Test("steps that only grow the open page, then a change elsewhere: the last page's bytes carried into the list")
    func onlyTheOpenPage() {
        let (a, b) = (Self.int8, Self.f16)
        var m = mirror([(a, 100), (b, 10)])
        for size in [20, 30, 40] {
            m.update(from: 1, [(b, size)])
            expect(m, pages: [(a, 100), (b, size)], counts: [(a, 1), (b, 1)], runs: [(a, 1), (b, 1)])
        }
        m.update(from: 1, [(b, 50), (b, 5)]) // the open page filled, a new one opened
        expect(m, pages: [(a, 100), (b, 50), (b, 5)], counts: [(a, 1), (b, 2)], runs: [(a, 1), (b, 2)])
        m.update(from: 2, [(b, 15)])
        m.update(from: 2, [(a, 70)]) // the open page re-encoded: another class
        expect(m, pages: [(a, 100), (b, 50), (a, 70)], counts: [(a, 2), (b, 1)], runs: [(a, 1), (b, 1), (a, 1)])
        m.update(from: 1, [] as [(EncodingClass, Int)]) // pages evicted from the middle on
        expect(m, pages: [(a, 100)], counts: [(a, 1)], runs: [(a, 1)])
        m.clear()
        expect(m, pages: [], counts: [], runs: [])
    }

    @Test("pages replaced from the middle (an eviction), by another class, and all of them")
    func replaced() {
        let (a, b) = (Self.int8, Self.f16)
        var m = mirror([(a, 100), (a, 90), (b, 40), (b, 30)])
        m.update(from: 1, [(b, 50)])
        expect(m, pages: [(a, 100), (b, 50)], counts: [(a, 1), (b, 1)], runs: [(a, 1), (b, 1)])
        m.update(from: 0, [(b, 10), (a, 20), (b, 30)])
        expect(m, pages: [(b, 10), (a, 20), (b, 30)], counts: [(a, 1), (b, 2)], runs: [(b, 1), (a, 1), (b, 1)])
        m.update(from: 1, [] as [(EncodingClass, Int)])
        expect(m, pages: [(b, 10)], counts: [(b, 1)], runs: [(b, 1)])
    }
}
