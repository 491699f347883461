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
        /// Per page: its encoding class and the bytes a decode reads (table entry and payloads).
        var pages: [(EncodingClass, Int)] = []
        /// Pages per class present (a few classes at most: a list, not a dictionary).
        var classCounts: [(EncodingClass, Int)] = []
        /// The pages' classes run-length coded, in page order.
        var runs: [(EncodingClass, Int)] = []
        var bytes = 0

        /// Replaces pages `from...` with `new`. In place and element by element: a decode step
        /// changes the open page and perhaps adds one, so this costs those, not the head's pages.
        mutating func update<C: Collection>(from: Int, _ new: C) where C.Element == (EncodingClass, Int) {
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
                for i in from..<pages.count {
                    count(pages[i].0, by: -1)
                    bytes -= pages[i].1
                }
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
                count(c, by: 1)
                bytes += b
                if let last = runs.last, last.0 == c { runs[runs.count - 1].1 += 1 } else { runs.append((c, 1)) }
                pages.append((c, b))
                next = it.next()
            }
        }

        private mutating func count(_ c: EncodingClass, by delta: Int) {
            if let i = classCounts.firstIndex(where: { $0.0 == c }) {
                classCounts[i].1 += delta
                if classCounts[i].1 == 0 { classCounts.remove(at: i) }
            } else {
                classCounts.append((c, delta))
            }
        }
    }

    private let lock = NSLock()
    private var tables: [TableRegions]
    /// Per session, per layer: each head's mirror (nil: none yet).
    private var sessions: [UInt64: [Int: [HeadMirror?]]] = [:]
    let capacity: Int

    init(banks: Int, capacity: Int) {
        self.capacity = capacity
        tables = Array(repeating: TableRegions(capacity: capacity), count: banks)
    }

    /// Brings the mirrors of every head of `read` up to its pages (each changed from its
    /// `dirtyFrom` on): a head's region moves to a larger one when too small. Returns per head
    /// the mirror and the first page whose table entry must be written (all of them after a
    /// move); nil when the bank's table is full (heads before the full one are updated).
    func update(_ read: CacheSession.DeviceLayerRead, dim: Int) -> [(mirror: HeadMirror, from: Int)]? {
        lock.lock()
        defer { lock.unlock() }
        var layers = sessions.removeValue(forKey: read.session) ?? [:]
        // Taken out of the dictionaries so that the page lists are updated in place, not copied.
        var mirrors = layers.removeValue(forKey: read.layer) ?? []
        defer {
            layers[read.layer] = mirrors
            sessions[read.session] = layers
        }
        if mirrors.count != read.heads.count {
            for case let m? in mirrors { tables[m.region.bank].release(offset: m.region.offset, size: m.region.size) }
            mirrors = Array(repeating: nil, count: read.heads.count)
        }
        var out: [(mirror: HeadMirror, from: Int)] = []
        out.reserveCapacity(read.heads.count)
        for (h, head) in read.heads.enumerated() {
            let pages = head.pages
            var from = min(read.dirtyFrom[h], pages.count)
            // Taken out of the array so that its page list is updated in place (a copy of a
            // long list per head and call was most of this function).
            var taken: HeadMirror? = nil
            swap(&taken, &mirrors[h])
            var m: HeadMirror
            if let t = taken, t.region.bank == read.bank, t.region.size >= pages.count {
                m = t
                taken = nil
                from = min(from, m.pages.count)
            } else {
                let size = TableRegions.size(for: pages.count)
                guard let offset = tables[read.bank].allocate(size: size) else {
                    swap(&taken, &mirrors[h])
                    return nil
                }
                if let old = taken { tables[old.region.bank].release(offset: old.region.offset, size: old.region.size) }
                m = HeadMirror(region: Region(bank: read.bank, offset: offset, size: size))
                from = 0
            }
            if from < m.pages.count || from < pages.count {
                m.update(from: from, pages[from...].lazy.map { p in
                    (EncodingClass(key: p.slotClass.keyEncoding, value: p.slotClass.valueEncoding), p.byteCount(dim: dim) - 4 * p.tokens)
                })
            }
            out.append((m, from))
            mirrors[h] = m
        }
        return out
    }

    /// Forgets what the device tables hold for the session's `layer` (a call that failed after
    /// the mirrors were updated): the next call rewrites its heads.
    func forget(session: UInt64, layer: Int) {
        lock.lock()
        defer { lock.unlock() }
        guard var layers = sessions.removeValue(forKey: session) else { return }
        if var mirrors = layers.removeValue(forKey: layer) {
            for h in mirrors.indices {
                mirrors[h]?.pages = []
                mirrors[h]?.classCounts = []
                mirrors[h]?.runs = []
                mirrors[h]?.bytes = 0
            }
            layers[layer] = mirrors
        }
        sessions[session] = layers
    }

    func dropSession(_ id: UInt64) {
        lock.lock()
        defer { lock.unlock() }
        guard let layers = sessions.removeValue(forKey: id) else { return }
        for mirrors in layers.values {
            for case let m? in mirrors { tables[m.region.bank].release(offset: m.region.offset, size: m.region.size) }
        }
    }

    var inUse: [Int] {
        lock.lock()
        defer { lock.unlock() }
        return tables.map(\.inUse)
    }
}
