import Dispatch
import KVPack
import KVPackVulkan
import Synchronization

extension Bench.Session {
    /// What a device context has created so far (pipelines, buffers, the buffers' creation time;
    /// zeros without one), so that the timed steps' share can be counted.
    struct Creations {
        var pipelines = 0, buffers = 0, bufferSeconds = 0.0

        init(_ context: VulkanContext?) {
            guard let context else { return }
            (pipelines, buffers, bufferSeconds) = (context.pipelinesCreated, context.buffersCreated, context.bufferCreationSeconds)
        }

        /// What was created since `earlier`.
        func since(_ earlier: Creations) -> Creations {
            var d = self
            (d.pipelines, d.buffers, d.bufferSeconds) = (pipelines - earlier.pipelines, buffers - earlier.buffers, bufferSeconds - earlier.bufferSeconds)
            return d
        }
    }

    /// What a group's share of a step gives back: each device call's timing, the appends' time,
    /// and the timeline's events.
    struct GroupStep: Sendable {
        var timings: [SessionAttendTiming?] = []
        var appendSeconds = 0.0
        var events: [StepEvent] = []

        /// Adds another group's share of the same step.
        mutating func add(_ other: GroupStep) {
            timings += other.timings
            appendSeconds += other.appendSeconds
            events += other.events
        }
    }

    /// A group's step and how long it took.
    struct TimedGroupStep: Sendable {
        var seconds: Double
        var step: GroupStep
    }

    /// Steps `steps` (position `base + step`, inputs `keys[step]`...) of every group, each group in
    /// its own task stepping on without waiting for the others (`--free-running-groups`). Per group,
    /// its steps in order; events are timed from one instant common to all groups.
    static func freeRunningSteps(_ groups: [[CacheSession]], steps: ClosedRange<Int>, layers: Int, serial: Bool, keys: [HeadTensor<Float16>],
                                 values: [HeadTensor<Float16>], queries: [HeadTensor<Float>], base: Int, devicePool: VulkanSessionPool?,
                                 options: DecodeOptions) async -> Result<[[TimedGroupStep]], Error> {
        let origin = ContinuousClock.now
        return await withTaskGroup(of: (Int, Result<[TimedGroupStep], Error>).self) { tasks in
            for (g, group) in groups.enumerated() {
                tasks.addTask {
                    var out: [TimedGroupStep] = []
                    for step in steps {
                        let start = ContinuousClock.now
                        switch await stepLayers(group, index: g, layers: layers, serial: serial, keys: keys[step], values: values[step],
                                                queries: queries[step], position: base + step, devicePool: devicePool, options: options,
                                                origin: origin) {
                        case .success(let s):
                            out.append(TimedGroupStep(seconds: (ContinuousClock.now - start).seconds, step: s))
                        case .failure(let e): return (g, .failure(e))
                        }
                    }
                    return (g, .success(out))
                }
            }
            var byGroup = [[TimedGroupStep]](repeating: [], count: groups.count)
            for await (g, r) in tasks {
                switch r {
                case .success(let steps): byGroup[g] = steps
                case .failure(let e): return .failure(e)
                }
            }
            return .success(byGroup)
        }
    }

    /// One group's share of a step: each layer's appends (on this thread, or over the cores),
    /// then its batched attend (on the device pool, or the CPU's).
    static func stepLayers(_ sessions: [CacheSession], index: Int, layers: Int, serial: Bool, keys k: HeadTensor<Float16>,
                           values v: HeadTensor<Float16>, queries q: HeadTensor<Float>, position: Int, devicePool: VulkanSessionPool?,
                           options: DecodeOptions, origin: ContinuousClock.Instant) async -> Result<GroupStep, Error> {
        var out = GroupStep()
        func us(_ t: ContinuousClock.Instant) -> Double { (t - origin).seconds * 1e6 }
        for l in 0..<layers {
            let failures = Mutex<[SessionError]>([])
            let appendStart = ContinuousClock.now
            if serial {
                for s in sessions {
                    do throws(SessionError) { try s.append(layer: l, keys: k, values: v, positions: [position]) } catch { return .failure(error) }
                }
            } else {
                DispatchQueue.concurrentPerform(iterations: sessions.count) { i in
                    do throws(SessionError) {
                        try sessions[i].append(layer: l, keys: k, values: v, positions: [position])
                    } catch {
                        failures.withLock { $0.append(error) }
                    }
                }
            }
            let appendEnd = ContinuousClock.now
            out.appendSeconds += (appendEnd - appendStart).seconds
            if let e = failures.withLock({ $0.first }) { return .failure(e) }
            let batch: [CacheSession.AttendRequest] = sessions.map { .init(session: $0, queries: q, positions: [position]) }
            if let devicePool {
                let callStart = ContinuousClock.now
                let (results, timing) = await devicePool.attendTimed(batch, layer: l, options: options)
                let callEnd = ContinuousClock.now
                for r in results { if case .failure(let e) = r { return .failure(e) } }
                out.timings.append(timing)
                var event = StepEvent(group: index, layer: l, appendStart: us(appendStart), appendEnd: us(appendEnd),
                                      callStart: us(callStart), callEnd: us(callEnd))
                if let t = timing {
                    event.prepare = t.prepareSeconds * 1e6
                    event.read = t.readSeconds * 1e6
                    event.plansMade = t.plansMade
                    event.planning = t.planningSeconds * 1e6
                    event.record = t.recordSeconds * 1e6
                    event.wait = t.waitSeconds * 1e6
                    event.finish = t.finishSeconds * 1e6
                    event.device = t.deviceSeconds * 1e6
                    event.kernels = t.decodeSeconds * 1e6
                    if let c = t.deviceClock { (event.deviceStart, event.kernelStart, event.kernelEnd, event.deviceEnd) = (c[0], c[1], c[2], c[3]) }
                }
                out.events.append(event)
            } else {
                for r in Self.attendOnCores(batch, layer: l) { if case .failure(let e) = r { return .failure(e) } }
            }
        }
        return .success(out)
    }

    /// `--check`'s step: every group at once, each in its own task and layer after layer, appends
    /// one token, attends on the device without the policies' decode stages, then on the CPU over
    /// the same pages; the largest relative L2 error of an output vector (+infinity for a NaN).
    static func checkedStep(_ groups: [[CacheSession]], layers: Int, keys: HeadTensor<Float16>, values: HeadTensor<Float16>,
                            queries: HeadTensor<Float>, position: Int, devicePool: VulkanSessionPool) async -> Result<Double, Error> {
        await withTaskGroup(of: Result<Double, Error>.self) { tasks in
            for group in groups {
                tasks.addTask {
                    var worst = 0.0
                    for l in 0..<layers {
                        do throws(SessionError) {
                            for s in group { try s.append(layer: l, keys: keys, values: values, positions: [position]) }
                        } catch { return .failure(error) }
                        let batch: [CacheSession.AttendRequest] = group.map { .init(session: $0, queries: queries, positions: [position]) }
                        let results = await devicePool.attend(batch, layer: l, runPolicy: false)
                        for (s, r) in zip(group, results) {
                            do {
                                let device = try r.get()
                                let cpu = try s.attend(layer: l, queries: queries, positions: [position], runPolicy: false)
                                worst = max(worst, try AttentionMetrics.worstRelativeL2(reference: cpu.storage, approximation: device.storage,
                                                                                    length: cpu.headDim))
                            } catch { return .failure(error) }
                        }
                    }
                    return .success(worst)
                }
            }
            var worst = 0.0
            for await r in tasks {
                switch r {
                case .success(let w): worst = max(worst, w)
                case .failure(let e): return .failure(e)
                }
            }
            return .success(worst)
        }
    }

    /// The CPU backend's batched attend on the calling thread (its synchronous overload).
    static func attendOnCores(_ batch: [CacheSession.AttendRequest], layer: Int) -> [Result<HeadTensor<Float>, SessionError>] {
        CacheSession.attend(batch, layer: layer)
    }

    /// Runs `body` to completion from synchronous code (the command's thread waits; the work
    /// runs on the concurrency pool).
    static func blocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
        let box = Mutex<T?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            let value = await body()
            box.withLock { $0 = value }
            done.signal()
        }
        done.wait()
        return box.withLock { $0! }
    }
}
