import KVPack

/// A call between its submission and its outputs, and what it does after the pool's gate: await
/// the device, read the outputs, end the reads, run the policies.
extension VulkanSessionPool {
    /// A request whose session's read began: its index in the batch, the read, its heads' tables.
    struct Active {
        var index: Int
        var read: CacheSession.DeviceLayerRead
        /// Its heads' tables: `heads[firstHead ..< firstHead + read.heads.count]` of the call's list.
        var firstHead: Int
        var masked: Bool
    }

    /// One decode of a call: a bank's (and model shape's) sessions as sequences.
    struct Planned {
        /// Indices into the call's `active`.
        var members: [Int]
        var call: DecodeCall
        var directory: [UInt32]
        /// Each member's queries `[queryHeads, 1, headDim]` (the requests' storage, not copied here).
        var queries: [[Float]]
        /// The call's `queryPositions` words (`DecodeCall.queryWords`).
        var queryWords: [Int32]
        var floats: Int
        /// Where `stageOwnData` put the directory, the queries, the query words and the pass
        /// directory in the lane's staging buffer.
        var staged = (directory: 0, queries: 0, words: 0, passes: 0)

        /// Bytes of its own data staged (directory, queries, query words, pass directory).
        var ownBytes: Int { 4 * (directory.count + floats + queryWords.count + call.passDirectoryWords.count) }
    }

    /// A call between its submission and its outputs: the requests answered so far (failures),
    /// the sessions whose reads are open, and what went to the device.
    struct CallInFlight {
        let batch: [CacheSession.AttendRequest]
        var results: [Result<HeadTensor<Float>, DeviceSessionError>?]
        var active: [Active] = []
        /// Indices into `active` already failed (their reads ended).
        var failedActive = Set<Int>()
        var planned: [Planned] = []
        /// Chained: where each planned decode's outputs lie in the readback buffer (recorded before the turn).
        var outputAt: [Int] = []
        var submitted: Submitted?
        /// Decode plans `plan` made for this call (not reused from an earlier one).
        var plansMade = 0
        /// Seconds `plan` spent making them.
        var planningSeconds = 0.0

        init(_ batch: [CacheSession.AttendRequest]) {
            self.batch = batch
            results = Array(repeating: nil, count: batch.count)
        }
    }

    /// Fails `a`'s request with `e`: its read ends as failed (the session as before the call) and
    /// its page-table regions are written afresh next time.
    func fail(_ a: Active, _ e: DeviceSessionError, layer: Int, in call: inout CallInFlight) {
        regions.forget(session: a.read.session, layer: layer)
        call.batch[a.index].session.endDeviceRead(a.read, failed: true)
        call.results[a.index] = .failure(e)
    }

    /// Fails every request of `call` still active with `e` (nothing of it reached the device):
    /// their reads end as failed, no decode is left planned, and `frame` stops recording.
    func failRemaining(_ call: inout CallInFlight, with e: VulkanError, layer: Int, frame: SubmissionFrame) {
        frame.abandon()
        for (k, a) in call.active.enumerated() where !call.failedActive.contains(k) { fail(a, .device(e), layer: layer, in: &call) }
        call.failedActive = Set(call.active.indices)
        call.planned = []
    }

    /// The part of a call after its turn: the device awaited, the outputs read from `lane`, the reads
    /// ended, then the policies' decode stages.
    func finish(_ call: inout CallInFlight, layer: Int, runPolicy: Bool, lane: SubmissionLane,
                marks: inout CallMarks, timing: inout SessionAttendTiming?) async {
        if let submitted = call.submitted {
            let result = await awaitOutputs(submitted, planned: call.planned, lane: lane, marks: &marks, timing: &timing)
            callOnDevice(-1)
            switch result {
            case .success(let outputs):
                for (p, out) in zip(call.planned, outputs) {
                    let model = call.batch[call.active[p.members[0]].index].session.model
                    for (j, k) in p.members.enumerated() {
                        let tensor = try! HeadTensor<Float>(heads: model.queryHeads, tokens: 1, headDim: model.headDim, storage: out[j])
                        call.results[call.active[k].index] = .success(tensor)
                    }
                }
            case .failure(let e):
                for (k, a) in call.active.enumerated() where !call.failedActive.contains(k) { fail(a, .device(e), layer: layer, in: &call) }
                return
            }
        }
        // The reads end; then the policies act.
        for (k, a) in call.active.enumerated() where !call.failedActive.contains(k) {
            let r = call.batch[a.index]
            r.session.endDeviceRead(a.read, failed: false)
            if runPolicy, case .success = call.results[a.index] {
                do { try r.session.runDecodeStage(layer: layer, queries: r.queries, positions: r.positions) } catch {
                    call.results[a.index] = .failure(.session(error))
                }
            }
        }
    }
}
