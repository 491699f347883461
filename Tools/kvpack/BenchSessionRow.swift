extension Bench.Session {
    struct Row: Codable {
        var backend: String
        var policy: String
        var sessions: Int, layers: Int, tokens: Int, steps: Int
        var queryHeads: Int, kvHeads: Int, headDim: Int, pageSize: Int
        var prefillSeconds: Double
        var stepsPerSecond: Double
        var p50StepSeconds: Double, p99StepSeconds: Double
        /// Host time per step: on the CPU backend the whole step; on Vulkan the step less the
        /// device time of its submissions. With more than one group (`--microbatches`) calls are
        /// on the device at once and a call's device time includes its wait for the call before
        /// it (its first barrier), so the device sums overcount and this undercounts.
        var hostSecondsPerStep: Double
        /// Vulkan: device time per step of the decode dispatches (all layers), and of the whole
        /// submissions (uploads, decodes, readback); bytes uploaded per step.
        var kernelSecondsPerStep: Double?
        var deviceSecondsPerStep: Double?
        /// Vulkan: per step, the time the device was busy with the calls' submissions (the union
        /// of their timestamped spans over the timed steps, divided by the steps) and with
        /// their decode dispatches: unlike the sums above, calls on the device at once count once.
        var deviceBusySecondsPerStep: Double?
        var kernelBusySecondsPerStep: Double?
        /// Vulkan: compute pipelines created during the timed steps (a driver compile each; with
        /// free-running groups, every group's warm-up step ends before the timed steps start).
        var pipelinesCreatedInSteps: Int?
        /// Vulkan: device buffers created during the timed steps (a call's reused buffers grow by
        /// replacement), counted as the pipelines are.
        var buffersCreatedInSteps: Int?
        /// Vulkan: host seconds spent creating those buffers (all groups' calls together).
        var bufferCreationSecondsInSteps: Double?
        /// With `--trace`: every timed step's seconds, per group (one list without free-running
        /// groups), and the seconds of its appends (every layer's; without free-running groups,
        /// every group's added).
        var stepSecondsByGroup: [[Double]]?
        var appendSecondsByGroup: [[Double]]?
        /// With `--trace`: the warm-up steps' seconds, per group (one list without free-running
        /// groups); the first includes the first attend after the prefill (whole page tables
        /// written, pipelines compiled).
        var warmupSecondsByGroup: [[Double]]?
        /// Vulkan: host time per step inside the attend calls (all but waiting for the device),
        /// and its parts (`SessionAttendTiming`): checks, page tables and plans; staging and
        /// recording; after the device.
        var attendHostSecondsPerStep: Double?
        var attendPrepareSecondsPerStep: Double?
        var attendRecordSecondsPerStep: Double?
        var attendFinishSecondsPerStep: Double?
        /// Vulkan: per step, the device time of the submissions' copies in (appended rows,
        /// table entries, directories, queries), and the attend calls' waits beyond their
        /// device time (the submission reaching the device, the fence's signal reaching the
        /// waiting task).
        var attendUploadSecondsPerStep: Double?
        var attendWaitLatencySecondsPerStep: Double?
        /// Time per step of the appends (every layer of every session).
        var appendSecondsPerStep: Double?
        var serialAppends: Bool?
        /// The decode's f16 pages reserved after the prefill (`--reserve`).
        var reserved: Bool?
        /// Vulkan: session groups stepping in their own tasks (`--microbatches`), and the device
        /// pool's calls in flight.
        var microbatches: Int?
        /// Vulkan: the groups stepped on their own (`--free-running-groups`): p50 / p99 are each
        /// group's steps, steps/s a group's.
        var freeRunningGroups: Bool?
        var callsInFlight: Int?
        /// Compute queues the device pool spread its calls over.
        var queues: Int?
        /// The device pool's calls one at a time (`--calls-one-at-a-time`).
        var callsOneAtATime: Bool?
        /// Vulkan: workgroups the decode's split-K aimed for.
        var targetWorkgroups: Int?
        /// `--check`: the largest relative L2 error of an output vector, device against CPU, in the
        /// check step after the timed ones (on the last row of a policy).
        var checkWorstRelativeL2: Double?
        /// `--trace`: the last step's appends and attend calls.
        var trace: [StepEvent]?
        /// `--trace` on Vulkan: the timed step (1-based) in which a group took longest, and its
        /// timeline (as `trace`).
        var slowestStep: Int?
        var slowestStepTrace: [StepEvent]?
        var uploadBytesPerStep: Double?
        /// Vulkan: where the uploads were staged (`--staging`), and whether that memory is device-local.
        var staging: String?
        var stagingDeviceLocal: Bool?
        /// Vulkan: the pool's banks.
        var banks: Int?
        /// Vulkan: sessions opened together that share their banks.
        var sessionsPerBankGroup: Int?
        var kernels: [String]?
        var device: String?
        /// Pool slot bytes in use after the last step, and the sessions' exact layout bytes.
        var poolBytes: Int, layoutBytes: Int
        /// Dense f16 K/V of every token (prompt and decoded) of every session and layer.
        var denseBytes: Int
        var threads: Int
    }

    /// Seconds covered by the union of `spans` (start, end).
    static func unionSeconds(_ spans: [(Double, Double)]) -> Double {
        var total = 0.0, reach = -Double.infinity
        for (a, b) in spans.sorted(by: { $0.0 < $1.0 }) where b > reach {
            total += b - max(a, reach)
            reach = b
        }
        return total
    }

    /// One group's layer in a step's timeline (`--trace`): when its appends and its attend call
    /// began and ended, microseconds from the step's start, and the call's parts
    /// (`SessionAttendTiming`; the call's wait for the pool's gate and a lane is what is left).
    struct StepEvent: Codable, Sendable {
        var group: Int, layer: Int
        var appendStart: Double, appendEnd: Double, callStart: Double, callEnd: Double
        var prepare: Double? = nil, record: Double? = nil, wait: Double? = nil, finish: Double? = nil, device: Double? = nil, kernels: Double? = nil
        /// The part of `prepare` spent on the sessions' reads and page tables (the read lock's wait
        /// included), and the decode plans the call made (`SessionAttendTiming`).
        var read: Double? = nil, plansMade: Int? = nil
        /// The part of `prepare` spent making those plans (`SessionAttendTiming.planningSeconds`).
        var planning: Double? = nil
        /// On the device's clock, microseconds from the step's first submission's start: the
        /// submission's start, its decodes' start and end, its end.
        var deviceStart: Double? = nil, kernelStart: Double? = nil, kernelEnd: Double? = nil, deviceEnd: Double? = nil

        /// The event with its instants moved by `microseconds`.
        func shifted(by microseconds: Double) -> StepEvent {
            var e = self
            e.appendStart += microseconds
            e.appendEnd += microseconds
            e.callStart += microseconds
            e.callEnd += microseconds
            return e
        }
    }
}
