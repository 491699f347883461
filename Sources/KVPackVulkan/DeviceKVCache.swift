import CVulkan
import KVPack

/// A `FlatCache` in device memory: the page table and the four pools byte for byte as `FlatCache`
/// (and the `.kvp` file) lays them out, except that a pool larger than one binding may cover
/// (`maxStorageBufferRange`) is split at head boundaries into windows (`PoolWindows`), page
/// offsets then counting from their window's start; the head directory carries each head's
/// window. Within each head the pages are ordered by `EncodingClass` (attention does not depend
/// on their order; masks read each page's positions), so each class is a contiguous range.
/// Positions are uploaded too: masked calls (`DecodeMask`) read them.
public final class DeviceKVCache: @unchecked Sendable {
    public let model: ModelFacts
    public let sequenceCount: Int
    public let pageSize: Int
    /// Per head: first page, page count, pool window, 0 (and the same on the host).
    let directory: DeviceBuffer
    let hostDirectory: [UInt32]
    let table: DeviceBuffer
    /// `pools[kind.rawValue][window]`.
    let pools: [[DeviceBuffer]]
    /// FlatCache's positions pool (read only by masked calls) and, on the host, the same positions
    /// with each head's range of them (to check a mask leaves every head a key).
    let positions: DeviceBuffer
    let hostPositions: [Int32]
    let headPositions: [Range<Int>]
    /// Per layer: the encoding kinds its pages use, the most pages of any head, and the bytes a
    /// decode over the layer reads (directory entries, page-table entries and payloads).
    let layers: [LayerFacts]

    struct LayerFacts: Sendable {
        var kinds: Set<PageEncodingKind>
        /// Groupings of the layer's int8 / int4 pages.
        var groupings: Set<QuantizationGrouping>
        var maxPages: Int
        var bytesRead: Int
        /// The most tokens of any page of the layer.
        var maxPageTokens = 0
        /// The largest power of two up to 16 dividing every int8 / int4 page offset of the layer
        /// (within its pool window): how wide the raw-code kernels may load.
        var codeAlignment = 16
        /// The encoding classes of the layer's pages, in order (each head's pages follow it).
        var classes: [EncodingClass] = []
    }

    /// Per head (directory order): its pages of each of its layer's `classes`, in that order.
    private let headClassCounts: [[Int]]?

    /// Head `h`'s pages per class, in the layer's class order (one class: its page count). A live
    /// view of one class keeps no per-head arrays: they were an allocation per head and call.
    func classCounts(head h: Int) -> [Int] { headClassCounts?[h] ?? [Int(hostDirectory[4 * h + 1])] }

    /// The caller checked that each masked query sees a key (live views): `hasVisibleKey` is true.
    var visibilityChecked = false

    /// A view of live sessions' pages for one decode (`VulkanSessionPool`): one layer, the
    /// sessions as sequences, every pool kind and the positions read from one bank buffer, the
    /// page table a bank's table buffer whose regions `directory` points at.
    /// `headClassCounts`: per head, its pages of each of `facts.classes` (nil: one class, or the
    /// mixed kernel reads them all as one run).
    init(liveView model: ModelFacts, sequences: Int, pageSize: Int, directory: DeviceBuffer, hostDirectory: [UInt32],
         table: DeviceBuffer, bank: DeviceBuffer, facts: LayerFacts, headClassCounts: [[Int]]? = nil) {
        self.model = model
        self.sequenceCount = sequences
        self.pageSize = pageSize
        self.directory = directory
        self.hostDirectory = hostDirectory
        self.table = table
        self.pools = Array(repeating: [bank], count: 4)
        self.positions = bank
        self.hostPositions = []
        self.headPositions = []
        self.layers = [facts]
        self.headClassCounts = headClassCounts
        self.visibilityChecked = true
    }

    /// Uploads `flat`.
    /// - Throws: `VulkanError.tooLarge` before allocating anything when one head's pages of a
    ///   kind or the page table exceed `maxStorageBufferRange`, a pool needs more than
    ///   `PoolWindows.maximum` windows, or the whole cache exceeds the device-local heap;
    ///   `VulkanError.unsupported` for a head dim the kernels do not cover, or a quantization group
    ///   size a page-table entry cannot hold (over 65535).
    public convenience init(_ context: VulkanContext, flat: FlatCache) throws(VulkanError) {
        try self.init(context, flat: flat, windowLimit: nil)
    }

    /// `windowLimit`: the most bytes of a pool one buffer holds (tests of the split; default
    /// `maxStorageBufferRange`).
    init(_ context: VulkanContext, flat: FlatCache, windowLimit: Int?) throws(VulkanError) {
        var caps = context.capabilities
        if let windowLimit { caps.maxStorageBufferRange = min(caps.maxStorageBufferRange, windowLimit) }
        let windows = try Self.preflight(flat, capabilities: caps)
        var layers = Self.layerFacts(flat)
        var directory: [UInt32] = []
        directory.reserveCapacity(4 * flat.heads.count)
        // Device page j is flat page order[j]: each head's range, its pages ordered by class.
        var order: [Int] = []
        order.reserveCapacity(flat.pages.count)
        var headClassCounts: [[Int]] = []
        headClassCounts.reserveCapacity(flat.heads.count)
        var pageWindow = [Int](repeating: 0, count: flat.pages.count)
        var pageLayer = [Int](repeating: 0, count: flat.pages.count)
        for (h, head) in flat.heads.enumerated() {
            directory += [head.firstPage, head.pageCount, windows.headWindow[h], 0]
            let layer = (h / flat.model.kvHeads) % flat.model.layerCount
            let classes = layers[layer].classes
            var byClass = [[Int]](repeating: [], count: classes.count)
            for p in Int(head.firstPage)..<Int(head.firstPage + head.pageCount) {
                pageWindow[p] = Int(windows.headWindow[h])
                pageLayer[p] = layer
                let c = EncodingClass(key: flat.pages[p].keyEncoding, value: flat.pages[p].valueEncoding)
                byClass[classes.firstIndex(of: c)!].append(p) // layerFacts listed every class of the layer
            }
            order += byClass.joined()
            headClassCounts.append(byClass.map(\.count))
        }
        // The page table as the file has it (one codec, `PageTableEntry`), offsets counted from
        // each page's pool window.
        var table: [UInt8] = []
        table.reserveCapacity(Page.tableEntryBytes * flat.pages.count)
        for i in order {
            var p = flat.pages[i]
            p.keyOffset -= UInt64(windows.ranges[Int(p.keyEncoding.kind.rawValue)][pageWindow[i]].lowerBound)
            p.valueOffset -= UInt64(windows.ranges[Int(p.valueEncoding.kind.rawValue)][pageWindow[i]].lowerBound)
            for (kind, offset) in [(p.keyEncoding.kind, p.keyOffset), (p.valueEncoding.kind, p.valueOffset)] where kind == .int8 || kind == .int4 {
                while offset % UInt64(layers[pageLayer[i]].codeAlignment) != 0 { layers[pageLayer[i]].codeAlignment /= 2 }
            }
            do { try p.append(to: &table) } catch { throw .unsupported("page \(i): \(error)") }
        }
        self.headClassCounts = headClassCounts
        self.hostDirectory = directory
        self.model = flat.model
        self.sequenceCount = flat.sequences.count
        self.pageSize = flat.pageSize
        self.layers = layers
        self.hostPositions = flat.positions
        self.headPositions = flat.heads.map { h in
            let pages = flat.pages[Int(h.firstPage)..<Int(h.firstPage + h.pageCount)]
            guard let first = pages.first, let last = pages.last else { return 0..<0 }
            return Int(first.positionsOffset)..<Int(last.positionsOffset) + Int(last.tokens)
        }
        self.positions = try DeviceBuffer(context, contents: flat.positions, minimumSize: 16)
        self.directory = try DeviceBuffer(context, contents: directory)
        self.table = try DeviceBuffer(context, contents: table)
        var pools: [[DeviceBuffer]] = []
        for (k, pool) in flat.pools.enumerated() {
            var buffers: [DeviceBuffer] = []
            for range in windows.ranges[k] {
                // 16 bytes of padding: loaders read whole words past a page's last byte.
                if range == pool.indices {
                    buffers.append(try DeviceBuffer(context, contents: pool, minimumSize: pool.count + 16))
                } else {
                    buffers.append(try DeviceBuffer(context, contents: Array(pool[range]), minimumSize: range.count + 16))
                }
            }
            pools.append(buffers)
        }
        self.pools = pools
    }

    /// Whether `mask` leaves head `kvHead` of `sequence` at `layer` at least one visible key.
    func hasVisibleKey(sequence: Int, layer: Int, kvHead: Int, query: Int, window: Int?) -> Bool {
        if visibilityChecked { return true }
        let range = headPositions[(sequence * model.layerCount + layer) * model.kvHeads + kvHead]
        // Positions increase along a head: the last one at or before the query decides.
        var lo = range.lowerBound, hi = range.upperBound
        while lo < hi {
            let mid = (lo + hi) / 2
            if Int(hostPositions[mid]) <= query { lo = mid + 1 } else { hi = mid }
        }
        guard lo > range.lowerBound else { return false }
        return window.map { Int(hostPositions[lo - 1]) > query - $0 } ?? true
    }

    /// Pool windows in use (1 unless a pool exceeds `maxStorageBufferRange`).
    public var poolWindows: Int { pools.first?.count ?? 1 }

    /// Checks `flat` against the device's limits and plans its pool windows; runs before anything
    /// is allocated.
    @discardableResult
    static func preflight(_ flat: FlatCache, capabilities caps: VulkanCapabilities) throws(VulkanError) -> PoolWindows {
        let d = flat.model.headDim
        guard [64, 128, 256].contains(d) else { throw .unsupported("head dim \(d) (64, 128 and 256 are)") }
        let tableBytes = flat.pages.count * Page.tableEntryBytes
        let directoryBytes = flat.heads.count * 16
        for (what, bytes) in [("the page table", tableBytes), ("the head directory", directoryBytes),
                              ("the positions", 4 * flat.positions.count)] where bytes > caps.maxStorageBufferRange {
            throw .tooLarge(what: what, bytes: bytes, limit: caps.maxStorageBufferRange, limitName: "maxStorageBufferRange")
        }
        let windows = try PoolWindows.plan(flat, limit: caps.maxStorageBufferRange - 16)
        let total = tableBytes + directoryBytes + 4 * flat.positions.count + flat.pools.reduce(0) { $0 + $1.count }
            + 16 * windows.count * flat.pools.count
        guard caps.deviceLocalBytes == 0 || total <= caps.deviceLocalBytes else {
            throw .tooLarge(what: "the cache", bytes: total, limit: caps.deviceLocalBytes, limitName: "device-local memory heap")
        }
        return windows
    }

    /// Bytes a decode over `layer` reads: the directory entries and page-table entries of its
    /// heads and every key and value payload.
    public func bytesRead(layer: Int) -> Int { layers[layer].bytesRead }

    private static func layerFacts(_ flat: FlatCache) -> [LayerFacts] {
        // Payload sizes: pages sit back to back in their pools, so each ends where the next begins.
        var starts: [[UInt64]] = Array(repeating: [], count: flat.pools.count)
        for p in flat.pages {
            starts[Int(p.keyEncoding.kind.rawValue)].append(p.keyOffset)
            starts[Int(p.valueEncoding.kind.rawValue)].append(p.valueOffset)
        }
        var sizes: [[UInt64: Int]] = Array(repeating: [:], count: flat.pools.count)
        for kind in starts.indices {
            let sorted = starts[kind].sorted()
            for (i, s) in sorted.enumerated() {
                let end = i + 1 < sorted.count ? sorted[i + 1] : UInt64(flat.pools[kind].count)
                sizes[kind][s] = Int(end - s)
            }
        }
        let m = flat.model
        var facts: [LayerFacts] = Array(repeating: LayerFacts(kinds: [], groupings: [], maxPages: 0, bytesRead: 0), count: m.layerCount)
        for (i, head) in flat.heads.enumerated() {
            let layer = (i / m.kvHeads) % m.layerCount
            facts[layer].maxPages = max(facts[layer].maxPages, Int(head.pageCount))
            facts[layer].bytesRead += HeadPages.directoryEntryBytes
            for p in flat.pages[Int(head.firstPage)..<Int(head.firstPage + head.pageCount)] {
                let c = EncodingClass(key: p.keyEncoding, value: p.valueEncoding)
                if !facts[layer].classes.contains(c) { facts[layer].classes.append(c) }
                facts[layer].kinds.insert(p.keyEncoding.kind)
                facts[layer].kinds.insert(p.valueEncoding.kind)
                if let g = p.keyEncoding.grouping { facts[layer].groupings.insert(g) }
                if let g = p.valueEncoding.grouping { facts[layer].groupings.insert(g) }
                facts[layer].maxPageTokens = max(facts[layer].maxPageTokens, Int(p.tokens))
                facts[layer].bytesRead += Page.tableEntryBytes
                    + sizes[Int(p.keyEncoding.kind.rawValue)][p.keyOffset, default: 0]
                    + sizes[Int(p.valueEncoding.kind.rawValue)][p.valueOffset, default: 0]
            }
        }
        for layer in facts.indices { facts[layer].classes.sort() }
        return facts
    }
}
