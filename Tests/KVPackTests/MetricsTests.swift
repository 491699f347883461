import Testing
@testable import KVPack

@Suite("Accuracy metrics, hand-worked")
struct MetricsTests {
    @Test func relativeL2() throws {
        // ‖(3,4) − (3,1)‖ / ‖(3,4)‖ = 3 / 5
        #expect(abs(try AttentionMetrics.relativeL2(reference: [3, 4] as [Float], approximation: [3, 1]) - 0.6) < 1e-12)
        #expect(try AttentionMetrics.relativeL2(reference: [1, 2] as [Float], approximation: [1, 2]) == 0)
        #expect(try AttentionMetrics.relativeL2(reference: [0, 0] as [Float], approximation: [0, 0]) == 0)
        #expect(try AttentionMetrics.relativeL2(reference: [0, 0] as [Float], approximation: [1, 0]) == .infinity)
    }

    @Test func worstRelativeL2() throws {
        // Vectors (3,4) vs (3,1): 0.6; (1,0) vs (1,0): 0 -> 0.6.
        #expect(abs(try AttentionMetrics.worstRelativeL2(reference: [3, 4, 1, 0], approximation: [3, 1, 1, 0], length: 2) - 0.6) < 1e-12)
        // A NaN in the second vector fails any bound instead of vanishing in max.
        #expect(try AttentionMetrics.worstRelativeL2(reference: [3, 4, 1, 0], approximation: [3, 4, .nan, 0], length: 2) == .infinity)
        #expect(try AttentionMetrics.worstRelativeL2(reference: [], approximation: [], length: 4) == 0)
    }

    @Test func nonFiniteRuns() {
        // Vectors of 4: [1, nan, inf, 2] -> runs 1..<3; [0, 0, 0, 0] -> none; [nan, 0, -inf, nan] -> 0, 2..<4.
        let values: [Float] = [1, .nan, .infinity, 2, 0, 0, 0, 0, .nan, 0, -.infinity, .nan]
        #expect(AttentionMetrics.nonFiniteRuns(values, length: 4) == [
            NonFiniteVector(vector: 0, runs: [1..<3]), NonFiniteVector(vector: 2, runs: [0..<1, 2..<4]),
        ])
        #expect(AttentionMetrics.nonFiniteRuns([1, 2, 3, 4], length: 2).isEmpty)
        #expect(AttentionMetrics.nonFiniteRuns([.nan], length: 0).isEmpty)
        // A trailing partial vector of 1: vector 1, element 0.
        #expect(AttentionMetrics.nonFiniteRuns([1, 2, .nan], length: 2) == [NonFiniteVector(vector: 1, runs: [0..<1])])
    }

    @Test func cosine() throws {
        // cos((1,0), (1,1)) = 1/√2
        #expect(abs(try AttentionMetrics.cosineSimilarity([1, 0] as [Float], [1, 1] as [Float]) - 0.5.squareRoot()) < 1e-12)
        #expect(try AttentionMetrics.cosineSimilarity([1, 2] as [Float], [-1, -2] as [Float]) == -1)
        #expect(try AttentionMetrics.cosineSimilarity([0, 0] as [Float], [0, 0] as [Float]) == 1)
        #expect(try AttentionMetrics.cosineSimilarity([0, 0] as [Float], [1, 0] as [Float]) == 0)
    }

    @Test func massRecallAndLoss() throws {
        let p: [Float] = [0.5, 0.25, 0.125, 0.125]
        #expect(try AttentionMetrics.massRecall(probabilities: p, kept: [0, 2]) == 0.625)
        #expect(try AttentionMetrics.massRecall(probabilities: p, kept: [0, 0, 2]) == 0.625) // duplicates count once
        #expect(try AttentionMetrics.massRecall(probabilities: p, kept: []) == 0)
        #expect(try 1 - AttentionMetrics.massRecall(probabilities: p, kept: [1, 3]) == 0.625) // mass lost
        #expect(try AttentionMetrics.massRecall(probabilities: p[1...], kept: [0]) == 0.25) // slices index from 0
    }

    @Test func topKRecallWithTies() {
        let p: [Float] = [0.1, 0.4, 0.1, 0.4]
        #expect(AttentionMetrics.topK(p, k: 3) == [1, 3, 0]) // tie 0.1 at 0 and 2: lower index first
        #expect(AttentionMetrics.topKRecall(probabilities: p, kept: [1, 2], k: 2) == 0.5)
        #expect(AttentionMetrics.topKRecall(probabilities: p, kept: [0, 1, 3], k: 3) == 1)
        #expect(AttentionMetrics.topKRecall(probabilities: p, kept: [0, 1, 2, 3], k: 10) == 1) // k capped at 4
        #expect(AttentionMetrics.topKRecall(probabilities: p, kept: [2], k: 3) == 0)
    }

    @Test func summary() throws {
        // sorted 1..5: p95 position 0.95·4 = 3.8 -> 4 + 0.8·(5 − 4) = 4.8
        let s = Summary([5, 1, 3, 2, 4])
        #expect(s.count == 5 && s.mean == 3 && s.max == 5 && abs(s.p95 - 4.8) < 1e-12)
        #expect(Summary([7]).p95 == 7)
        #expect(Summary([Double]()).count == 0)
        let median = try Summary.percentile([1, 2, 3, 4, 5], 0.5)
        #expect(median == 3)
    }

    @Test("inputs that do not fit: typed errors")
    func badInput() throws {
        #expect(throws: MetricsError.lengthMismatch(reference: 2, approximation: 3)) {
            try AttentionMetrics.relativeL2(reference: [1, 2] as [Float], approximation: [1, 2, 3])
        }
        #expect(throws: MetricsError.lengthMismatch(reference: 1, approximation: 2)) {
            try AttentionMetrics.cosineSimilarity([1] as [Float], [1, 2] as [Float])
        }
        #expect(throws: MetricsError.lengthMismatch(reference: 4, approximation: 2)) {
            try AttentionMetrics.worstRelativeL2(reference: [1, 2, 3, 4], approximation: [1, 2], length: 2)
        }
        #expect(throws: MetricsError.invalidVectorLength(total: 4, length: 3)) {
            try AttentionMetrics.worstRelativeL2(reference: [1, 2, 3, 4], approximation: [1, 2, 3, 4], length: 3)
        }
        #expect(throws: MetricsError.invalidVectorLength(total: 4, length: 0)) {
            try AttentionMetrics.worstRelativeL2(reference: [1, 2, 3, 4], approximation: [1, 2, 3, 4], length: 0)
        }
        let p: [Float] = [0.5, 0.25, 0.125, 0.125]
        #expect(throws: MetricsError.indexOutOfRange(index: 4, count: 4)) { try AttentionMetrics.massRecall(probabilities: p, kept: [0, 4]) }
        #expect(throws: MetricsError.indexOutOfRange(index: -1, count: 3)) { try AttentionMetrics.massRecall(probabilities: p[1...], kept: [-1]) }
        #expect(throws: MetricsError.invalidQuantile(q: 0.5, count: 0)) { try Summary.percentile([], 0.5) }
        #expect(throws: MetricsError.invalidQuantile(q: 1.5, count: 2)) { try Summary.percentile([1, 2], 1.5) }
        #expect(throws: MetricsError.self) { try Summary.percentile([1, 2], .nan) } // NaN is not in 0...1
    }
}

@Suite("Attention profile, hand-worked")
struct AttentionProfileTests {
    @Test func uniformAndPeaked() throws {
        // One head, two queries over 200 keys at positions 0..<200, both queries at position 199.
        // Query 0: uniform -> entropy ln 200, sinks 4/200, recent 64/200, top 1% (2 keys) 2/200.
        // Query 1: all mass on key 0 -> entropy 0, sink 1, recent 0, top 1.
        let n = 200
        var probs = [Float](repeating: 1 / Float(n), count: n)
        probs += [1] + [Float](repeating: 0, count: n - 1)
        let result = AttentionResult(output: try HeadTensor(zeros: 1, 2, 1), probabilities: probs, tokens: n)
        let p = try AttentionProfile(result, keyPositions: Array(0..<n), queryPositions: [199, 199])
        #expect(throws: MetricsError.positionCountMismatch(name: "query positions", expected: 2, found: 1)) {
            try AttentionProfile(result, keyPositions: Array(0..<n), queryPositions: [199])
        }
        #expect(throws: MetricsError.positionCountMismatch(name: "key positions", expected: n, found: n - 1)) {
            try AttentionProfile(result, keyPositions: Array(1..<n), queryPositions: [199, 199])
        }
        let noProbabilities = AttentionResult(output: result.output, probabilities: nil, tokens: n)
        #expect(throws: MetricsError.noProbabilities) {
            try AttentionProfile(noProbabilities, keyPositions: Array(0..<n), queryPositions: [199, 199])
        }
        #expect(abs(p.entropy - log(200.0) / 2) < 1e-5)
        #expect(abs(p.sinkMass - (4.0 / 200 + 1) / 2) < 1e-6)
        #expect(abs(p.recentMass - (64.0 / 200) / 2) < 1e-6)
        #expect(abs(p.top1PercentMass - (2.0 / 200 + 1) / 2) < 1e-6)
        #expect(p.rows == 2)
    }
}

import Foundation
