import CVulkan
import KVPackPolicies
import KVPackTestSupport
import Testing
@testable import KVPack
@testable import KVPackVulkan

/// Random prompts and decode tokens for a live session test.
private struct SessionInputs {
    let model: ModelFacts
    var rng: TestRandom

    init(_ model: ModelFacts, seed: UInt64) {
        self.model = model
        rng = TestRandom(seed)
    }

    mutating func prompt(tokens: Int, window: Int = 8) -> SessionPrompt {
        let m = model
        return SessionPrompt(positions: Array(0..<tokens), layers: (0..<m.layerCount).map { _ in
            let wq = rng.halves(m.queryHeads, window, m.headDim, scale: 1.5)
            return .init(keys: rng.halves(m.kvHeads, tokens, m.headDim), values: rng.halves(m.kvHeads, tokens, m.headDim), windowQueries: wq)
        })
    }

    mutating func token() -> (keys: [HeadTensor<Float16>], values: [HeadTensor<Float16>], queries: [HeadTensor<Float>]) {
        let m = model
        return ((0..<m.layerCount).map { _ in rng.halves(m.kvHeads, 1, m.headDim) },
                (0..<m.layerCount).map { _ in rng.halves(m.kvHeads, 1, m.headDim) },
                (0..<m.layerCount).map { _ in rng.floats(m.queryHeads, 1, m.headDim, scale: 1.5) })
    }
}

private func sessionModel(window: Int? = nil) -> ModelFacts {
    try! ModelFacts(name: "device-session-test", queryHeads: 8, kvHeads: 2, headDim: 64,
                    layerKinds: [.global, window.map { .slidingWindow(size: $0) } ?? .global])
}

/// A pool of `banks` small banks (so a batch spans several) and its host twin (one bank).
private func pools(banks: Int = 3, bankBytes: Int = 1 << 20) throws -> (device: PagePool, host: PagePool) {
    (try PagePool(.init(budgetBytes: 1 << 24, headDim: 64, pageSize: 16, slotsPerChunk: 8, banks: banks, bankBytes: bankBytes)),
     try PagePool(.init(budgetBytes: 1 << 24, headDim: 64, pageSize: 16, slotsPerChunk: 8)))
}

/// A session on `device` and its twin on `host` (dense), both prefilled with the next prompt of
/// `tokens` tokens from `inputs`.
private func prefilledTwins(_ model: ModelFacts, device: PagePool, host: PagePool, inputs: inout SessionInputs,
                            tokens: Int) throws -> (session: CacheSession, twin: CacheSession) {
    let prompt = inputs.prompt(tokens: tokens)
    let session = try CacheSession(pool: device, model: model), twin = try CacheSession(pool: host, model: model)
    try session.prefill(prompt)
    try twin.prefill(prompt)
    return (session, twin)
}

private func policy(_ spec: String) throws -> any SessionPolicy {
    spec == "dense" ? DenseSessionPolicy() : try PolicyPipeline(parsing: spec)
}

/// Largest |a - b| relative to the largest |b|.
private func relativeError(_ a: [Float], _ b: [Float]) -> Float {
    let scale = max(b.map(abs).max() ?? 1, 1e-6)
    return zip(a, b).map { abs($0 - $1) }.max()! / scale
}

/// fp32 kernels where outputs are compared with the CPU.
private let exact = DecodeOptions(f16Arithmetic: false)

@Suite(.vulkanDevice)
struct SessionPoolTests {
    /// Sessions on the device pool and their twins on a host pool take the same prompts and
    /// tokens; each decode step's batched device attend matches the CPU attend of the twins, the
    /// policies act the same (same tokens kept), and the bytes agree.
    @Test(arguments: ["dense", "snapkv(keep=0.25,window=8)", "knorm(keep=0.5) | quant(bits=8,group=16)", "quant(bits=4,group=16)",
                      "arkv(keep=0.5,window=8)", "mustafar(k=0.5,v=0.5)", "paged(keep=0.5,block=4)"])
    func batchedDeviceAttendMatchesTheCPU(spec: String) async throws {
        let context = try #require(SharedContext.context)
        let model = sessionModel()
        let (devicePool, hostPool) = try pools()
        let device = try VulkanSessionPool(context: context, pool: devicePool)
        var inputs = (0..<4).map { SessionInputs(model, seed: 100 + UInt64($0)) }
        var sessions: [CacheSession] = [], twins: [CacheSession] = []
        for s in 0..<4 {
            let prompt = inputs[s].prompt(tokens: 60 + 17 * s)
            sessions.append(try CacheSession(pool: devicePool, model: model, policy: try policy(spec)))
            twins.append(try CacheSession(pool: hostPool, model: model, policy: try policy(spec)))
            try sessions[s].prefill(prompt)
            try twins[s].prefill(prompt)
        }
        var worst: Float = 0
        for step in 0..<5 {
            var tokens: [(keys: [HeadTensor<Float16>], values: [HeadTensor<Float16>], queries: [HeadTensor<Float>])] = []
            for s in 0..<4 { tokens.append(inputs[s].token()) }
            for l in 0..<model.layerCount {
                var batch: [CacheSession.AttendRequest] = []
                for s in 0..<4 {
                    let position = 60 + 17 * s + step
                    try sessions[s].append(layer: l, keys: tokens[s].keys[l], values: tokens[s].values[l], positions: [position])
                    try twins[s].append(layer: l, keys: tokens[s].keys[l], values: tokens[s].values[l], positions: [position])
                    batch.append(.init(session: sessions[s], queries: tokens[s].queries[l], positions: [position]))
                }
                let results = await device.attend(batch, layer: l, options: exact)
                if spec.hasPrefix("quant") || spec.contains("| quant") {
                    // Quantized prompt pages, then the f16 pages appended: one kernel pass per class.
                    let launches = try #require(device.lastTiming?.launches)
                    #expect(launches.allSatisfy { $0.passes.count == 2 }, "\(spec): \(launches.map(\.kernel))")
                }
                for s in 0..<4 {
                    let out = try results[s].get()
                    let cpu = try twins[s].attend(layer: l, queries: tokens[s].queries[l], positions: [60 + 17 * s + step])
                    worst = max(worst, relativeError(out.storage, cpu.storage))
                    #expect(try sessions[s].tokenCounts(layer: l) == twins[s].tokenCounts(layer: l), "\(spec) step \(step) layer \(l)")
                    #expect(try sessions[s].positions(layer: l) == twins[s].positions(layer: l))
                }
            }
        }
        // The CPU reads int8 / int4 pages through rows dequantized to f16 (about 5e-4 relative
        // rounding); the kernels dequantize in fp32.
        let quantized = spec.contains("quant") || spec.contains("arkv")
        #expect(worst < (quantized ? 2e-3 : 2e-4), "\(spec): largest relative difference \(worst)")
        for s in 0..<4 { #expect(sessions[s].byteCount == twins[s].byteCount) }
        // The sessions' layers spread over the banks, so batches spanned several decodes.
        #expect(Set(sessions.flatMap(\.banks)).count == 3)
    }

    /// Groups of sessions stepping through the layers in their own tasks, so that calls are on
    /// the device at once (one prepared while another runs, the policies' decode stages of one
    /// acting while the next is recorded): every output matches the twins' CPU attend, the
    /// policies keep the same tokens, and with one call in flight none overlap. `chained`: the
    /// submissions several queues make (uploads a batch of their own after the previous call's,
    /// by semaphore; no barrier after the queue's earlier work), on lavapipe's one queue.
    /// `oneAtATime`: calls read, plan and submit one at a time (`callsOneAtATime`).
    @Test(arguments: [(1, false, false), (2, false, false), (3, false, false), (3, true, false), (4, true, false), (3, true, true)])
    func callsInFlightMatchTheCPU(callsInFlight: Int, chained: Bool, oneAtATime: Bool) async throws {
        let context = try #require(SharedContext.context)
        let model = sessionModel()
        let (devicePool, hostPool) = try pools()
        let device = try VulkanSessionPool(context: context, pool: devicePool, tableEntriesPerBank: nil, staging: .device,
                                           callsInFlight: callsInFlight, queues: 1, chained: chained)
        device.callsOneAtATime = oneAtATime
        #expect(device.lanes.allSatisfy { $0.frame.chained == chained })
        let specs = ["paged(keep=0.5,block=4)", "dense", "snapkv(keep=0.25,window=8)", "quant(bits=8,group=16)"]
        let worst = try await withThrowingTaskGroup(of: Float.self) { group in
            for g in 0..<4 {
                var inputs = SessionInputs(model, seed: 300 + UInt64(g))
                var sessions: [CacheSession] = [], twins: [CacheSession] = []
                for s in 0..<2 {
                    let prompt = inputs.prompt(tokens: 40 + 9 * (2 * g + s))
                    sessions.append(try CacheSession(pool: devicePool, model: model, policy: try policy(specs[(g + s) % specs.count])))
                    twins.append(try CacheSession(pool: hostPool, model: model, policy: try policy(specs[(g + s) % specs.count])))
                    try sessions[s].prefill(prompt)
                    try twins[s].prefill(prompt)
                }
                group.addTask { [inputs, sessions, twins] in
                    var inputs = inputs, worst: Float = 0
                    for step in 0..<6 {
                        let tokens = (0..<2).map { _ in inputs.token() }
                        for l in 0..<model.layerCount {
                            var batch: [CacheSession.AttendRequest] = []
                            for s in 0..<2 {
                                let position = 40 + 9 * (2 * g + s) + step
                                try sessions[s].append(layer: l, keys: tokens[s].keys[l], values: tokens[s].values[l], positions: [position])
                                try twins[s].append(layer: l, keys: tokens[s].keys[l], values: tokens[s].values[l], positions: [position])
                                batch.append(.init(session: sessions[s], queries: tokens[s].queries[l], positions: [position]))
                            }
                            let results = await device.attend(batch, layer: l, options: exact)
                            for s in 0..<2 {
                                let cpu = try twins[s].attend(layer: l, queries: tokens[s].queries[l], positions: [40 + 9 * (2 * g + s) + step])
                                worst = max(worst, relativeError(try results[s].get().storage, cpu.storage))
                                #expect(try sessions[s].positions(layer: l) == twins[s].positions(layer: l), "group \(g) step \(step) layer \(l)")
                            }
                        }
                    }
                    for s in 0..<2 {
                        #expect(sessions[s].byteCount == twins[s].byteCount)
                        sessions[s].close()
                        twins[s].close()
                    }
                    return worst
                }
            }
            return try await group.reduce(0) { max($0, $1) }
        }
        // int8 prompt pages: the CPU reads them through f16 rows (about 5e-4 relative rounding).
        #expect(worst < 2e-3, "largest relative difference \(worst)")
        #expect(devicePool.statistics.pagesInUse == 0 && device.tableEntriesInUse.allSatisfy { $0 == 0 })
        if callsInFlight == 1 {
            #expect(device.peakCallsOnDevice == 1)
        } else {
            #expect(device.peakCallsOnDevice >= 2, "no call was submitted while another was on the device")
        }
    }

    /// A bank's decode plans are kept and made again only when what they depend on changes; a
    /// kept plan reads and writes the buffers it was made with even after a larger batch grew the
    /// bank's reused buffers, and binds its own directory again after a call with one pass per
    /// class bound the passes' directory. Batches of 1, 4, 1, 2 and 5 sessions over one bank, a
    /// quantized session among them, the windowed layer masked, the fence polled: every output
    /// matches the CPU.
    @Test func keptPlansMatchTheCPUAsBatchesChange() async throws {
        let context = try #require(SharedContext.context)
        let model = sessionModel(window: 40)
        let (devicePool, hostPool) = try pools(banks: 1, bankBytes: 1 << 22)
        let device = try VulkanSessionPool(context: context, pool: devicePool)
        // No fence polling by default on a CPU device; here the waiting thread polls (for up to
        // 50 ms a submission) before it blocks, and the results are the same.
        #expect(device.fenceSpin == .zero)
        device.fenceSpin = .milliseconds(50)
        #expect(device.fenceSpin == .milliseconds(50))
        let specs = ["dense", "dense", "snapkv(keep=0.5,window=8)", "dense", "quant(bits=8,group=16)"]
        var inputs = specs.indices.map { SessionInputs(model, seed: 300 + UInt64($0)) }
        var sessions: [CacheSession] = [], twins: [CacheSession] = [], next: [Int] = []
        for (s, spec) in specs.enumerated() {
            let tokens = 50 + 9 * s
            let prompt = inputs[s].prompt(tokens: tokens)
            sessions.append(try CacheSession(pool: devicePool, model: model, policy: try policy(spec)))
            twins.append(try CacheSession(pool: hostPool, model: model, policy: try policy(spec)))
            try sessions[s].prefill(prompt)
            try twins[s].prefill(prompt)
            next.append(tokens)
        }
        var worst: Float = 0
        for members in [[0], [0, 1, 2, 3], [0], [0, 1, 2, 3], [4], [0], [1, 4], [0, 1, 2, 3, 4], [0], [0, 1, 2, 3]] {
            for l in 0..<model.layerCount {
                var batch: [CacheSession.AttendRequest] = [], queries: [HeadTensor<Float>] = []
                for s in members {
                    let t = inputs[s].token()
                    try sessions[s].append(layer: l, keys: t.keys[l], values: t.values[l], positions: [next[s]])
                    try twins[s].append(layer: l, keys: t.keys[l], values: t.values[l], positions: [next[s]])
                    batch.append(.init(session: sessions[s], queries: t.queries[l], positions: [next[s]]))
                    queries.append(t.queries[l])
                }
                let results = await device.attend(batch, layer: l, options: exact)
                for (j, s) in members.enumerated() {
                    let out = try results[j].get()
                    let cpu = try twins[s].attend(layer: l, queries: queries[j], positions: [next[s]])
                    worst = max(worst, relativeError(out.storage, cpu.storage))
                }
            }
            for s in members { next[s] += 1 }
        }
        #expect(worst < 2e-3, "largest relative difference \(worst)")
        #expect(device.plansReused >= 6, "plans made again instead of kept: \(device.plansReused) reused")
    }

    /// A kept plan serves again as the heads gain pages: planned for a rounded count of pages
    /// (`DecodeCall.plannedPages`), it is made again only when the longest head passes that count,
    /// and its splits past a head's pages are empty. Pages of 4 tokens, two sessions of 600 and
    /// 590 tokens, 24 decode steps (601-624 tokens in the longer: 151-156 pages). Planned pages
    /// are multiples of 4 there (150-156 have 8 bits), so the 152 of steps 1-8 and the 156 of
    /// steps 9-24: with two lanes taken in turn, layer 0's calls on one and layer 1's on the other,
    /// each lane makes two plans, and 44 of the 48 calls run on kept plans (a plan per page would
    /// leave 36). Every output matches the CPU.
    @Test func keptPlansServeAsHeadsGainPages() async throws {
        let context = try #require(SharedContext.context)
        let model = sessionModel()
        let devicePool = try PagePool(.init(budgetBytes: 1 << 24, headDim: 64, pageSize: 4, slotsPerChunk: 8, banks: 1, bankBytes: 1 << 22))
        let hostPool = try PagePool(.init(budgetBytes: 1 << 24, headDim: 64, pageSize: 4, slotsPerChunk: 8))
        let device = try VulkanSessionPool(context: context, pool: devicePool, callsInFlight: 2)
        var inputs = [SessionInputs(model, seed: 410), SessionInputs(model, seed: 411)]
        var pairs: [(session: CacheSession, twin: CacheSession)] = []
        var next = [600, 590]
        for s in 0..<2 { pairs.append(try prefilledTwins(model, device: devicePool, host: hostPool, inputs: &inputs[s], tokens: next[s])) }
        var worst: Float = 0
        for _ in 0..<24 {
            for l in 0..<model.layerCount {
                var batch: [CacheSession.AttendRequest] = [], queries: [HeadTensor<Float>] = []
                for s in 0..<2 {
                    let t = inputs[s].token()
                    try pairs[s].session.append(layer: l, keys: t.keys[l], values: t.values[l], positions: [next[s]])
                    try pairs[s].twin.append(layer: l, keys: t.keys[l], values: t.values[l], positions: [next[s]])
                    batch.append(.init(session: pairs[s].session, queries: t.queries[l], positions: [next[s]]))
                    queries.append(t.queries[l])
                }
                let results = await device.attend(batch, layer: l, options: exact)
                for s in 0..<2 {
                    let cpu = try pairs[s].twin.attend(layer: l, queries: queries[s], positions: [next[s]])
                    worst = max(worst, relativeError(try results[s].get().storage, cpu.storage))
                }
            }
            for s in 0..<2 { next[s] += 1 }
        }
        #expect(worst < 2e-3, "largest relative difference \(worst)")
        #expect(device.plansReused == 44, "\(device.plansReused) of 48 calls on kept plans")
    }

    /// The fence waiter's thread keeps no device alive: the device is destroyed when the last
    /// owner lets go, on that owner's thread, not later on the waiter's thread while the process
    /// may be exiting. (The earlier waiter held the device until its thread woke; here the pool's
    /// own teardown usually outlasts that wake-up, so this checks the outcome, not the race.)
    @Test func aDevicePoolLetGoOfDestroysItsDeviceAtOnce() async throws {
        let model = sessionModel()
        let (devicePool, _) = try pools()
        var device: VulkanSessionPool? = try VulkanSessionPool(context: try VulkanContext(), pool: devicePool)
        weak let released = device?.context
        var inputs = SessionInputs(model, seed: 7)
        let session = try CacheSession(pool: devicePool, model: model, policy: DenseSessionPolicy())
        try session.prefill(inputs.prompt(tokens: 40))
        let token = inputs.token()
        try session.append(layer: 0, keys: token.keys[0], values: token.values[0], positions: [40])
        for r in await device!.attend([.init(session: session, queries: token.queries[0], positions: [40])], layer: 0) { _ = try r.get() }
        session.close()
        #expect(released != nil)
        device = nil
        #expect(released == nil)
    }

    /// Device staging (the default) where the device cannot allocate it (a full host-visible
    /// device-local heap, injected): the pool stages in host memory instead, from its first
    /// staging buffer and when a prompt's backlog grows it, and attends as the CPU does.
    @Test func deviceStagingFallsBackToHostMemory() async throws {
        let context = try VulkanContext() // its own: the refusal stays with it
        context.refuseUploadMemory()
        let model = sessionModel()
        let (devicePool, hostPool) = try pools()
        let device = try VulkanSessionPool(context: context, pool: devicePool)
        #expect(device.lanes.allSatisfy { $0.frame.stagingLocation == .host })
        var inputs = SessionInputs(model, seed: 9)
        let (session, twin) = try prefilledTwins(model, device: devicePool, host: hostPool, inputs: &inputs, tokens: 40)
        let token = inputs.token()
        for l in 0..<2 {
            try session.append(layer: l, keys: token.keys[l], values: token.values[l], positions: [40])
            try twin.append(layer: l, keys: token.keys[l], values: token.values[l], positions: [40])
            let r = await device.attend([.init(session: session, queries: token.queries[l], positions: [40])], layer: l, options: exact)
            let expected = try twin.attend(layer: l, queries: token.queries[l], positions: [40])
            #expect(relativeError(try r[0].get().storage, expected.storage) < 2e-4)
        }
        // A grown staging buffer (`reserve`) takes host memory too.
        let frame = device.lanes[0].frame
        try frame.reserve(staging: 4 << 20, readback: 16)
        #expect(frame.stagingLocation == .host && frame.staging.size >= 4 << 20)
        session.close()
    }

    /// A fork shares the prompt's pages; after both diverge, each still matches the CPU. Also
    /// with chained submissions (the backlog's copy-only ones in the chain too).
    @Test(arguments: [false, true])
    func forksMatchTheCPUAfterDiverging(chained: Bool) async throws {
        let context = try #require(SharedContext.context)
        let model = sessionModel()
        let (devicePool, hostPool) = try pools()
        let device = try VulkanSessionPool(context: context, pool: devicePool, tableEntriesPerBank: nil, staging: .device, callsInFlight: 2,
                                           queues: 1, chained: chained)
        device.stagingChunk = 4096 // the prompt's pages go in as a backlog of small copy-only submissions
        var inputs = SessionInputs(model, seed: 5)
        let prompt = inputs.prompt(tokens: 40)
        let parent = try CacheSession(pool: devicePool, model: model), twin = try CacheSession(pool: hostPool, model: model)
        try parent.prefill(prompt)
        try twin.prefill(prompt)
        let child = try parent.fork(), childTwin = try twin.fork()
        for step in 0..<3 {
            let a = inputs.token(), b = inputs.token()
            for l in 0..<2 {
                try parent.append(layer: l, keys: a.keys[l], values: a.values[l], positions: [40 + step])
                try twin.append(layer: l, keys: a.keys[l], values: a.values[l], positions: [40 + step])
                try child.append(layer: l, keys: b.keys[l], values: b.values[l], positions: [40 + step])
                try childTwin.append(layer: l, keys: b.keys[l], values: b.values[l], positions: [40 + step])
                let r = await device.attend([.init(session: parent, queries: a.queries[l], positions: [40 + step]),
                                             .init(session: child, queries: b.queries[l], positions: [40 + step])], layer: l, options: exact)
                let p = try twin.attend(layer: l, queries: a.queries[l], positions: [40 + step])
                let c = try childTwin.attend(layer: l, queries: b.queries[l], positions: [40 + step])
                #expect(relativeError(try r[0].get().storage, p.storage) < 2e-4)
                #expect(relativeError(try r[1].get().storage, c.storage) < 2e-4)
            }
        }
    }

    /// Many tasks create, fork, append, device-attend and close sessions on one device pool at
    /// once: every device output matches the CPU attend over the same pages, and every page
    /// comes back.
    @Test func concurrentTasksShareOneDevicePool() async throws {
        let context = try #require(SharedContext.context)
        let model = sessionModel()
        let (devicePool, _) = try pools()
        let device = try VulkanSessionPool(context: context, pool: devicePool)
        let worst = try await withThrowingTaskGroup(of: Float.self) { group in
            for task in 0..<8 {
                group.addTask {
                    var inputs = SessionInputs(model, seed: 1000 + UInt64(task))
                    var worst: Float = 0
                    for round in 0..<3 {
                        let session = try CacheSession(pool: devicePool, model: model, policy: try policy(round == 1 ? "paged(keep=0.5,block=4)" : "dense"))
                        try session.prefill(inputs.prompt(tokens: 24 + 8 * task))
                        let other = round == 2 ? try session.fork() : nil
                        for step in 0..<3 {
                            let t = inputs.token(), position = 24 + 8 * task + step
                            for l in 0..<2 {
                                try session.append(layer: l, keys: t.keys[l], values: t.values[l], positions: [position])
                                let r = await device.attend([.init(session: session, queries: t.queries[l], positions: [position])],
                                                            layer: l, runPolicy: false, options: exact)
                                let cpu = try session.attend(layer: l, queries: t.queries[l], positions: [position], runPolicy: false)
                                worst = max(worst, relativeError(try r[0].get().storage, cpu.storage))
                            }
                        }
                        other?.close()
                        session.close()
                    }
                    return worst
                }
            }
            return try await group.reduce(0) { max($0, $1) }
        }
        #expect(worst < 2e-4)
        #expect(devicePool.statistics.pagesInUse == 0 && devicePool.statistics.sessions == 0)
        #expect(device.tableEntriesInUse.allSatisfy { $0 == 0 }, "closed sessions give their table regions back")
    }

    /// A sliding-window layer and queries before the last kept key decode masked, as the CPU does.
    @Test func masksByPositionAndWindow() async throws {
        let context = try #require(SharedContext.context)
        let model = sessionModel(window: 24)
        let (devicePool, hostPool) = try pools()
        let device = try VulkanSessionPool(context: context, pool: devicePool)
        var inputs = SessionInputs(model, seed: 9)
        let (session, twin) = try prefilledTwins(model, device: devicePool, host: hostPool, inputs: &inputs, tokens: 70)
        let t = inputs.token()
        for (l, position) in [(1, 69), (0, 50), (1, 41)] {
            let r = await device.attend([.init(session: session, queries: t.queries[l], positions: [position])], layer: l, options: exact)
            let cpu = try twin.attend(layer: l, queries: t.queries[l], positions: [position])
            #expect(relativeError(try r[0].get().storage, cpu.storage) < 2e-4, "layer \(l) at \(position)")
        }
    }

    /// Bad requests fail alone with typed errors; the others in the batch are answered.
    @Test func badRequestsFailAloneWithTypedErrors() async throws {
        let context = try #require(SharedContext.context)
        let model = sessionModel()
        let (devicePool, _) = try pools()
        let device = try VulkanSessionPool(context: context, pool: devicePool)
        var inputs = SessionInputs(model, seed: 11)
        let good = try CacheSession(pool: devicePool, model: model), closed = try CacheSession(pool: devicePool, model: model)
        try good.prefill(inputs.prompt(tokens: 20))
        try closed.prefill(inputs.prompt(tokens: 20))
        closed.close()
        let q = inputs.token().queries[0]
        var bad = q.storage
        bad[3] = .nan
        let nan = try HeadTensor(heads: 8, tokens: 1, headDim: 64, storage: bad)
        let otherPool = try PagePool(.init(budgetBytes: 1 << 20, headDim: 64, bankBytes: 1 << 20))
        let foreign = try CacheSession(pool: otherPool, model: model)
        let batch: [CacheSession.AttendRequest] = [
            .init(session: good, queries: q, positions: [20]),
            .init(session: good, queries: q, positions: [20]),
            .init(session: closed, queries: q, positions: [20]),
            .init(session: foreign, queries: q, positions: [20]),
            .init(session: good, queries: nan, positions: [20]),
            .init(session: good, queries: try HeadTensor(zeros: 8, 1, 32), positions: [20]),
            .init(session: good, queries: try HeadTensor(zeros: 8, 2, 64), positions: [20, 21]),
        ]
        let r = await device.attend(batch, layer: 0)
        #expect(throws: Never.self) { try r[0].get() }
        #expect(r[1].failureValue == .session(.repeatedInBatch))
        #expect(r[2].failureValue == .session(.closed))
        if case .device(.unsupported) = r[3].failureValue {} else { Issue.record("foreign pool: \(String(describing: r[3].failureValue))") }
        if case .session(.nonFinite) = r[4].failureValue {} else { Issue.record("NaN: \(String(describing: r[4].failureValue))") }
        if case .session(.wrongShape) = r[5].failureValue {} else { Issue.record("head dim: \(String(describing: r[5].failureValue))") }
        if case .device(.unsupported) = r[6].failureValue {} else { Issue.record("two tokens: \(String(describing: r[6].failureValue))") }
        let outOfRange = await device.attend([.init(session: good, queries: q, positions: [20])], layer: 5)
        #expect(outOfRange[0].failureValue == .session(.layerOutOfRange(layer: 5, layers: 2)))
    }

    /// While a device read is in flight the session refuses changes (`busy`), and a close then
    /// gives the pages back only when the read ends.
    @Test func readsInFlightHoldThePages() throws {
        let model = sessionModel()
        let (pool, _) = try pools()
        var inputs = SessionInputs(model, seed: 13)
        let session = try CacheSession(pool: pool, model: model)
        try session.prefill(inputs.prompt(tokens: 20))
        let read = try session.beginDeviceRead(layer: 0)
        let t = inputs.token()
        #expect(throws: SessionError.busy) { try session.append(layer: 0, keys: t.keys[0], values: t.values[0], positions: [20]) }
        let pages = pool.statistics.pagesInUse
        session.close()
        #expect(pool.statistics.pagesInUse == pages)
        session.endDeviceRead(read, failed: false)
        #expect(pool.statistics.pagesInUse == 0)
        #expect(pool.statistics.sessions == 0)
    }

    /// A device lost mid-call fails every request with `deviceLost` and leaves the sessions as
    /// they were (the CPU attend still answers; the tables are rewritten on a new device pool).
    @Test func deviceLostLeavesSessionsAsBefore() async throws {
        let context = try VulkanContext()
        let model = sessionModel()
        let (devicePool, hostPool) = try pools()
        let device = try VulkanSessionPool(context: context, pool: devicePool)
        var inputs = SessionInputs(model, seed: 17)
        let prompt = inputs.prompt(tokens: 30)
        let session = try CacheSession(pool: devicePool, model: model, policy: try policy("paged(keep=0.5,block=4)"))
        let twin = try CacheSession(pool: hostPool, model: model, policy: try policy("paged(keep=0.5,block=4)"))
        try session.prefill(prompt)
        try twin.prefill(prompt)
        let before = (try session.tokenCounts(layer: 0), session.byteCount)
        let t = inputs.token()
        context.injectWaitResult(VK_ERROR_DEVICE_LOST)
        let r = await device.attend([.init(session: session, queries: t.queries[0], positions: [30])], layer: 0)
        #expect(r[0].failureValue == .device(.deviceLost))
        #expect(try session.tokenCounts(layer: 0) == before.0)
        #expect(session.byteCount == before.1)
        let again = await device.attend([.init(session: session, queries: t.queries[0], positions: [30])], layer: 0)
        #expect(again[0].failureValue == .device(.deviceLost))
        // The session still works: appends, and the CPU attend matches its twin's.
        try session.append(layer: 0, keys: t.keys[0], values: t.values[0], positions: [30])
        try twin.append(layer: 0, keys: t.keys[0], values: t.values[0], positions: [30])
        let a = try session.attend(layer: 0, queries: t.queries[0], positions: [30])
        let b = try twin.attend(layer: 0, queries: t.queries[0], positions: [30])
        #expect(a.storage == b.storage)
    }

    /// A device lost while calls of several groups are in flight: the call whose fence reports it
    /// fails with `deviceLost`, every later call too, and every session is left as it was before
    /// its failed call: the CPU attend over its pages still matches its twin's.
    @Test func deviceLostWithCallsInFlight() async throws {
        let context = try VulkanContext() // its own: the injected loss stays with it
        let model = sessionModel()
        let (devicePool, hostPool) = try pools()
        let device = try VulkanSessionPool(context: context, pool: devicePool, callsInFlight: 2)
        var inputs = SessionInputs(model, seed: 23)
        var pairs: [(session: CacheSession, twin: CacheSession)] = []
        for _ in 0..<4 { pairs.append(try prefilledTwins(model, device: devicePool, host: hostPool, inputs: &inputs, tokens: 30)) }
        let tokens = (0..<3).map { _ in inputs.token() }
        // Three steps of both layers, two groups of two sessions in their own tasks; the loss is
        // injected once the second group has attended layer 0 of the first step.
        let failures = try await withThrowingTaskGroup(of: Int.self) { group in
            for g in 0..<2 {
                let members = Array(pairs[2 * g..<2 * g + 2])
                group.addTask {
                    var lostCalls = 0
                    for step in 0..<3 {
                        for l in 0..<2 {
                            let t = tokens[step], position = 30 + step
                            for p in members {
                                try p.session.append(layer: l, keys: t.keys[l], values: t.values[l], positions: [position])
                            }
                            let r = await device.attend(members.map { .init(session: $0.session, queries: t.queries[l], positions: [position]) },
                                                        layer: l, options: exact)
                            if r.allSatisfy({ $0.failureValue == .device(.deviceLost) }) { lostCalls += 1 } else {
                                for x in r { _ = try x.get() }
                            }
                            if step == 0, l == 0, g == 1 { context.injectWaitResult(VK_ERROR_DEVICE_LOST) }
                        }
                    }
                    return lostCalls
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(failures >= 1, "no call reported the loss")
        let again = await device.attend([.init(session: pairs[0].session, queries: tokens[0].queries[0], positions: [40])], layer: 0)
        #expect(again[0].failureValue == .device(.deviceLost))
        // Each session holds what its own appends put there; the CPU attend over it matches a
        // twin given the same tokens.
        for (s, p) in pairs.enumerated() {
            for l in 0..<2 {
                let positions = try p.session.positions(layer: l)
                for step in 0..<3 where positions[0].contains(30 + step) {
                    if try !p.twin.positions(layer: l)[0].contains(30 + step) {
                        try p.twin.append(layer: l, keys: tokens[step].keys[l], values: tokens[step].values[l], positions: [30 + step])
                    }
                }
                #expect(try p.session.positions(layer: l) == p.twin.positions(layer: l), "session \(s) layer \(l)")
                let a = try p.session.attend(layer: l, queries: tokens[2].queries[l], positions: [40])
                let b = try p.twin.attend(layer: l, queries: tokens[2].queries[l], positions: [40])
                #expect(a.storage == b.storage, "session \(s) layer \(l)")
            }
        }
    }

    /// A pool the kernels cannot bind is refused before anything is allocated.
    @Test func refusesPoolsItCannotBind() throws {
        // A context of its own: other suites allocate on the shared one meanwhile.
        let context = try VulkanContext()
        let before = context.live.snapshot
        let noBanks = try PagePool(.init(budgetBytes: 1 << 20, headDim: 64))
        #expect(throws: VulkanError.self) { try VulkanSessionPool(context: context, pool: noBanks) }
        let huge = try PagePool(.init(budgetBytes: 1 << 20, headDim: 64, bankBytes: context.capabilities.maxStorageBufferRange))
        #expect(throws: VulkanError.self) { try VulkanSessionPool(context: context, pool: huge) }
        let oddDim = try PagePool(.init(budgetBytes: 1 << 20, headDim: 48, bankBytes: 1 << 20))
        #expect(throws: VulkanError.self) { try VulkanSessionPool(context: context, pool: oddDim) }
        let fine = try PagePool(.init(budgetBytes: 1 << 20, headDim: 64, bankBytes: 1 << 20))
        for calls in [0, 9] {
            #expect(throws: VulkanError.unsupported("\(calls) calls in flight (1 to 8 are)")) {
                try VulkanSessionPool(context: context, pool: fine, callsInFlight: calls)
            }
        }
        for queues in [0, context.queueCount + 1] {
            #expect(throws: VulkanError.unsupported("\(queues) queues (the device was opened with \(context.queueCount) compute queue(s))")) {
                try VulkanSessionPool(context: context, pool: fine, queues: queues)
            }
        }
        #expect(context.live.snapshot == before)
    }
}

extension Result {
    fileprivate var failureValue: Failure? {
        if case .failure(let e) = self { return e }
        return nil
    }
}
