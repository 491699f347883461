import ArgumentParser
import Dispatch
import Foundation
import KVPack
import KVPackPolicies
import KVPackVulkan
import Synchronization

extension Bench {
    struct Session: ParsableCommand {
        /// `--check`'s bound on an output vector's relative L2 error (device against CPU).
        static let checkTolerance = 2e-2
        static let configuration = CommandConfiguration(
            abstract: "Decode steps of concurrent live sessions on one page pool.",
            discussion: """
                For each policy and session count S: S sessions on one page pool prefill N tokens of
                every layer (Llama-3-8B layer shapes by default: 32 query heads over 8 KV heads, head
                dim 128) through the policy, then M decode steps each append one token to every
                layer of every session and attend it, one batched attend per layer. Reports decode
                steps per second, step latency (p50, p99), host time per step, and the pool's bytes
                against the dense f16 cache. The K/V are random (one prompt tensor reused by every
                layer and session); only the shapes matter for the timing.
                  kvpack bench session --sessions 1 8 --tokens 4096 --layers 4 --policy dense --policy "snapkv(keep=0.25)"
                """)

        @Option(parsing: .upToNextOption, help: "Concurrent sessions (one decode token each per step).") var sessions: [Int] = [1, 8]
        @Option(help: "Prompt tokens per session.") var tokens = 4096
        @Option(help: "Layers per session.") var layers = 4
        @Option(help: "Decode steps timed.") var steps = 8
        @Option(help: "Decode steps run before the timed ones, not timed (with --free-running-groups, free-running too, and every group's finished before any group times a step).") var warmupSteps = 1
        @Option(help: "Policy specs (repeat); default: dense, snapkv(keep=0.25), quant(bits=8).") var policy: [String] = []
        @Option(name: .customLong("query-heads")) var queryHeads = 32
        @Option(name: .customLong("kv-heads")) var kvHeads = 8
        @Option(name: .customLong("head-dim")) var headDim = 128
        @Option(name: .customLong("page-size")) var pageSize = 16
        @Option(help: "Observation-window queries given at prefill.") var window = 32
        @Option(help: "Backend: cpu, or vulkan (the pool's banks on the device, one submission per layer).") var backend = "cpu"
        @Option(help: "Vulkan: bytes per pool bank (default: the device's maxStorageBufferRange less 64 KiB).") var bankBytes: Int?
        @Option(help: "Vulkan: pool banks (default: as many as the device's memory, less a tenth, holds). Each session's layers lie in banks in turn from one of its own, and a batched attend runs one decode per bank its sessions' layer lies in.") var banks: Int?
        @Option(name: .customLong("sessions-per-bank-group"), help: "Sessions opened one after another that keep each layer in the same bank (PagePool.Configuration.sessionsPerBankGroup; default 1: each session starts at a bank of its own).") var sessionsPerBankGroup = 1
        @Flag(help: "Append each layer's tokens session after session on one thread (default: sessions in parallel).") var serialAppends = false
        @Option(help: "Vulkan: microseconds the pool's waiting thread polls a submission's fence before blocking on it (default: the pool's, 2000 on GPUs, 0 on CPU devices).")
        var fenceSpinMicroseconds: Int?
        @Option(help: "Vulkan: where a call's uploads are staged: device (device-local, host-visible memory where the device has it; the default) or host.")
        var staging = "device"
        @Option(parsing: .upToNextOption, help: "Vulkan: split the sessions into this many groups, each stepping through the layers in its own task, so that one group's host work (appends, page tables, staging) runs while the device attends another's (default 1: one batched attend per layer). Several counts: each runs its steps on the same prefilled sessions, in turn, --rounds times.")
        var microbatches: [Int] = [1]
        @Option(help: "Runs of the --microbatches counts, in turn, over the same prefilled sessions (a row each).") var rounds = 1
        @Flag(help: "Vulkan, with more than one group (--microbatches): each group runs all its steps on its own instead of waiting at every step for the others (session groups decoding independently, as a server's do), so one group's host work overlaps the others' device work across steps too. Step times are then each group's own steps (p50 / p99 over all of them) and steps/s is per group: every group advances a token a step.")
        var freeRunningGroups = false
        @Option(help: "Vulkan: attends the device pool has on the device at once (VulkanSessionPool callsInFlight; default 2).")
        var callsInFlight = 2
        @Option(help: "Vulkan: compute queues the device pool spreads its calls over (VulkanSessionPool queues; default 1): with more, the device may run one call's decodes beside another's.")
        var queues = 1
        @Flag(help: "Vulkan, for comparison: the device pool's calls read, plan, stage, record and submit one at a time (VulkanSessionPool.callsOneAtATime), as before they planned beside each other.")
        var callsOneAtATime = false
        @Option(help: "Vulkan: workgroups the decode's automatic split-K aims for (DecodeOptions.targetWorkgroups; default 256).")
        var targetWorkgroups: Int?
        @Option(help: "Vulkan decode kernel: automatic (one pass per encoding class where every head's pages run class by class) or mixed (one kernel over every class).") var kernel = "automatic"
        @Flag(help: "Reserve f16 pages for the timed steps after the prefill (PagePool.reserve, as a server reserves its pool at start): in every bank, one page per session layer and head every --page-size steps, plus one, for as many session layers as the fullest bank holds.") var reserve = false
        @Flag(help: "Vulkan: add the last step's timeline to each row (per group and layer: appends, the attend call and its parts, in microseconds from the step's start; with --free-running-groups, from the first append of the groups' last steps).") var trace = false
        @Flag(help: "Vulkan: after the timed steps, one more step of every group at once (the most --microbatches groups, free-running or not) whose device outputs are compared with the CPU attend over the same pages (no policy stage acting in between); the last row says the largest relative L2 error of an output vector, and the command exits 1 where it is over 2e-2 or not finite.") var check = false
        @Flag(help: "Print JSON.") var json = false
        @Option(help: "Also write the JSON to this file.") var out: String?

        func validate() throws {
            for (name, v) in [("--tokens", tokens), ("--layers", layers), ("--steps", steps), ("--warmup-steps", warmupSteps), ("--query-heads", queryHeads),
                              ("--kv-heads", kvHeads), ("--head-dim", headDim), ("--page-size", pageSize)] where v <= 0 {
                throw ValidationError("\(name) must be positive; got \(v)")
            }
            if sessions.isEmpty || sessions.contains(where: { $0 <= 0 }) { throw ValidationError("--sessions must be positive counts") }
            if queryHeads % kvHeads != 0 { throw ValidationError("--query-heads must be a multiple of --kv-heads") }
            if !(0...tokens).contains(window) { throw ValidationError("--window must be in 0...--tokens") }
            if backend != "cpu" && backend != "vulkan" { throw ValidationError("--backend must be cpu or vulkan; got \(backend)") }
            if let b = bankBytes, b <= 0 { throw ValidationError("--bank-bytes must be positive") }
            if kernel != "automatic" && kernel != "mixed" { throw ValidationError("--kernel must be automatic or mixed; got \(kernel)") }
            if VulkanSessionPool.StagingMemory(rawValue: staging) == nil { throw ValidationError("--staging must be host or device; got \(staging)") }
            if let us = fenceSpinMicroseconds, us < 0 { throw ValidationError("--fence-spin-microseconds must be 0 or more") }
            if let n = banks, n < 1 { throw ValidationError("--banks must be at least 1") }
            if sessionsPerBankGroup < 1 { throw ValidationError("--sessions-per-bank-group must be at least 1") }
            if microbatches.isEmpty || microbatches.contains(where: { $0 < 1 }) { throw ValidationError("--microbatches must be 1 or more") }
            if rounds < 1 { throw ValidationError("--rounds must be 1 or more; got \(rounds)") }
            if let t = targetWorkgroups, t < 1 { throw ValidationError("--target-workgroups must be 1 or more; got \(t)") }
            if freeRunningGroups && backend != "vulkan" { throw ValidationError("--free-running-groups needs --backend vulkan") }
            if !(1...8).contains(callsInFlight) { throw ValidationError("--calls-in-flight must be 1 to 8; got \(callsInFlight)") }
            if !(1...VulkanContext.maxQueues).contains(queues) { throw ValidationError("--queues must be 1 to \(VulkanContext.maxQueues); got \(queues)") }
            if queues > 1 && backend != "vulkan" { throw ValidationError("--queues needs --backend vulkan") }
            if callsOneAtATime && backend != "vulkan" { throw ValidationError("--calls-one-at-a-time needs --backend vulkan") }
            if check && backend != "vulkan" { throw ValidationError("--check needs --backend vulkan (it compares the device's outputs with the CPU's)") }
            if let least = sessions.min(), let most = microbatches.max(), most > least {
                throw ValidationError("--microbatches (\(most)) must not exceed --sessions (\(least))")
            }
        }

        func run() throws {
            try failing {
                let specs = policy.isEmpty ? ["dense", "snapkv(keep=0.25)", "quant(bits=8)"] : policy
                let pipelines = try specs.map { try PolicyPipeline(parsing: $0) }
                let model = try ModelFacts(name: "bench", queryHeads: queryHeads, kvHeads: kvHeads, headDim: headDim,
                                           layerKinds: Array(repeating: .global, count: layers))
                var rng = BenchRandom(seed: 11)
                let keys = try HeadTensor(heads: kvHeads, tokens: tokens, headDim: headDim, storage: rng.halves(kvHeads * tokens * headDim))
                let values = try HeadTensor(heads: kvHeads, tokens: tokens, headDim: headDim, storage: rng.halves(kvHeads * tokens * headDim))
                let windowQueries = window > 0
                    ? try HeadTensor(heads: queryHeads, tokens: window, headDim: headDim, storage: rng.halves(queryHeads * window * headDim)) : nil
                let prompt = SessionPrompt(positions: Array(0..<tokens), layers: Array(
                    repeating: .init(keys: keys, values: values, windowQueries: windowQueries), count: layers))
                let stepKeys = try (0..<warmupSteps + steps).map { _ in
                    try HeadTensor(heads: kvHeads, tokens: 1, headDim: headDim, storage: rng.halves(kvHeads * headDim))
                }
                let stepValues = try (0..<warmupSteps + steps).map { _ in
                    try HeadTensor(heads: kvHeads, tokens: 1, headDim: headDim, storage: rng.halves(kvHeads * headDim))
                }
                let stepQueries = try (0..<warmupSteps + steps).map { _ in
                    try HeadTensor(heads: queryHeads, tokens: 1, headDim: headDim, storage: rng.halves(queryHeads * headDim)).floats()
                }
                var rows: [Row] = []
                let context = backend == "vulkan" ? try VulkanContext() : nil
                for (spec, pipeline) in zip(specs, pipelines) {
                    for s in sessions {
                        if !json { FileHandle.standardError.write(Data("bench session: \(spec), \(s) session(s)...\n".utf8)) }
                        rows.append(contentsOf: try measure(pipeline, spec: spec, sessions: s, model: model, prompt: prompt, context: context,
                                                stepKeys: stepKeys, stepValues: stepValues, stepQueries: stepQueries))
                    }
                }
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                let data = try encoder.encode(rows)
                if let out { try data.write(to: URL(fileURLWithPath: out), options: .atomic) }
                let checked = rows.compactMap(\.checkWorstRelativeL2)
                if json {
                    print(String(decoding: data, as: UTF8.self))
                } else {
                    print("live sessions (\(backend)), \(layers) layers of \(queryHeads) query heads over \(kvHeads) KV heads, head dim \(headDim), \(tokens) prompt tokens, \(steps) decode steps")
                    let width = max(6, rows.map(\.policy.count).max() ?? 0)
                    if let d = rows.first?.device { print("  device: \(d)") }
                    print("  " + "policy".padding(toLength: width, withPad: " ", startingAt: 0)
                          + "     S  mb   prefill s   steps/s   p50 ms   p99 ms   host ms  kernel ms  busy ms    pool MB   dense MB   ratio")
                    for r in rows {
                        print("  " + r.policy.padding(toLength: width, withPad: " ", startingAt: 0) + String(
                            format: "  %4d  %2d   %9.2f   %7.2f   %6.2f   %6.2f   %7.3f   %8.3f  %7.3f   %8.1f   %8.1f   %.3f", r.sessions, r.microbatches ?? 1,
                                     r.prefillSeconds, r.stepsPerSecond, r.p50StepSeconds * 1e3, r.p99StepSeconds * 1e3,
                                     r.hostSecondsPerStep * 1e3, (r.kernelSecondsPerStep ?? .nan) * 1e3, (r.deviceBusySecondsPerStep ?? .nan) * 1e3,
                                     Double(r.poolBytes) / 1e6, Double(r.denseBytes) / 1e6, Double(r.layoutBytes) / Double(r.denseBytes)))
                    }
                    for r in rows { if let e = r.checkWorstRelativeL2 { print("  check (\(r.policy)): device against CPU, largest relative L2 \(e)") } }
                }
                if checked.contains(where: { !($0 <= Self.checkTolerance) }) {
                    FileHandle.standardError.write(Data("bench session: a device output differs from the CPU's by more than \(Self.checkTolerance) (relative L2)\n".utf8))
                    throw ExitCode(1)
                }
            }
        }

        private func measure(_ pipeline: PolicyPipeline, spec: String, sessions count: Int, model: ModelFacts, prompt: SessionPrompt,
                             context: VulkanContext?, stepKeys: [HeadTensor<Float16>], stepValues: [HeadTensor<Float16>],
                             stepQueries: [HeadTensor<Float>]) throws -> [Row] {
            var budget = Int(Double(ProcessInfo.processInfo.physicalMemory) * 0.75)
            var banks = 1, bank: Int? = nil
            if let context {
                // Banks of at most one binding each, as many as the device's memory (less a tenth) holds.
                let caps = context.capabilities
                let b = bankBytes ?? (caps.maxStorageBufferRange - (64 << 10))
                let device = caps.deviceLocalBytes > 0 ? caps.deviceLocalBytes * 9 / 10 : 8 << 30
                let fitting = max(1, min(device / (b + b / 1024 * 32), budget / b))
                if let asked = self.banks, asked > fitting {
                    throw ValidationError("--banks \(asked): the device's memory (less a tenth) and this machine's holds \(fitting) banks of \(b) bytes")
                }
                banks = self.banks ?? fitting
                budget = min(budget, banks * b * 15 / 16)
                bank = b
            }
            let pool = try PagePool(.init(budgetBytes: budget, headDim: headDim, pageSize: pageSize, name: "bench", banks: banks, bankBytes: bank,
                                          sessionsPerBankGroup: sessionsPerBankGroup))
            let stagingMemory = VulkanSessionPool.StagingMemory(rawValue: staging) ?? .device
            let devicePool = try context.map { try VulkanSessionPool(context: $0, pool: pool, staging: stagingMemory, callsInFlight: callsInFlight,
                                                                         queues: queues) }
            devicePool?.callsOneAtATime = callsOneAtATime
            if let devicePool, let us = fenceSpinMicroseconds { devicePool.fenceSpin = .microseconds(us) }
            let sessions = try (0..<count).map { _ in try CacheSession(pool: pool, model: model, policy: pipeline) }
            defer { for s in sessions { s.close() } }
            let errors = Mutex<[SessionError]>([])
            let t0 = DispatchTime.now().uptimeNanoseconds
            DispatchQueue.concurrentPerform(iterations: count) { i in
                do throws(SessionError) { try sessions[i].prefill(prompt) } catch { errors.withLock { $0.append(error) } }
            }
            let prefill = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            if let e = errors.withLock({ $0.first }) { throw e }
            if reserve {
                // Every timed step's new pages: per session layer and head, one each pageSize steps and
                // the open page's successor; as many session layers in each bank as in the fullest one
                // (sessions sharing their banks put a whole group's layer in one).
                let timed = (devicePool == nil ? 1 : rounds * microbatches.count) * (steps + warmupSteps)
                let pages = (timed + pageSize - 1) / pageSize + 1
                var layersInBank = [Int](repeating: 0, count: banks)
                for s in sessions { for b in s.banks { layersInBank[b] += 1 } }
                let layersPerBank = (layersInBank.max() ?? 0) + 1
                try pool.reserve(bytesPerBank: layersPerBank * kvHeads * pages * pool.slotBytes(.f16))
            }
            /// The sessions in `n` groups of (nearly) equal size, in order.
            func sessionGroups(_ n: Int) -> [[CacheSession]] { (0..<n).map { g in Array(sessions[(g * count / n)..<((g + 1) * count / n)]) } }
            var rows: [Row] = [], base = tokens
            for _ in 0..<(devicePool == nil ? 1 : rounds) {
                for mb in devicePool == nil ? [1] : microbatches {
                    rows.append(try timedSteps(microbatches: mb, from: base))
                    base += steps + warmupSteps
                }
            }
            if check, let devicePool, !rows.isEmpty {
                let groups = sessionGroups(microbatches.max() ?? 1)
                let (k, v, q, position) = (stepKeys[0], stepValues[0], stepQueries[0], base)
                rows[rows.count - 1].checkWorstRelativeL2 = try Self.blocking { () async -> Result<Double, Error> in
                    await Self.checkedStep(groups, layers: layers, keys: k, values: v, queries: q, position: position, devicePool: devicePool)
                }.get()
            }
            return rows

            /// `warmupSteps` + `steps` decode steps (the first `warmupSteps` not timed) from position
            /// `base`, the sessions in `microbatches` groups.
            func timedSteps(microbatches: Int, from base: Int) throws -> Row {
                var stepSeconds: [Double] = [], kernelSeconds: [Double] = [], deviceSeconds: [Double] = [], uploaded: [Double] = []
                var attendHost: [Double] = [], prepare: [Double] = [], record: [Double] = [], finish: [Double] = [], appends: [Double] = []
                var uploadDevice: [Double] = [], waitLatency: [Double] = []
                var deviceSpans: [(Double, Double)] = [], kernelSpans: [(Double, Double)] = []
                var kernels: Set<String> = []
                var lastEvents: [StepEvent]? = nil
                // Session groups (one unless --microbatches): each in its own task, layer after layer.
                let groups = sessionGroups(microbatches)
                let serial = serialAppends
                let options = {
                    var o = DecodeOptions(kernel: kernel == "mixed" ? .mixed : .automatic)
                    if let t = targetWorkgroups { o.targetWorkgroups = t }
                    return o
                }()
                // Per timed step (the warm-up steps create pipelines, the lanes' buffers and plans): every group's
                // timings, appends and events of that step; and the time a step takes.
                var perStep: [GroupStep] = []
                var totalSeconds = 0.0
                // One group has no others to run apart from: its steps are the plain ones.
                let freeRunning = freeRunningGroups && microbatches > 1
                var stepsByGroup: [[Double]] = [], appendsByGroup: [[Double]] = [], warmupByGroup: [[Double]] = []
                var before = Creations(context)
                if freeRunning {
                    // Every group's warm-up steps first, all finished before any group times a step
                    // (a group's first attend after the prefill, seconds long with pipelines created
                    // and whole page tables written, must not overlap another group's timed steps).
                    let (k, v, q) = (stepKeys, stepValues, stepQueries)
                    let run = { (range: ClosedRange<Int>) throws -> [[TimedGroupStep]] in
                        try Self.blocking { () async -> Result<[[TimedGroupStep]], Error> in
                            await Self.freeRunningSteps(groups, steps: range, layers: layers, serial: serial, keys: k, values: v, queries: q,
                                                        base: base, devicePool: devicePool, options: options)
                        }.get()
                    }
                    warmupByGroup = try run(0...warmupSteps - 1).map { $0.map(\.seconds) }
                    before = Creations(context)
                    // Then each group steps on its own; a step's entry gathers every group's step of that index.
                    let perGroup = try run(warmupSteps...warmupSteps + steps - 1)
                    for i in 0..<steps {
                        var all = GroupStep()
                        for g in perGroup {
                            all.add(g[i].step)
                            stepSeconds.append(g[i].seconds)
                        }
                        perStep.append(all)
                    }
                    stepsByGroup = perGroup.map { $0.map(\.seconds) }
                    appendsByGroup = perGroup.map { $0.map(\.step.appendSeconds) }
                    // Every group advances a token a step: the batch's step is a group's mean step.
                    totalSeconds = perGroup.reduce(0) { $0 + $1.reduce(0) { $0 + $1.seconds } } / Double(perGroup.count)
                } else {
                    for step in 0..<warmupSteps + steps {
                        let (k, v, q) = (stepKeys[step], stepValues[step], stepQueries[step])
                        let position = base + step
                        let start = ContinuousClock.now
                        // The step as a server runs it: appends, then each layer's batched attend awaited
                        // (one hop to the concurrency pool per step, not per layer).
                        let outcome = Self.blocking { () async -> Result<GroupStep, Error> in
                            await withTaskGroup(of: Result<GroupStep, Error>.self) { tasks in
                                for (g, group) in groups.enumerated() {
                                    tasks.addTask {
                                        await Self.stepLayers(group, index: g, layers: layers, serial: serial, keys: k, values: v, queries: q,
                                                              position: position, devicePool: devicePool, options: options, origin: start)
                                    }
                                }
                                var all = GroupStep()
                                for await r in tasks {
                                    switch r {
                                    case .success(let t): all.add(t)
                                    case .failure(let e): return .failure(e)
                                    }
                                }
                                return .success(all)
                            }
                        }
                        let stepOutcome = try outcome.get()
                        if step < warmupSteps {
                            warmupByGroup = [(warmupByGroup.first ?? []) + [(ContinuousClock.now - start).seconds]]
                            before = Creations(context)
                        } else {
                            perStep.append(stepOutcome)
                            stepSeconds.append((ContinuousClock.now - start).seconds)
                        }
                    }
                    totalSeconds = stepSeconds.reduce(0, +)
                    stepsByGroup = [stepSeconds]
                    appendsByGroup = [perStep.map(\.appendSeconds)]
                }
                let inSteps = devicePool == nil ? nil : Creations(context).since(before)
                // A step's timeline: microseconds from its start (free-running groups' steps start
                // apart: from the first append among them); device instants (seconds on its clock)
                // as microseconds from the step's first submission.
                func timeline(_ s: GroupStep) -> [StepEvent] {
                    let first = freeRunning ? s.events.map(\.appendStart).min() ?? 0 : 0
                    let deviceFirst = s.events.compactMap(\.deviceStart).min() ?? 0
                    let us = { (t: Double?) in t.map { ($0 - deviceFirst) * 1e6 } }
                    return s.events.map {
                        var e = $0.shifted(by: -first)
                        (e.deviceStart, e.kernelStart, e.kernelEnd, e.deviceEnd) = (us(e.deviceStart), us(e.kernelStart), us(e.kernelEnd), us(e.deviceEnd))
                        return e
                    }.sorted { ($0.callStart, $0.group) < ($1.callStart, $1.group) }
                }
                // The timed step (0-based) in which some group took longest.
                let longest = perStep.indices.map { i in stepsByGroup.map { $0[i] }.max() ?? 0 }
                let slowest = longest.indices.max { longest[$0] < longest[$1] }
                if trace, devicePool != nil, let last = perStep.last { lastEvents = timeline(last) }
                for s in perStep {
                    let timings = s.timings
                    if devicePool != nil, timings.allSatisfy({ $0 != nil }) {
                        kernelSeconds.append(timings.reduce(0) { $0 + $1!.decodeSeconds })
                        attendHost.append(timings.reduce(0) { $0 + $1!.hostSeconds })
                        prepare.append(timings.reduce(0) { $0 + $1!.prepareSeconds })
                        record.append(timings.reduce(0) { $0 + $1!.recordSeconds })
                        finish.append(timings.reduce(0) { $0 + $1!.finishSeconds })
                        uploadDevice.append(timings.reduce(0) { $0 + $1!.uploadSeconds })
                        waitLatency.append(timings.reduce(0) { $0 + $1!.waitSeconds - $1!.deviceSeconds })
                        deviceSeconds.append(timings.reduce(0) { $0 + $1!.deviceSeconds })
                        uploaded.append(timings.reduce(0) { $0 + Double($1!.uploadBytes) })
                        for t in timings { kernels.formUnion(t!.launches.map(\.kernel)) }
                        for case let c? in timings.map({ $0!.deviceClock }) {
                            deviceSpans.append((c[0], c[3]))
                            kernelSpans.append((c[1], c[2]))
                        }
                    }
                    appends.append(s.appendSeconds)
                }
                let sorted = stepSeconds.sorted()
                let median = sorted[sorted.count / 2]
                let p99 = sorted[min(sorted.count - 1, Int((Double(sorted.count) * 0.99).rounded(.up)) - 1)]
                let total = totalSeconds
                func mean(_ perStep: [Double]) -> Double? { perStep.count == steps ? perStep.reduce(0, +) / Double(steps) : nil }
                let n = Double(steps)
                let device = mean(deviceSeconds)
                return Row(backend: backend, policy: pipeline.description, sessions: count, layers: layers, tokens: tokens, steps: steps,
                           queryHeads: queryHeads, kvHeads: kvHeads, headDim: headDim, pageSize: pageSize, prefillSeconds: prefill,
                           stepsPerSecond: n / total, p50StepSeconds: median, p99StepSeconds: p99,
                           hostSecondsPerStep: total / n - (device ?? 0),
                           kernelSecondsPerStep: mean(kernelSeconds),
                           deviceSecondsPerStep: device,
                           deviceBusySecondsPerStep: deviceSpans.isEmpty || device == nil ? nil : Bench.Session.unionSeconds(deviceSpans) / n,
                           kernelBusySecondsPerStep: kernelSpans.isEmpty || device == nil ? nil : Bench.Session.unionSeconds(kernelSpans) / n,
                           pipelinesCreatedInSteps: inSteps?.pipelines,
                           buffersCreatedInSteps: inSteps?.buffers,
                           bufferCreationSecondsInSteps: inSteps?.bufferSeconds,
                           stepSecondsByGroup: trace ? stepsByGroup : nil, appendSecondsByGroup: trace ? appendsByGroup : nil,
                           warmupSecondsByGroup: trace ? warmupByGroup : nil,
                           attendHostSecondsPerStep: mean(attendHost), attendPrepareSecondsPerStep: mean(prepare),
                           attendRecordSecondsPerStep: mean(record), attendFinishSecondsPerStep: mean(finish),
                           attendUploadSecondsPerStep: mean(uploadDevice), attendWaitLatencySecondsPerStep: mean(waitLatency),
                           appendSecondsPerStep: mean(appends), serialAppends: serialAppends, reserved: reserve,
                           microbatches: devicePool == nil ? nil : microbatches,
                           freeRunningGroups: devicePool == nil ? nil : freeRunning,
                           callsInFlight: devicePool?.callsInFlight, queues: devicePool?.queues,
                           callsOneAtATime: devicePool?.callsOneAtATime, targetWorkgroups: devicePool == nil ? nil : options.targetWorkgroups,
                           trace: lastEvents,
                           slowestStep: trace && devicePool != nil ? slowest.map { $0 + 1 } : nil,
                           slowestStepTrace: trace && devicePool != nil ? slowest.map { timeline(perStep[$0]) } : nil,
                           uploadBytesPerStep: mean(uploaded),
                           staging: devicePool == nil ? nil : staging, stagingDeviceLocal: devicePool?.stagingIsDeviceLocal,
                           banks: devicePool == nil ? nil : pool.configuration.banks,
                           sessionsPerBankGroup: devicePool == nil ? nil : pool.configuration.sessionsPerBankGroup,
                           kernels: kernels.isEmpty ? nil : kernels.sorted(), device: context?.device.name,
                           poolBytes: pool.statistics.inUseBytes, layoutBytes: sessions.reduce(0) { $0 + $1.byteCount },
                           denseBytes: sessions.reduce(0) { $0 + $1.denseByteCount }, threads: ProcessInfo.processInfo.activeProcessorCount)
            }
        }
    }
}
