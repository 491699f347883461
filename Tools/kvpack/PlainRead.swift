import Dispatch
import Foundation
import KVPack

/// A plain multithreaded read of buffers (a sum of their 64-byte words): the memory limit the
/// kernels and policies are compared with.
enum PlainRead {
    /// Median seconds of `iterations` reads of every tensor, all threads.
    static func seconds(_ tensors: [HeadTensor<Float16>], iterations: Int) -> Double {
        let threads = ProcessInfo.processInfo.activeProcessorCount
        var times: [Double] = []
        var sink: UInt64 = 0
        for _ in 0..<max(1, iterations) {
            let t0 = DispatchTime.now().uptimeNanoseconds
            for t in tensors {
                t.withUnsafeBufferPointer { buffer in
                    let words = UnsafeRawBufferPointer(buffer).bindMemory(to: SIMD8<UInt64>.self)
                    let base = Words(base: words.baseAddress!)
                    let count = words.count
                    let per = (count + threads - 1) / threads
                    let sums = Sums(count: threads)
                    DispatchQueue.concurrentPerform(iterations: threads) { k in
                        var acc = SIMD8<UInt64>()
                        for i in min(count, k * per)..<min(count, (k + 1) * per) { acc &+= base.base[i] }
                        sums.store(k, acc.wrappedSum())
                    }
                    sink &+= sums.total()
                }
            }
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        if sink == 42 { print("") } // keep the reads observable
        times.sort()
        return times[times.count / 2]
    }

    private struct Words: @unchecked Sendable { let base: UnsafePointer<SIMD8<UInt64>> }

    private final class Sums: @unchecked Sendable {
        private var values: [UInt64]
        private let lock = NSLock()
        init(count: Int) { values = Array(repeating: 0, count: count) }
        func store(_ i: Int, _ v: UInt64) { lock.lock(); values[i] = v; lock.unlock() }
        func total() -> UInt64 { values.reduce(0, &+) }
    }
}
