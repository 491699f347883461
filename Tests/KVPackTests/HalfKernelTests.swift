import CKVPackHalf
import Testing
@testable import KVPack
import KVPackTestSupport

@Suite("Half-precision kernels", .serialized)
struct HalfKernelTests {
    @Test("every half value converts to float exactly, at every kernel level", arguments: kernelLevels)
    func allHalves(level: Int32) {
        kvp_half_set_level(level)
        defer { kvp_half_set_level(99) }
        let all = (0..<65536).map { Float16(bitPattern: UInt16($0)) }
        let floats = HalfConversion.floats(all)
        for (h, f) in zip(all, floats) where !h.isNaN {
            #expect(f == Float(h))
        }
        #expect(zip(all, floats).allSatisfy { $0.isNaN == $1.isNaN })
        // And back: float(half) -> half is the identity for every non-NaN half.
        let back = HalfConversion.halves(floats)
        #expect(zip(all, back).allSatisfy { $0.isNaN ? $1.isNaN : $0.bitPattern == $1.bitPattern })
    }

    @Test("float -> half rounds like Swift's Float16(Float), at every kernel level", arguments: kernelLevels)
    func rounding(level: Int32) {
        kvp_half_set_level(level)
        defer { kvp_half_set_level(99) }
        var rng = TestRandom(42)
        var inputs: [Float] = [0, -0, 1e-8, 6e-8, -6e-8, 3e-5, 65504, 65519, 65520, -70000, 1e30, .infinity, -.infinity]
        for _ in 0..<20_000 { inputs.append(rng.normal() * Float(rng.next() * 1000)) }
        for _ in 0..<5_000 { inputs.append(rng.normal() * 1e-5) } // subnormal range
        let got = HalfConversion.halves(inputs)
        for (x, h) in zip(inputs, got) {
            #expect(h.bitPattern == Float16(x).bitPattern, "x=\(x)")
        }
    }

    @Test("row dot products and weighted sums match Double arithmetic", arguments: [(64, 3), (128, 8), (256, 5), (12, 2)])
    func rowKernels(shape: (Int, Int)) {
        let (d, nq) = shape
        var rng = TestRandom(UInt64(d * nq))
        let rows = 37
        let k = rng.halves(1, rows, d).storage
        let q = (0..<nq * d).map { _ in rng.normal() }
        let w = (0..<nq * rows).map { _ in Float(rng.next()) }
        for level in kernelLevels {
            kvp_half_set_level(level)
            defer { kvp_half_set_level(99) }
            var scores = [Float](repeating: 0, count: nq * rows)
            var acc = [Float](repeating: 1, count: nq * d)
            k.withUnsafeBufferPointer { kb in
                kb.withMemoryRebound(to: UInt16.self) { bits in
                    kvp_half_rows_dot(bits.baseAddress, rows, d, q, nq, 0.5, &scores, rows)
                    kvp_half_rows_accumulate(bits.baseAddress, rows, d, w, nq, rows, &acc)
                }
            }
            for qi in 0..<nq {
                for r in 0..<rows {
                    var dot = 0.0
                    for c in 0..<d { dot += Double(q[qi * d + c]) * Double(k[r * d + c]) }
                    #expect(abs(Double(scores[qi * rows + r]) - 0.5 * dot) < 1e-4 * max(1, abs(dot)))
                }
                for c in 0..<d {
                    var sum = 1.0
                    for r in 0..<rows { sum += Double(w[qi * rows + r]) * Double(k[r * d + c]) }
                    #expect(isClose(Double(acc[qi * d + c]), sum, relative: 1e-4))
                }
            }
        }
    }

    @Test("firstNonFinite finds the first infinity or NaN, in any block, at block edges; none in finite tensors",
          arguments: [0, 1, 511, 512, 513, 1023, 4000, 6143])
    func firstNonFinite(at index: Int) throws {
        var values = (0..<6144).map { Float16(Float($0 % 97) - 48) }
        #expect(try HeadTensor(heads: 2, tokens: 48, headDim: 64, storage: values).firstNonFinite() == nil)
        for bad in [Float16.infinity, -.infinity, .nan, Float16(bitPattern: 0xFE01)] { // last: a negative NaN payload
            values[index] = bad
            if index + 700 < values.count { values[index + 700] = .nan } // a later one must not win
            let t = try HeadTensor(heads: 2, tokens: 48, headDim: 64, storage: values)
            let found = try #require(t.firstNonFinite())
            #expect(found.head * 48 * 64 + found.token * 64 + found.dim == index)
            values = (0..<6144).map { Float16(Float($0 % 97) - 48) }
        }
        // The largest finite halves and subnormals are finite.
        let edge = [Float16.greatestFiniteMagnitude, -.greatestFiniteMagnitude, Float16(bitPattern: 0x0001), Float16(bitPattern: 0x83FF)]
        #expect(try HeadTensor(heads: 1, tokens: 1, headDim: 4, storage: edge).firstNonFinite() == nil)
    }

    @Test("firstNonFinite on Float tensors: the first infinity or NaN, in any block; none in finite ones",
          arguments: [0, 511, 512, 6143])
    func firstNonFiniteFloat(at index: Int) throws {
        let finite = (0..<6144).map { Float($0 % 97) - 48 }
        #expect(try HeadTensor(heads: 2, tokens: 48, headDim: 64, storage: finite).firstNonFinite() == nil)
        for bad in [Float.infinity, -.infinity, .nan, Float(bitPattern: 0xFF80_0001)] {
            var values = finite
            values[index] = bad
            if index + 700 < values.count { values[index + 700] = .nan }
            let found = try #require(try HeadTensor(heads: 2, tokens: 48, headDim: 64, storage: values).firstNonFinite())
            #expect(found.head * 48 * 64 + found.token * 64 + found.dim == index)
        }
        let edge = [Float.greatestFiniteMagnitude, -.greatestFiniteMagnitude, Float.leastNonzeroMagnitude, -Float.leastNormalMagnitude]
        #expect(try HeadTensor(heads: 1, tokens: 1, headDim: 4, storage: edge).firstNonFinite() == nil)
    }

    @Test("row norms equal float64 norms (16-lane sums with a tail), any row subset", arguments: [16, 64, 100, 128, 7])
    func rowNorms(d: Int) throws {
        var rng = TestRandom(UInt64(d))
        let t = try HeadTensor(heads: 3, tokens: 50, headDim: d, storage: (0..<3 * 50 * d).map { _ in Float16(rng.normal() * 4) })
        let rows = [49, 0, 7, 7, 31]
        let got = try t.rowNorms(head: 2, tokens: rows)
        for (i, r) in rows.enumerated() {
            var sum = 0.0
            for c in 0..<d { let x = Double(t[2, r, c]); sum += x * x }
            #expect(isClose(Double(got[i]), sum.squareRoot(), relative: 1e-5, floor: 0), "row \(r)")
        }
        #expect(try t.rowNorms(head: 0, tokens: []).isEmpty)
    }

    @Test("column moments: sums, -x·ln(x + 1e-10) and central moments equal float64, ragged column counts",
          arguments: [1, 16, 37, 100])
    func columnMoments(n: Int) {
        var rng = TestRandom(UInt64(n))
        let rows = 9, stride = n + 5
        // Probabilities: zeros, tiny values, ones and everything between.
        let p: [Float] = (0..<rows * stride).map { i in
            switch i % 7 {
            case 0: return 0
            case 1: return Float(rng.next()) * 1e-9
            case 2: return 1
            default: return Float(rng.next())
            }
        }
        var sum = [Float](repeating: 0.5, count: n), h = [Float](repeating: -0.25, count: n) // accumulates onto these
        kvp_column_moments(p, rows, stride, n, &sum, &h)
        let mean = (0..<n).map { j in Float((0..<rows).reduce(0.0) { $0 + Double(p[$1 * stride + j]) } / Double(rows)) }
        var m2 = [Float](repeating: 0, count: n), m4 = [Float](repeating: 0, count: n)
        kvp_central_moments(p, rows, stride, n, mean, &m2, &m4)
        for j in 0..<n {
            let col = (0..<rows).map { Double(p[$0 * stride + j]) }
            let s = 0.5 + col.reduce(0, +)
            let e = -0.25 - col.reduce(0) { $0 + $1 * Foundation.log(Double(Float($1) + 1e-10)) }
            let c2 = col.reduce(0) { $0 + pow($1 - Double(mean[j]), 2) }, c4 = col.reduce(0) { $0 + pow($1 - Double(mean[j]), 4) }
            #expect(isClose(Double(sum[j]), s, relative: 1e-6), "sum column \(j)")
            #expect(isClose(Double(h[j]), e, relative: 2e-6), "entropy column \(j): \(h[j]) vs \(e)")
            #expect(isClose(Double(m2[j]), c2, relative: 1e-5, floor: 1e-3) && isClose(Double(m4[j]), c4, relative: 1e-5, floor: 1e-3),
                    "moments column \(j)")
        }
    }

    @Test("a pinned kernel level holds on its own thread only")
    func levelIsPerThread() {
        kvp_half_set_level(0)
        defer { kvp_half_set_level(99) }
        #expect(kvp_half_level() == 0)
        // A new thread (GCD's sync could run the block on this one).
        final class Seen: @unchecked Sendable { var level: Int32 = -1 }
        let seen = Seen(), done = DispatchSemaphore(value: 0)
        Thread { seen.level = kvp_half_level(); done.signal() }.start()
        done.wait()
        #expect(seen.level == kvp_half_max_level())
    }

    @Test("exp-shift-sum matches expf and maps -inf to exactly 0", arguments: kernelLevels)
    func expShift(level: Int32) {
        kvp_half_set_level(level)
        defer { kvp_half_set_level(99) }
        var x: [Float] = (0..<1000).map { -Float($0) * 0.1 } + [-.infinity, -200, 0]
        let original = x
        let sum = kvp_exp_shifted_sum(&x, x.count, 0.5)
        var expected = 0.0
        for (o, got) in zip(original, x) {
            let e = o == -.infinity ? 0 : Foundation.exp(Double(o - Float(0.5))) // argument rounded as the kernel rounds it
            expected += e
            #expect(abs(Double(got) - e) <= 1e-6 * max(e, 1e-30) + 1e-37, "x=\(o)")
        }
        #expect(x[1000] == 0)
        #expect(abs(Double(sum) - expected) < 1e-5 * expected)
    }
}

import Foundation

@Suite("Softmax kernel")
struct SoftmaxKernelTests {
    @Test("hand-worked softmax at every kernel level", arguments: kernelLevels)
    func handWorked(level: Int32) {
        kvp_half_set_level(level)
        defer { kvp_half_set_level(99) }
        // logits 0 and ln 3 -> 1/4, 3/4; -inf -> exactly 0; 19 entries exercise the vector tail.
        var x: [Float] = [0, Float(Foundation.log(3.0)), -.infinity] + [Float](repeating: -.infinity, count: 16)
        kvp_softmax_inplace(&x, x.count)
        #expect(abs(x[0] - 0.25) < 1e-6 && abs(x[1] - 0.75) < 1e-6)
        #expect(x[2...].allSatisfy { $0 == 0 })
        // Large logits do not overflow: the max is subtracted first.
        var big: [Float] = [1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000]
        kvp_softmax_inplace(&big, big.count)
        #expect(big.allSatisfy { abs($0 - 0.1) < 1e-6 })
    }
}
