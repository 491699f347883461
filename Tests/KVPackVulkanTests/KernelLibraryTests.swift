import Dispatch
import Synchronization
import Testing
@testable import KVPackVulkan

/// The context's pipelines asked for from many threads at once: each key compiles once (callers
/// of a key being compiled wait for it and get the same pipeline), different keys each get their
/// own, and a key that cannot compile fails every caller without leaving anything behind.
@Suite(.vulkanDevice)
struct KernelLibraryTests {
    @Test("8 threads asking for 2 keys at once: 2 compiles, one pipeline per key; an unknown kernel fails each caller")
    func concurrentCallersShareOneCompilePerKey() throws {
        let context = try VulkanContext()
        let before = context.pipelinesCreated
        let keys = [KernelKey(name: "split_merge", constants: [0, 64]), KernelKey(name: "split_merge", constants: [0, 128])]
        let got = Mutex<[Int: [UInt]]>([:])
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            let handle = try? context.kernels.pipeline(keys[i % 2], context)
            got.withLock { $0[i % 2, default: []].append(UInt(bitPattern: handle)) }
        }
        let handles = got.withLock { $0 }
        #expect(handles[0]?.count == 4 && handles[1]?.count == 4)
        #expect(Set(handles[0] ?? []).count == 1 && Set(handles[1] ?? []).count == 1, "one pipeline per key: \(handles)")
        #expect(!(handles[0] ?? []).contains(0) && handles[0]?.first != handles[1]?.first)
        #expect(context.pipelinesCreated == before + 2)

        let missing = KernelKey(name: "no_such_kernel", constants: [])
        let failures = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            do { _ = try context.kernels.pipeline(missing, context) } catch { failures.withLock { $0 += 1 } }
        }
        #expect(failures.withLock { $0 } == 4)
        #expect(context.pipelinesCreated == before + 2)
        // The library still serves its pipelines after the failures.
        #expect(UInt(bitPattern: try context.kernels.pipeline(keys[0], context)) == handles[0]?.first)
    }
}
