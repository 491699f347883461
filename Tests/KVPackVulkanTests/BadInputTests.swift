import CVulkan
import KVPack
import Testing
@testable import KVPackVulkan

@Suite("Vulkan bad input: no loader, no device, oversize caches")
struct BadInputTests {
    @Test("a loader that is not there gives VulkanError.loaderNotFound from the context")
    func noLoader() {
        let result = Result { () throws(VulkanError) in
            try VulkanContext(loader: try VulkanLoader(candidates: ["/nonexistent/libvulkan.so.1"]))
        }
        guard case .failure(.loaderNotFound(let tried)) = result else {
            Issue.record("expected loaderNotFound, got \(result)")
            return
        }
        #expect(tried == ["/nonexistent/libvulkan.so.1"])
    }

    @Test("a device selector that matches nothing names the devices there are",
          .vulkanDevice)
    func noSuchDevice() {
        let result = Result { () throws(VulkanError) in try VulkanContext(selector: .name("no such GPU 9000")) }
        guard case .failure(.deviceNotFound(let selector, let available)) = result else {
            Issue.record("expected deviceNotFound, got \(result)")
            return
        }
        #expect(selector == "no such GPU 9000")
        #expect(!available.isEmpty)
        #expect(VulkanDeviceSelector.parse("1") == .index(1))
        #expect(VulkanDeviceSelector.parse("H100") == .name("H100"))
    }

    @Test("automatic selection prefers a discrete GPU, then integrated, then the CPU")
    func preference() {
        func info(_ name: String, _ kind: VulkanDeviceInfo.Kind) -> VulkanDeviceInfo {
            VulkanDeviceInfo(name: name, kind: kind, apiVersion: "1.3.0", vendorID: 0, deviceID: 0)
        }
        let devices = [info("llvmpipe", .cpu), info("iGPU", .integrated), info("H100", .discrete)]
        #expect(VulkanDeviceSelector.automatic.choose(from: devices) == 2)
        #expect(VulkanDeviceSelector.automatic.choose(from: Array(devices.prefix(2))) == 1)
        #expect(VulkanDeviceSelector.name("LLVM").choose(from: devices) == 0)
        #expect(VulkanDeviceSelector.index(3).choose(from: devices) == nil)
    }

    static func capabilities(range: Int, heap: Int) -> VulkanCapabilities {
        VulkanCapabilities(subgroupSize: 32, subgroupShuffle: true, maxStorageBufferRange: range, deviceLocalBytes: heap,
                           unifiedMemory: false, timestampPeriod: 1, maxSharedMemory: 49152)
    }

    @Test("a cache over maxStorageBufferRange or device memory is refused before allocation")
    func oversize() throws {
        let fixture = try DecodeFixture(qHeads: 2, kvHeads: 1, d: 64, tokens: 64, sequences: 1) { _, _ in
            (Array(0..<64), Array(repeating: (.f16, .f16), count: 64))
        }
        let flat = fixture.cache.flattened()
        let pool = flat.pools[0].count + 16
        let tooLong = Result { () throws(VulkanError) in
            try DeviceKVCache.preflight(flat, capabilities: Self.capabilities(range: pool - 1, heap: 1 << 30))
        }
        // One head's pages cannot be split across buffers.
        guard case .failure(.tooLarge(let what, let bytes, let limit, "maxStorageBufferRange")) = tooLong else {
            Issue.record("expected tooLarge for the range, got \(tooLong)")
            return
        }
        #expect(what.hasPrefix("one head's f16 pages") && bytes == pool - 16 && limit == pool - 17)
        let tooBig = Result { () throws(VulkanError) in
            try DeviceKVCache.preflight(flat, capabilities: Self.capabilities(range: 1 << 30, heap: 4096))
        }
        guard case .failure(.tooLarge(let what, _, 4096, _)) = tooBig else {
            Issue.record("expected tooLarge for the heap, got \(tooBig)")
            return
        }
        #expect(what == "the cache")
        #expect(throws: Never.self) {
            try DeviceKVCache.preflight(flat, capabilities: Self.capabilities(range: 1 << 30, heap: 1 << 30))
        }
    }

    /// A context of its own (so that no other test's calls move its resource counts), an f16
    /// cache of `sequences` sequences of 40 tokens (4 query heads over 2, head dim 64) on it, and
    /// the attention that decodes it.
    static func ownCache(sequences: Int) throws -> (VulkanContext, DecodeFixture, DeviceKVCache, VulkanDecodeAttention) {
        let context = try VulkanContext()
        let fixture = try DecodeFixture(qHeads: 4, kvHeads: 2, d: 64, tokens: 40, sequences: sequences) { _, _ in
            (Array(0..<40), Array(repeating: (.f16, .f16), count: 40))
        }
        return (context, fixture, try DeviceKVCache(context, flat: fixture.cache.flattened()), VulkanDecodeAttention(context: context))
    }

    @Test("a device lost during a dispatch (injected) is VulkanError.deviceLost and releases the call's buffers and descriptors",
          .vulkanDevice)
    func deviceLost() throws {
        let (context, fixture, cache, attention) = try Self.ownCache(sequences: 1)
        let before = context.live.snapshot
        #expect(before.buffers > 0 && before.descriptorPools == 0)
        context.injectWaitResult(VK_ERROR_DEVICE_LOST)
        let lost = Result { () throws(VulkanError) in try attention.attend(cache, queries: fixture.queries, options: .init(pagesPerSplit: 1)) }
        guard case .failure(.deviceLost) = lost else { Issue.record("expected deviceLost, got \(lost)"); return }
        #expect(context.live.snapshot == before, "the failed call's queries, output, partials and descriptor pool are gone")
        // The injection was one-shot: the next call runs and is right.
        let (got, _) = try attention.attend(cache, queries: fixture.queries)
        #expect(try DecodeFixture.worstError(got, try fixture.expected(), d: 64) < 4e-3)
        #expect(context.live.snapshot == before)
    }

    @Test("queries of the wrong length, a layer outside the cache or a mask without one position per sequence are VulkanError.invalidShape, and nothing is left allocated",
          .vulkanDevice)
    func wrongShapes() throws {
        let (context, fixture, cache, attention) = try Self.ownCache(sequences: 2)
        let before = context.live.snapshot
        // [sequences, queryHeads, headDim] = [2, 4, 64]: 512 floats.
        #expect(fixture.queries.count == 512)
        let cases: [(String, () throws(VulkanError) -> Void)] = [
            ("one float short", { () throws(VulkanError) in _ = try attention.attend(cache, queries: Array(fixture.queries.dropLast())) }),
            ("one sequence's queries", { () throws(VulkanError) in _ = try attention.attend(cache, queries: Array(fixture.queries.prefix(256))) }),
            ("layer 1 of one", { () throws(VulkanError) in _ = try attention.attend(cache, layer: 1, queries: fixture.queries) }),
            ("a negative layer", { () throws(VulkanError) in _ = try attention.attend(cache, layer: -1, queries: fixture.queries) }),
            ("one mask position for two sequences",
             { () throws(VulkanError) in _ = try attention.attend(cache, queries: fixture.queries, mask: DecodeMask(queryPositions: [39])) }),
            ("statistics with short queries",
             { () throws(VulkanError) in _ = try attention.kernelStatistics(cache, queries: Array(fixture.queries.prefix(8))) }),
        ]
        for (name, call) in cases {
            let r = Result(catching: call)
            guard case .failure(.invalidShape(let what)) = r else {
                Issue.record("\(name): expected invalidShape, got \(r)")
                continue
            }
            #expect(!what.isEmpty && VulkanError.invalidShape(what).description.hasPrefix("wrong shape: "), "\(name)")
            #expect(context.live.snapshot == before, "\(name): nothing allocated")
        }
        // The cache is unharmed: the right call still runs and is right.
        let (got, _) = try attention.attend(cache, queries: fixture.queries)
        #expect(try DecodeFixture.worstError(got, try fixture.expected(), d: 64) < 4e-3)
    }

    @Test("an unsupported head dim is a typed error")
    func headDim() throws {
        let fixture = try DecodeFixture(qHeads: 2, kvHeads: 1, d: 96, tokens: 8, sequences: 1) { _, _ in
            (Array(0..<8), Array(repeating: (.f16, .f16), count: 8))
        }
        let r = Result { () throws(VulkanError) in
            try DeviceKVCache.preflight(fixture.cache.flattened(), capabilities: Self.capabilities(range: 1 << 30, heap: 1 << 30))
        }
        guard case .failure(.unsupported) = r else { Issue.record("expected unsupported, got \(r)"); return }
    }
}
