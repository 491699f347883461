/// Stop strings over streamed text: text goes in as it is generated, and comes out only once it
/// cannot be the start of a stop string; at the first stop string the text before it comes out
/// and generation stops (the stop string itself is not part of the output, as in OpenAI's API).
public struct StopMatcher: Sendable {
    public let stops: [[Unicode.Scalar]]
    private var held: [Unicode.Scalar] = []
    public private(set) var stopped = false

    /// - Parameter stops: the stop strings (empty ones are ignored).
    public init(_ stops: [String]) {
        self.stops = stops.map { Array($0.unicodeScalars) }.filter { !$0.isEmpty }
    }

    /// Feeds newly generated text: returns the text now safe to emit, and whether a stop string
    /// was met (then nothing more may be fed).
    public mutating func feed(_ text: String) -> (emit: String, stopped: Bool) {
        guard !stopped else { return ("", true) }
        held += text.unicodeScalars
        if let at = firstStop() {
            stopped = true
            let out = String(String.UnicodeScalarView(held[..<at]))
            held = []
            return (out, true)
        }
        let keep = heldBackLength()
        let out = String(String.UnicodeScalarView(held[..<(held.count - keep)]))
        held.removeFirst(held.count - keep)
        return (out, false)
    }

    /// The text held back at the end of the generation (a partial stop string that never completed).
    public mutating func flush() -> String {
        defer { held = [] }
        return stopped ? "" : String(String.UnicodeScalarView(held))
    }

    /// Where the earliest stop string starts in `held`.
    private func firstStop() -> Int? {
        var best: Int?
        for stop in stops where stop.count <= held.count {
            for start in 0...(held.count - stop.count) where best.map({ start < $0 }) ?? true {
                if held[start..<start + stop.count].elementsEqual(stop) {
                    best = start
                    break
                }
            }
        }
        return best
    }

    /// The longest tail of `held` that is a proper prefix of some stop string.
    private func heldBackLength() -> Int {
        var longest = 0
        for stop in stops {
            for k in stride(from: min(stop.count - 1, held.count), to: longest, by: -1)
            where held[(held.count - k)...].elementsEqual(stop[..<k]) {
                longest = k
                break
            }
        }
        return longest
    }
}
