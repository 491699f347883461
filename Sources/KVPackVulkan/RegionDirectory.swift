import Foundation
import KVPack

/// Where each head of each session layer has its page-table region, per bank, and what its
/// pages are (classes, bytes) as of the last call: kept up to date from the first changed page,
/// so that a call costs the host the pages that changed, not every page.
final class RegionDirectory: @unchecked Sendable {
    struct Region {
        var bank: Int
        var offset: Int
        var size: Int
    }

    /// A head as the device tables hold it.
    struct HeadMirror {
        var region: Region
        /// Per page: its encoding class and the bytes a decode reads (table entry and payloads);
        /// the last page's bytes may lag behind `lastBytes` (see `update`): `pageList` has them all.
        private(set) var pages: [(EncodingClass, Int)] = []
        /// The pages' classes run-length coded, in page order.
        private(set) var runs: [(EncodingClass, Int)] = []
        private(set) var bytes = 0
        /// Kept beside the arrays, so that a decode step (the open page grew) and the call's
        /// `table` touch neither array: their headers and last elements were cold lines, two or
        /// three a head and call.
        private(set) var pageCount = 0
        private var lastClass: EncodingClass?
        private var lastBytes = 0
        private var firstClass: EncodingClass?
        private var runCount = 0

        init(region: Region) { self.region = region }

        /// The pages with the last one's bytes current.
        var pageList: [(EncodingClass, Int)] {
            var list = pages
            if pageCount > 0 { list[pageCount - 1].1 = lastBytes }
            return list
        }

        /// Pages per class present, in the order the classes first appear (from `runs`).
        var classCounts: [(EncodingClass, Int)] {
            var counts: [(EncodingClass, Int)] = []
            for (c, n) in runs {
                if let i = counts.firstIndex(where: { $0.0 == c }) { counts[i].1 += n } else { counts.append((c, n)) }
            }
            return counts
        }

        /// Replaces pages `from...` with `new`. In place and element by element: a decode step
        /// changes the open page and perhaps adds one, so this costs those, not the head's pages;
        /// where only the last page changed and kept its class, only the values beside the arrays.
        mutating func update<C: Collection>(from: Int, _ new: C) where C.Element == (EncodingClass, Int) {
            if pageCount > 0, from == pageCount - 1, new.count == 1, let (c, b) = new.first, c == lastClass {
                bytes += b - lastBytes
                lastBytes = b
                return
            }
            if pageCount > 0 { pages[pageCount - 1].1 = lastBytes }
            var from = from
            var it = new.makeIterator()
            var next = it.next()
            // The common case, a decode step: the open page grew (same class), maybe a page more.
            while from < pages.count, let (c, b) = next, pages[from].0 == c {
                bytes += b - pages[from].1
                pages[from].1 = b
                from += 1
                next = it.next()
            }
            if from < pages.count {
                for i in from..<pages.count { bytes -= pages[i].1 }
                var removed = pages.count - from
                while removed > 0, let last = runs.last {
                    let n = min(removed, last.1)
                    runs[runs.count - 1].1 -= n
                    if runs[runs.count - 1].1 == 0 { runs.removeLast() }
                    removed -= n
                }
                pages.removeSubrange(from...)
            }
            while let (c, b) = next {
                bytes += b
                if let last = runs.last, last.0 == c { runs[runs.count - 1].1 += 1 } else { runs.append((c, 1)) }
                pages.append((c, b))
                next = it.next()
            }
            pageCount = pages.count
            lastClass = pages.last?.0
            lastBytes = pages.last?.1 ?? 0
            firstClass = runs.first?.0
            runCount = runs.count
        }

        /// No pages (the device tables' entries are to be written again).
        mutating func clear() {
            pages = []
            runs = []
            bytes = 0
            pageCount = 0
            lastClass = nil
            lastBytes = 0
            firstClass = nil
            runCount = 0
        }

        /// What a call needs of the head (`HeadTable`), its table entries to write from `from`.
        func table(from: Int) -> HeadTable {
            HeadTable(offset: region.offset, pages: pageCount, bytes: bytes, from: from, firstClass: firstClass,
                      runs: runCount > 1 ? runs : nil)
        }
    }

    /// What a call needs of one head after `update`: its region's offset and pages (the decode's
    /// directory entry), the bytes a decode reads, the first page whose table entry must be
    /// written, and its classes (one, or the runs of several). Plain values: a batch of 32
    /// sessions reads 256 of these a layer, and copies of the mirrors' three arrays each were a
    /// third of the call's host time in retains and releases.
    struct HeadTable {
        var offset: Int
        var pages: Int
        var bytes: Int
        var from: Int
        /// The head's one class (its first, where it has several).
        var firstClass: EncodingClass?
        /// Its classes' runs in page order when it has more than one class (nil: one class).
        var runs: [(EncodingClass, Int)]?

        /// Its classes' runs in page order.
        var allRuns: [(EncodingClass, Int)] { runs ?? firstClass.map { [($0, pages)] } ?? [] }
    }

    /// The mirrors of one session layer's heads, kept by reference so that a call updates them
    /// in place (no dictionary removal and re-insertion per call).
    final class LayerMirrors {
        var heads: [HeadMirror?] = []
    }

    private struct SessionLayer: Hashable {
        var session: UInt64
        var layer: Int
    }

    private let lock = NSLock()
    private var tables: [TableRegions]
    private var layers: [SessionLayer: LayerMirrors] = [:]
    let capacity: Int

    init(banks: Int, capacity: Int) {
        self.capacity = capacity
        tables = Array(repeating: TableRegions(capacity: capacity), count: banks)
    }

    /// Brings the mirrors of every head of `read` up to its pages (each changed from its
    /// `dirtyFrom` on): a head's region moves to a larger one when too small. Appends per head
    /// what the call needs (`HeadTable`: the first page whose table entry must be written is 0
    /// after a move) to `out`; false when the bank's table is full (heads before the full one are
    /// updated, and `out` may hold some of them).
    func update(_ read: CacheSession.DeviceLayerRead, dim: Int, into out: inout [HeadTable]) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        let key = SessionLayer(session: read.session, layer: read.layer)
        let layer: LayerMirrors
        if let known = layers[key] {
            layer = known
        } else {
            layer = LayerMirrors()
            layers[key] = layer
        }
        if layer.heads.count != read.heads.count {
            for case let m? in layer.heads { tables[m.region.bank].release(offset: m.region.offset, size: m.region.size) }
            layer.heads = Array(repeating: nil, count: read.heads.count)
        }
        for h in read.heads.indices {
            // Moved out and back, so that its page list is updated in place, never copied (a
            // copy of a long list per head and call was most of this function once).
            var mirror = layer.heads[h].take()
            let pages = read.heads[h].pages
            var from = min(read.dirtyFrom[h], pages.count)
            if let region = mirror?.region, region.bank == read.bank, region.size >= pages.count {
                from = min(from, mirror!.pageCount)
            } else {
                let size = TableRegions.size(for: pages.count)
                guard let offset = tables[read.bank].allocate(size: size) else {
                    layer.heads[h] = mirror
                    return false
                }
                if let old = mirror?.region { tables[old.bank].release(offset: old.offset, size: old.size) }
                mirror = HeadMirror(region: Region(bank: read.bank, offset: offset, size: size))
                from = 0
            }
            var m = mirror.take()!
            if from < m.pageCount || from < pages.count {
                m.update(from: from, pages[from...].lazy.map { p in
                    (EncodingClass(key: p.slotClass.keyEncoding, value: p.slotClass.valueEncoding), p.byteCount(dim: dim) - 4 * p.tokens)
                })
            }
            out.append(m.table(from: from))
            layer.heads[h] = consume m
        }
        return true
    }

    /// Forgets what the device tables hold for the session's `layer` (a call that failed after
    /// the mirrors were updated): the next call rewrites its heads.
    func forget(session: UInt64, layer: Int) {
        lock.lock()
        defer { lock.unlock() }
        guard let mirrors = layers[SessionLayer(session: session, layer: layer)] else { return }
        for h in mirrors.heads.indices { mirrors.heads[h]?.clear() }
    }

    func dropSession(_ id: UInt64) {
        lock.lock()
        defer { lock.unlock() }
        for key in layers.keys where key.session == id {
            for case let m? in layers.removeValue(forKey: key)!.heads { tables[m.region.bank].release(offset: m.region.offset, size: m.region.size) }
        }
    }

    var inUse: [Int] {
        lock.lock()
        defer { lock.unlock() }
        return tables.map(\.inUse)
    }
}
