/// The order of encoding classes that every head of a live decode keeps its pages in, when there
/// is one: a live head's pages run class by class in position order (a quantized prompt, then
/// the f16 pages appended since), and a decode can then run one kernel pass per class over each
/// head's range of it (`DecodeCall`'s passes) instead of the one kernel that reads every class.
/// No order exists when a head has a class twice (f16, int8, f16) or two heads disagree.
struct ClassOrder {
    private(set) var classes: [EncodingClass] = []
    /// Pairs (earlier, later) of indices into `classes`, as `earlier * 64 + later`.
    private var edges: Set<Int> = []
    private var broken = false

    /// Adds one head's runs of classes (in page order).
    mutating func add(runs: [(EncodingClass, Int)]) {
        guard !broken else { return }
        var previous = -1, seen = 0 as UInt64
        for (c, _) in runs {
            let i: Int
            if let at = classes.firstIndex(of: c) { i = at } else {
                guard classes.count < 64 else { broken = true; return }
                classes.append(c)
                i = classes.count - 1
            }
            guard seen & (1 << UInt64(i)) == 0 else { broken = true; return }
            seen |= 1 << UInt64(i)
            if previous >= 0 { edges.insert(previous * 64 + i) }
            previous = i
        }
    }

    /// The classes in an order every head follows; nil when none exists.
    func resolved() -> [EncodingClass]? {
        guard !broken else { return nil }
        var incoming = Array(repeating: 0, count: classes.count)
        for e in edges { incoming[e % 64] += 1 }
        var out: [Int] = [], ready = incoming.indices.filter { incoming[$0] == 0 }
        while let i = ready.first {
            ready.removeFirst()
            out.append(i)
            for e in edges where e / 64 == i {
                incoming[e % 64] -= 1
                if incoming[e % 64] == 0 { ready.append(e % 64) }
            }
        }
        return out.count == classes.count ? out.map { classes[$0] } : nil
    }
}
