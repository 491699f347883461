/// A binary min-heap of candidate merges: both tokenizers pop the best adjacent pair next
/// (lowest merge rank for BPE, highest score for SentencePiece, leftmost on ties). Reused across
/// words (`removeAll` keeps the storage), so encoding allocates nothing per merge.
struct MergeQueue<Candidate: Comparable> {
    private var heap: [Candidate] = []

    var isEmpty: Bool { heap.isEmpty }

    mutating func removeAll() { heap.removeAll(keepingCapacity: true) }

    mutating func push(_ candidate: Candidate) {
        heap.append(candidate)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child] < heap[parent] else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Candidate? {
        guard let last = heap.popLast() else { return nil }
        guard !heap.isEmpty else { return last }
        let top = heap[0]
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var best = parent
            if left < heap.count, heap[left] < heap[best] { best = left }
            if right < heap.count, heap[right] < heap[best] { best = right }
            guard best != parent else { break }
            heap.swapAt(parent, best)
            parent = best
        }
        return top
    }
}
