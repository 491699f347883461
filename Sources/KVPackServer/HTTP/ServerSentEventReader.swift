/// The client's side of the server-sent events `kvpack serve` streams: text as it arrives in,
/// the `data:` payloads of the events it completes out (`[DONE]` included), in order.
public struct ServerSentEventReader: Sendable {
    private var pending = ""

    public init() {}

    /// Feeds received text (any cut of the stream); returns the payloads of the events it
    /// completes. Events without a `data: ` line give nothing.
    public mutating func feed(_ text: String) -> [String] {
        pending += text
        var payloads: [String] = []
        while let end = pending.range(of: "\n\n") {
            let event = pending[..<end.lowerBound]
            if event.hasPrefix("data: ") { payloads.append(String(event.dropFirst(6))) }
            pending.removeSubrange(..<end.upperBound)
        }
        return payloads
    }

    /// What is left after the last complete event (a cut-off stream's tail, or an error body).
    public var remainder: String { pending }
}
