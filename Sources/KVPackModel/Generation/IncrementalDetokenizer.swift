/// Generated tokens turned into text a token at a time, for streaming: a token's bytes may end
/// inside a UTF-8 character (byte tokens, byte-level BPE pieces of an emoji), so the bytes of an
/// unfinished character wait for the tokens that complete it. The text it gives, joined, is the
/// tokens' bytes decoded as UTF-8 (invalid bytes as U+FFFD), never a character cut in two.
public struct IncrementalDetokenizer: Sendable {
    public let tokenizer: GGUFTokenizer
    private var pending: [UInt8] = []

    public init(tokenizer: GGUFTokenizer) { self.tokenizer = tokenizer }

    /// The text that token `id` completes (maybe empty).
    /// - Throws: `TokenizerError.invalidTokenID`.
    public mutating func append(_ id: Int) throws(TokenizerError) -> String {
        pending += try tokenizer.bytes(of: id)
        let complete = Self.completeLength(pending)
        guard complete > 0 else { return "" }
        let text = String(decoding: pending[..<complete], as: UTF8.self)
        pending.removeFirst(complete)
        return text
    }

    /// What is left at the end of the generation (an unfinished character as U+FFFD).
    public mutating func finish() -> String {
        defer { pending = [] }
        return String(decoding: pending, as: UTF8.self)
    }

    /// The length of the longest prefix of `bytes` that does not end inside a character that
    /// later bytes could still complete.
    static func completeLength(_ bytes: [UInt8]) -> Int {
        let n = bytes.count
        // A character is at most 4 bytes: look back at most 3 for the lead byte of the last one.
        var i = n - 1, back = 0
        while i >= 0, back < 4 {
            let b = bytes[i]
            if b & 0xC0 != 0x80 {
                let length: Int
                switch b {
                case 0xC2...0xDF: length = 2
                case 0xE0...0xEF: length = 3
                case 0xF0...0xF4: length = 4
                default: length = 1    // ASCII, or a byte no character starts with
                }
                // Unfinished when its lead byte wants more bytes than follow it.
                return n - i < length ? i : n
            }
            i -= 1
            back += 1
        }
        return n
    }
}
