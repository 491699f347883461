import CVulkan
import Foundation
import KVPack

/// A `PagePool` on a Vulkan device: each of the pool's banks is one device buffer holding the
/// bank's slots at the same offsets as on the host, each bank has a device page table whose
/// regions (one per head of a session layer) point into it, and `attend` decodes a batch of
/// sessions in one submission through those tables, awaited without blocking a thread.
///
/// The host pool stays the master copy (the policies' decode stages read and re-pack pages on
/// the CPU): every byte a session writes into a slot is queued as it is written and copied to
/// the device at the start of the next `attend`, and a head's table entries are rewritten from
/// the first page that changed. So a decode step uploads the appended rows and one table entry
/// per head, not the cache.
///
/// Up to `callsInFlight` calls are in progress at once, each on a lane of its own: their sessions'
/// reads and page tables are brought up to date one call at a time, their decodes planned and
/// staged side by side, and they submit in the order they read (callers queue without blocking);
/// while the device runs one call, other calls' host work runs beside it. Sessions in a call
/// refuse changes with `SessionError.busy` until it ends, so calls in flight together hold
/// different sessions.
public final class VulkanSessionPool: @unchecked Sendable {
    public let context: VulkanContext
    public let pool: PagePool
    /// Device buffer of each bank (`bankBytes` + 16 bytes of padding: loaders read whole words
    /// past a page's end).
    let banks: [DeviceBuffer]
    /// Device page table of each bank.
    let tables: [DeviceBuffer]
    let uploads = PendingUploads()
    let regions: RegionDirectory
    let waiter: FenceWaiter
    /// Held while a call begins its sessions' reads and brings their page tables up to date; it
    /// hands out the call's ticket for `turn` (`nextTicket`, under it).
    let readLock = NSLock()
    var nextTicket: UInt64 = 0
    /// Passed in ticket order: a call takes the written slot bytes, records its uploads (and, not
    /// chained, its decodes) and submits in its turn, so calls submit in the order they read.
    let turn = TicketGate()
    /// The calls' submission resources; a call holds one from before its reads until its outputs
    /// are read (`freeLanes`).
    let lanes: [SubmissionLane]
    let freeLanes: LanePool
    /// Each call holds `oneAtATime` from before its reads until it has submitted (the flow before
    /// calls planned beside each other), where `callsOneAtATime` is set.
    let oneAtATime = AsyncGate()
    private let settingsLock = NSLock()
    private var _callsOneAtATime = false
    /// For comparison: calls read, plan, stage, record and submit one at a time, as before calls
    /// planned and staged beside each other (default false). `kvpack bench session
    /// --calls-one-at-a-time`.
    public var callsOneAtATime: Bool {
        get { settingsLock.withLock { _callsOneAtATime } }
        set { settingsLock.withLock { _callsOneAtATime = newValue } }
    }
    /// With chained submissions: the semaphore the last submission's uploads signal, which the
    /// next submission's uploads wait for (in turn).
    var lastUploaded: VkSemaphore?
    private let plansLock = NSLock()
    private var _plansReused = 0
    /// Calls whose decode plan an earlier call made (`BankCall.plans`), for tests.
    var plansReused: Int {
        get { plansLock.withLock { _plansReused } }
        set { plansLock.withLock { _plansReused = newValue } }
    }
    /// Staging bytes one copy-only submission takes, for a backlog of written slots larger than
    /// that (a prefill): it goes in before the decode, in such submissions. Tests make it small.
    var stagingChunk = 64 << 20
    private let state = NSLock()
    private var _lost = false
    private var onDevice = 0, _peakCallsOnDevice = 0
    /// The most calls submitted and not yet read back at one time, since the pool was made (tests).
    var peakCallsOnDevice: Int { state.withLock { _peakCallsOnDevice } }
    /// Counts a call submitted (`by` 1) or read back (-1).
    func callOnDevice(_ by: Int) {
        state.withLock {
            onDevice += by
            _peakCallsOnDevice = max(_peakCallsOnDevice, onDevice)
        }
    }
    /// Set when the device was lost: every later call fails with `VulkanError.deviceLost`.
    var lost: Bool {
        get { state.withLock { _lost } }
        set { state.withLock { _lost = newValue } }
    }
    private var _lastTiming: SessionAttendTiming?
    /// The device timestamps of the last successful `attend` to finish (nil where the queue has
    /// none). With calls in flight at once, `attendTimed` gives each call's own.
    public internal(set) var lastTiming: SessionAttendTiming? {
        get { state.withLock { _lastTiming } }
        set { state.withLock { _lastTiming = newValue } }
    }

    /// Mirrors `pool` on `context`'s device.
    /// - Parameter tableEntriesPerBank: page-table entries each bank's table holds (32 bytes
    ///   each); nil: one per KiB of bank bytes, at least 4096.
    /// - Throws: `VulkanError.unsupported` for a pool without `bankBytes` or a head dim the
    ///   kernels do not take; `.tooLarge` for banks beyond `maxStorageBufferRange` or the
    ///   device-local heap; allocation errors. Nothing stays allocated when it throws.
    /// - Parameter staging: where the bytes a call copies in are staged (`StagingMemory`; by
    ///   default `.device`, which is `.host` on a device without device-local host-visible memory).
    /// - Parameter callsInFlight: calls on the device at once (1 to 8): each has its own command
    ///   buffer, staging and readback buffers and per-bank decode buffers. With 1, a call's host
    ///   work waits for the previous call's outputs.
    /// - Parameter queues: compute queues the calls are spread over, in turn (1 to
    ///   `VulkanContext.maxQueues`, at most the context's `queueCount`): with more than one, the
    ///   device may run one call's decodes beside another's (no barrier between them); each
    ///   call's uploads still follow the previous call's.
    public convenience init(context: VulkanContext, pool: PagePool, tableEntriesPerBank: Int? = nil, staging: StagingMemory = .device,
                            callsInFlight: Int = 2, queues: Int = 1) throws(VulkanError) {
        try self.init(context: context, pool: pool, tableEntriesPerBank: tableEntriesPerBank, staging: staging, callsInFlight: callsInFlight,
                      queues: queues, chained: queues > 1)
    }

    /// `init`, with `chained`: submissions chained (uploads a batch of their own, waiting for the
    /// previous call's; no barrier after the queue's earlier work) even on one queue, so that a
    /// device with one queue (lavapipe) tests the path several queues take.
    init(context: VulkanContext, pool: PagePool, tableEntriesPerBank: Int?, staging: StagingMemory, callsInFlight: Int, queues: Int,
         chained: Bool) throws(VulkanError) {
        let config = pool.configuration, caps = context.capabilities
        guard (1...8).contains(callsInFlight) else { throw .unsupported("\(callsInFlight) calls in flight (1 to 8 are)") }
        guard (1...context.queueCount).contains(queues) else {
            throw .unsupported("\(queues) queues (the device was opened with \(context.queueCount) compute queue(s))")
        }
        guard let bankBytes = config.bankBytes else {
            throw .unsupported("a device pool needs the page pool's bankBytes (each bank becomes one buffer of at most maxStorageBufferRange = \(caps.maxStorageBufferRange) bytes)")
        }
        guard [64, 128, 256].contains(config.headDim) else { throw .unsupported("head dim \(config.headDim) (64, 128 and 256 are)") }
        guard bankBytes + 16 <= caps.maxStorageBufferRange else {
            throw .tooLarge(what: "one bank of the page pool", bytes: bankBytes + 16, limit: caps.maxStorageBufferRange, limitName: "maxStorageBufferRange")
        }
        let entries = tableEntriesPerBank ?? max(4096, bankBytes / 1024)
        guard entries > 0, entries * Page.tableEntryBytes <= caps.maxStorageBufferRange else {
            throw .tooLarge(what: "one bank's page table", bytes: entries * Page.tableEntryBytes, limit: caps.maxStorageBufferRange,
                            limitName: "maxStorageBufferRange")
        }
        let total = config.banks * (bankBytes + 16 + entries * Page.tableEntryBytes)
        guard caps.deviceLocalBytes == 0 || total <= caps.deviceLocalBytes else {
            throw .tooLarge(what: "the page pool's \(config.banks) banks and tables", bytes: total, limit: caps.deviceLocalBytes,
                            limitName: "device-local memory heap")
        }
        self.context = context
        self.pool = pool
        var banks: [DeviceBuffer] = [], tables: [DeviceBuffer] = []
        for _ in 0..<config.banks {
            banks.append(try DeviceBuffer(context, size: bankBytes + 16))
            tables.append(try DeviceBuffer(context, size: entries * Page.tableEntryBytes))
        }
        self.banks = banks
        self.tables = tables
        regions = RegionDirectory(banks: config.banks, capacity: entries)
        var lanes: [SubmissionLane] = []
        for i in 0..<callsInFlight {
            lanes.append(try SubmissionLane(context, staging: staging == .device ? .upload : .host, index: i, queue: i % queues, chained: chained))
        }
        self.lanes = lanes
        freeLanes = LanePool(count: lanes.count)
        stagingIsDeviceLocal = lanes[0].frame.staging.deviceLocal
        waiter = FenceWaiter(context, spin: context.device.kind == .cpu ? .zero : Self.defaultFenceSpin)
        do throws(PoolError) { try pool.attach(self) } catch {
            waiter.stop()
            throw .unsupported(error.description)
        }
    }

    deinit { waiter.stop() }

    /// How long the pool's waiting thread polls a submission's fence before it blocks on it:
    /// polling resumes the caller as soon as the device is done, for one core spent while it
    /// polls. Default `defaultFenceSpin` on GPUs, zero on CPU devices (lavapipe computes on the
    /// cores a poll would take).
    public var fenceSpin: Duration {
        get { waiter.spin }
        set { waiter.spin = max(.zero, newValue) }
    }

    public static let defaultFenceSpin: Duration = .milliseconds(2)

    /// Where a call's uploads (appended rows, table entries, directories, queries) are staged:
    /// in host memory the device reads over the bus (`.host`), or in a window of the device's
    /// own memory the host writes over the bus, where the device offers one (`.device`, the
    /// default; else as `.host`). On an NVIDIA H100 at B = 32, N = 32K the uploads' device time
    /// was 0.20 ms a step from device-local staging against 0.45-0.51 ms from host memory, the
    /// kernels' time unchanged (two alternating rounds; `Tools/bench/README.md`, "Live sessions
    /// on the H100").
    public enum StagingMemory: String, Sendable, CaseIterable { case host, device }

    /// The staging buffer made with the pool lies in device-local memory (a larger one made later
    /// takes the same type, or host memory where `.device` staging cannot be allocated).
    public let stagingIsDeviceLocal: Bool

    /// Calls that can be on the device at once (`init`'s `callsInFlight`).
    public var callsInFlight: Int { lanes.count }

    /// Queues the calls are spread over: `init`'s `queues`, or `callsInFlight` where that is fewer
    /// (one lane a queue at most).
    public var queues: Int { Set(lanes.map(\.frame.queueIndex)).count }

    /// Page-table entries in use in each bank's table (regions handed out).
    public var tableEntriesInUse: [Int] { regions.inUse }
}

extension VulkanSessionPool: PagePoolMirror {
    package func wrote(bank: Int, offset: Int, bytes: UnsafeRawBufferPointer) { uploads.add([(bank, offset, bytes)]) }

    package func wrote(_ parts: [(bank: Int, offset: Int, bytes: UnsafeRawBufferPointer)]) { uploads.add(parts) }

    package func sessionClosed(_ id: UInt64) { regions.dropSession(id) }
}

/// Bytes written into the host pool's slots, waiting to be copied into the banks.
final class PendingUploads: @unchecked Sendable {
    struct Copy {
        var bank: Int
        var destination: Int
        var source: Int
        var count: Int
    }

    private let lock = NSLock()
    private var bytes: [UInt8] = []
    private var copies: [Copy] = []
    /// Arrays of earlier `take`s, emptied and given back (`recycle`): the next queue grows into
    /// their capacity instead of allocating (and the allocator unmapping, then faulting in) them
    /// call after call. Several, as several calls are in flight, each holding what it took.
    private var spares: [(bytes: [UInt8], copies: [Copy])] = []
    /// The most arrays kept for reuse.
    static let maxSpares = 8

    /// Queues each part's bytes for `offset` of `bank`, in order, under one lock.
    func add(_ parts: [(bank: Int, offset: Int, bytes: UnsafeRawBufferPointer)]) {
        lock.lock()
        defer { lock.unlock() }
        for (bank, offset, new) in parts {
            // Rows written one after another in a slot often touch: extend the last copy.
            if let last = copies.last, last.bank == bank, last.destination + last.count == offset, last.source + last.count == bytes.count,
               last.count % 4 == 0 {
                copies[copies.count - 1].count += new.count
            } else {
                copies.append(Copy(bank: bank, destination: offset, source: bytes.count, count: new.count))
            }
            bytes.append(contentsOf: new)
            // Sources stay word-aligned (the scatter copies words).
            while bytes.count % 4 != 0 { bytes.append(0) }
        }
    }

    /// Takes everything queued (in the order written: later copies overwrite earlier ones).
    func take() -> (bytes: [UInt8], copies: [Copy]) {
        lock.lock()
        defer { lock.unlock() }
        let taken = (bytes, copies)
        (bytes, copies) = spares.popLast() ?? ([], [])
        return taken
    }

    /// Gives back the arrays `take` returned once their contents were copied out, for reuse
    /// (those of a decode step's size: a prefill's backlog, over 4 MiB, is let go, so that the
    /// spares hold at most 32 MiB). Moves them out of `taken` (left empty), so that they are
    /// emptied in place rather than copied.
    func recycle(_ taken: inout (bytes: [UInt8], copies: [Copy])) {
        var b: [UInt8] = [], c: [Copy] = []
        swap(&b, &taken.bytes)
        swap(&c, &taken.copies)
        guard b.capacity <= 4 << 20 else { return }
        b.removeAll(keepingCapacity: true)
        c.removeAll(keepingCapacity: true)
        lock.lock()
        defer { lock.unlock() }
        if spares.count < Self.maxSpares { spares.append((b, c)) }
    }

    /// Puts back what `take` returned (a submission that never ran), before anything queued since.
    func putBack(_ taken: (bytes: [UInt8], copies: [Copy])) {
        guard !taken.copies.isEmpty else { return }
        lock.lock()
        defer { lock.unlock() }
        let shift = taken.bytes.count
        copies = taken.copies + copies.map { var c = $0; c.source += shift; return c }
        bytes = taken.bytes + bytes
    }
}

/// What a batched attend's decodes are grouped by, and their reused buffers kept by: the bank
/// and the model's head counts.
struct BankCallKey: Hashable {
    var bank: Int
    var queryHeads: Int
    var kvHeads: Int
}
