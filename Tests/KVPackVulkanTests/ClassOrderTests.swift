import Testing
@testable import KVPack
@testable import KVPackVulkan

/// `ClassOrder` on hand-worked heads: the order of encoding classes every head's pages follow.
struct ClassOrderTests {
    static let int8 = EncodingClass(key: .int8(QuantizationGrouping(groupSize: 32, axis: .token)),
                                    value: .int8(QuantizationGrouping(groupSize: 32, axis: .token)))
    static let f16 = EncodingClass(key: .f16, value: .f16)
    static let bitmap = EncodingClass(key: .bitmap, value: .bitmap)

    static func order(_ heads: [[EncodingClass]]) -> [EncodingClass]? {
        var order = ClassOrder()
        for runs in heads { order.add(runs: runs.map { ($0, 3) }) }
        return order.resolved()
    }

    @Test func quantizedPromptThenAppendedPages() {
        #expect(Self.order([[Self.int8, Self.f16], [Self.int8, Self.f16]]) == [Self.int8, Self.f16])
        // A head that has only its appended pages yet: the other heads set the order.
        #expect(Self.order([[Self.f16], [Self.int8, Self.f16]]) == [Self.int8, Self.f16])
        #expect(Self.order([[Self.int8], [Self.bitmap, Self.f16], [Self.int8, Self.bitmap]]) == [Self.int8, Self.bitmap, Self.f16])
    }

    @Test func noOrderWhenHeadsDisagreeOrRepeat() {
        #expect(Self.order([[Self.int8, Self.f16], [Self.f16, Self.int8]]) == nil)
        #expect(Self.order([[Self.f16, Self.int8, Self.f16]]) == nil)
        #expect(Self.order([[Self.int8, Self.bitmap], [Self.bitmap, Self.f16], [Self.f16, Self.int8]]) == nil)
    }
}
