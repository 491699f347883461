import Testing
@testable import KVPack

@Suite("HeadTensor and positions: indices outside the tensor are typed errors")
struct HeadTensorBadInputTests {
    /// [2 heads, 3 tokens, 2 dims], element value = 100 h + 10 t + c.
    static func tensor() throws -> HeadTensor<Float16> {
        var t = try HeadTensor<Float16>(zeros: 2, 3, 2)
        for h in 0..<2 { for tok in 0..<3 { for c in 0..<2 { t[h, tok, c] = Float16(100 * h + 10 * tok + c) } } }
        return t
    }

    @Test func zerosRefusesInvalidDimensions() throws {
        #expect(throws: TensorShapeError.invalidDimensions([1, 2, 0])) { try HeadTensor<Float>(zeros: 1, 2, 0) }
        #expect(throws: TensorShapeError.invalidDimensions([-1, 2, 4])) { try HeadTensor<Float>(zeros: -1, 2, 4) }
        #expect(try HeadTensor<Float>(zeros: 0, 0, 4).storage.isEmpty)
    }

    @Test func slicingOutsideTheTensor() throws {
        let t = try Self.tensor()
        #expect(throws: TensorShapeError.rangeOutOfBounds(axis: "token", range: 2..<4, count: 3)) { try t.slicingTokens(2..<4) }
        #expect(throws: TensorShapeError.rangeOutOfBounds(axis: "token", range: -1..<1, count: 3)) { try t.slicingTokens(-1..<1) }
        #expect(throws: TensorShapeError.rangeOutOfBounds(axis: "head", range: 1..<3, count: 2)) { try t.slicingHeads(1..<3) }
        // In range: hand-worked elements.
        #expect(try t.slicingTokens(1..<3).storage == [10, 11, 20, 21, 110, 111, 120, 121])
        #expect(try t.slicingHeads(1..<2).storage == [100, 101, 110, 111, 120, 121])
    }

    @Test func rowsOutsideTheTensor() throws {
        let t = try Self.tensor()
        #expect(throws: TensorShapeError.indexOutOfRange(axis: "token", index: 3, count: 3)) { try t.gatheringRows(head: 0, tokens: [0, 3]) }
        #expect(throws: TensorShapeError.indexOutOfRange(axis: "head", index: 2, count: 2)) { try t.gatheringRows(head: 2, tokens: [0]) }
        #expect(throws: TensorShapeError.indexOutOfRange(axis: "token", index: -1, count: 3)) { try t.rowNorms(head: 1, tokens: [-1]) }
        #expect(try t.gatheringRows(head: 1, tokens: [2, 0]) == [120, 121, 100, 101])
    }

    @Test func appendingAnotherShape() throws {
        let t = try Self.tensor()
        let other = try HeadTensor<Float16>(zeros: 2, 1, 3)
        #expect(throws: TensorShapeError.shapeMismatch(expected: [2, 1, 2], found: [2, 1, 3])) { try t.appendingTokens(of: other) }
        let more = try t.appendingTokens(of: try t.slicingTokens(0..<1))
        #expect(more.shape == [2, 4, 2] && more[1, 3, 1] == 101)
    }

    @Test func contiguousPositionsRefuseImpossibleCounts() throws {
        #expect(throws: CaptureError.invalidContiguousPositions(tokens: 0, window: 0, probes: 0)) {
            try SequencePositions.contiguous(tokens: 0, window: 0, probes: 0)
        }
        #expect(throws: CaptureError.invalidContiguousPositions(tokens: 4, window: 5, probes: 0)) {
            try SequencePositions.contiguous(tokens: 4, window: 5, probes: 0)
        }
        #expect(throws: CaptureError.invalidContiguousPositions(tokens: 4, window: 2, probes: -1)) {
            try SequencePositions.contiguous(tokens: 4, window: 2, probes: -1)
        }
        let p = try SequencePositions.contiguous(tokens: 4, window: 2, probes: 1)
        #expect(p.tokens == [0, 1, 2, 3] && p.window == [2, 3] && p.probes == [4])
    }
}
