import CVulkan
import KVPack

/// A `FlatCache` in device memory: the head directory, the page table and the four pools,
/// byte for byte as `FlatCache` (and the `.kvp` file) lays them out. Positions stay on the host:
/// decode attends to every kept token, so the kernels never read them.
public final class DeviceKVCache: @unchecked Sendable {
    public let model: ModelFacts
    public let sequenceCount: Int
    public let pageSize: Int
    let directory: DeviceBuffer
    let table: DeviceBuffer
    /// `pools[kind.rawValue]`.
    let pools: [DeviceBuffer]
    /// Per layer: the encoding kinds its pages use, the most pages of any head, and the bytes a
    /// decode over the layer reads (directory entries, page-table entries and payloads).
    let layers: [LayerFacts]

    struct LayerFacts: Sendable {
        var kinds: Set<PageEncodingKind>
        /// Groupings of the layer's int8 / int4 pages.
        var groupings: Set<QuantizationGrouping>
        var maxPages: Int
        var bytesRead: Int
    }

    /// Uploads `flat`.
    /// - Throws: `VulkanError.tooLarge` before allocating anything when a pool or the page table
    ///   exceeds `maxStorageBufferRange`, or the whole cache exceeds the device-local heap;
    ///   `VulkanError.unsupported` for a head dim the kernels do not cover.
    public init(_ context: VulkanContext, flat: FlatCache) throws(VulkanError) {
        try Self.preflight(flat, capabilities: context.capabilities)
        var directory: [UInt32] = []
        directory.reserveCapacity(2 * flat.heads.count)
        for h in flat.heads { directory += [h.firstPage, h.pageCount] }
        var table: [UInt32] = []
        table.reserveCapacity(8 * flat.pages.count)
        for p in flat.pages {
            let k = p.keyEncoding.grouping, v = p.valueEncoding.grouping
            let axes = (k?.axis == .channel ? 1 : 0) | (v?.axis == .channel ? 2 : 0)
            table += [p.positionsOffset,
                      UInt32(p.tokens) | UInt32(p.keyEncoding.kind.rawValue) << 16 | UInt32(p.valueEncoding.kind.rawValue) << 24,
                      UInt32(k?.groupSize ?? 0) | UInt32(v?.groupSize ?? 0) << 16,
                      UInt32(axes),
                      UInt32(truncatingIfNeeded: p.keyOffset), UInt32(truncatingIfNeeded: p.keyOffset >> 32),
                      UInt32(truncatingIfNeeded: p.valueOffset), UInt32(truncatingIfNeeded: p.valueOffset >> 32)]
        }
        self.model = flat.model
        self.sequenceCount = flat.sequences.count
        self.pageSize = flat.pageSize
        self.layers = Self.layerFacts(flat)
        self.directory = try DeviceBuffer(context, contents: directory)
        self.table = try DeviceBuffer(context, contents: table)
        var pools: [DeviceBuffer] = []
        for pool in flat.pools { pools.append(try DeviceBuffer(context, contents: pool, minimumSize: pool.count + 16)) }
        self.pools = pools
    }

    /// Checks `flat` against the device's limits; runs before anything is allocated.
    static func preflight(_ flat: FlatCache, capabilities caps: VulkanCapabilities) throws(VulkanError) {
        let d = flat.model.headDim
        guard [64, 128, 256].contains(d) else { throw .unsupported("head dim \(d) (64, 128 and 256 are)") }
        let tableBytes = flat.pages.count * Page.tableEntryBytes
        let directoryBytes = flat.heads.count * HeadPages.directoryEntryBytes
        var buffers = [("the page table", tableBytes), ("the head directory", directoryBytes)]
        for kind in PageEncodingKind.allCases { buffers.append(("the \(kind) pool", flat.pools[Int(kind.rawValue)].count + 16)) }
        for (what, bytes) in buffers where bytes > caps.maxStorageBufferRange {
            throw .tooLarge(what: what, bytes: bytes, limit: caps.maxStorageBufferRange, limitName: "maxStorageBufferRange")
        }
        let total = buffers.reduce(0) { $0 + $1.1 }
        guard caps.deviceLocalBytes == 0 || total <= caps.deviceLocalBytes else {
            throw .tooLarge(what: "the cache", bytes: total, limit: caps.deviceLocalBytes, limitName: "device-local memory heap")
        }
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
                facts[layer].kinds.insert(p.keyEncoding.kind)
                facts[layer].kinds.insert(p.valueEncoding.kind)
                if let g = p.keyEncoding.grouping { facts[layer].groupings.insert(g) }
                if let g = p.valueEncoding.grouping { facts[layer].groupings.insert(g) }
                facts[layer].bytesRead += Page.tableEntryBytes
                    + sizes[Int(p.keyEncoding.kind.rawValue)][p.keyOffset, default: 0]
                    + sizes[Int(p.valueEncoding.kind.rawValue)][p.valueOffset, default: 0]
            }
        }
        return facts
    }
}
