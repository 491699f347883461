import Testing
@testable import KVPack

@Suite("Capture model validation")
struct CaptureValidationTests {
    static func facts(q: Int = 4, kv: Int = 2, d: Int = 8, layers: Int = 1) throws -> ModelFacts {
        try ModelFacts(name: "t", queryHeads: q, kvHeads: kv, headDim: d, layerKinds: Array(repeating: .global, count: layers))
    }

    static func layer(q: Int = 4, kv: Int = 2, d: Int = 8, tokens: Int = 5, window: Int = 2, probes: Int = 3) throws -> LayerCapture {
        try LayerCapture(keys: HeadTensor(zeros: kv, tokens, d), values: HeadTensor(zeros: kv, tokens, d),
                     queries: HeadTensor(zeros: q, window, d), probeQueries: HeadTensor(zeros: q, probes, d),
                     probeKeys: HeadTensor(zeros: kv, probes, d), probeValues: HeadTensor(zeros: kv, probes, d))
    }

    let positions = try! SequencePositions.contiguous(tokens: 5, window: 2, probes: 3) // valid literals

    @Test func validCaptureBuilds() throws {
        let s = try SequenceCapture(id: "0", facts: Self.facts(), positions: positions, layers: [try Self.layer()])
        let c = try Capture(model: Self.facts(), sequences: [s])
        #expect(c.sequences[0].hasProbes)
        #expect(c.denseKVBytes == 2 * 2 * 5 * 8 * 2)
    }

    @Test func modelFactsErrors() {
        #expect(throws: CaptureError.headsNotGrouped(queryHeads: 6, kvHeads: 4)) { try Self.facts(q: 6, kv: 4) }
        #expect(throws: CaptureError.nonPositive(field: "kvHeads", value: 0)) { try Self.facts(kv: 0) }
        #expect(throws: CaptureError.nonPositive(field: "layers", value: 0)) { try Self.facts(layers: 0) }
        #expect(throws: CaptureError.invalidSlidingWindow(layer: 0, size: 0)) {
            try ModelFacts(name: "t", queryHeads: 1, kvHeads: 1, headDim: 2, layerKinds: [.slidingWindow(size: 0)])
        }
        #expect(throws: CaptureError.self) {
            try ModelFacts(name: "t", queryHeads: 1, kvHeads: 1, headDim: 2, ropeTheta: .nan, layerKinds: [.global])
        }
    }

    @Test func shapeErrorsNameLayerAndTensor() throws {
        var bad = try Self.layer()
        bad.values = try HeadTensor(zeros: 2, 4, 8)
        #expect(throws: CaptureError.shapeMismatch(layer: 0, tensor: .values, expected: [2, 5, 8], found: [2, 4, 8])) {
            try SequenceCapture(id: "0", facts: Self.facts(), positions: positions, layers: [bad])
        }
        var wrongHeads = try Self.layer()
        wrongHeads.queries = try HeadTensor(zeros: 2, 2, 8)
        #expect(throws: CaptureError.shapeMismatch(layer: 0, tensor: .queries, expected: [4, 2, 8], found: [2, 2, 8])) {
            try SequenceCapture(id: "0", facts: Self.facts(), positions: positions, layers: [wrongHeads])
        }
        var half = try Self.layer()
        half.probeValues = nil
        #expect(throws: CaptureError.probeKeysWithoutValues(layer: 0)) {
            try SequenceCapture(id: "0", facts: Self.facts(), positions: positions, layers: [half])
        }
        #expect(throws: CaptureError.layerCountMismatch(expected: 2, found: 1)) {
            try SequenceCapture(id: "0", facts: Self.facts(layers: 2), positions: positions, layers: [try Self.layer()])
        }
    }

    @Test func nonFiniteIsLocated() throws {
        var layer = try Self.layer()
        layer.keys[1, 3, 6] = .nan
        #expect(throws: CaptureError.nonFinite(layer: 0, tensor: .keys, head: 1, token: 3, dim: 6)) {
            try SequenceCapture(id: "0", facts: Self.facts(), positions: positions, layers: [layer])
        }
        var inf = try Self.layer()
        inf.probeQueries![3, 2, 0] = -.infinity
        #expect(throws: CaptureError.nonFinite(layer: 0, tensor: .probeQueries, head: 3, token: 2, dim: 0)) {
            try SequenceCapture(id: "0", facts: Self.facts(), positions: positions, layers: [inf])
        }
    }

    @Test func zeroTokensAndPositions() throws {
        let empty = try SequencePositions.contiguous(tokens: 1, window: 0, probes: 0)
        let zero = try LayerCapture(keys: HeadTensor(zeros: 2, 0, 8), values: HeadTensor(zeros: 2, 0, 8),
                                queries: HeadTensor(zeros: 4, 0, 8))
        #expect(throws: CaptureError.zeroTokens(layer: 0)) {
            try SequenceCapture(id: "0", facts: Self.facts(), positions: empty, layers: [zero])
        }
        #expect(throws: CaptureError.positionsNotIncreasing(name: "positions", index: 2)) {
            try SequencePositions(tokens: [0, 1, 1], window: [1])
        }
        #expect(throws: CaptureError.positionsNotIncreasing(name: "probe_positions", index: 0)) {
            try SequencePositions(tokens: [0], window: [0], probes: [-1])
        }
        #expect(throws: CaptureError.noSequences) { try Capture(model: Self.facts(), sequences: []) }
    }

    @Test func tensorShapeErrors() {
        #expect(throws: TensorShapeError.countMismatch(shape: [1, 2, 3], count: 5)) {
            try HeadTensor<Float>(heads: 1, tokens: 2, headDim: 3, storage: [1, 2, 3, 4, 5])
        }
        #expect(throws: TensorShapeError.invalidDimensions([1, 2, 0])) {
            try HeadTensor<Float>(heads: 1, tokens: 2, headDim: 0, storage: [])
        }
    }
}
