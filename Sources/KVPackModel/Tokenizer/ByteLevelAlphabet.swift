/// GPT-2's byte-level alphabet: each of the 256 byte values is spelled by one printable
/// character (printable Latin-1 bytes by themselves, the rest by U+0100 onwards; the space is
/// `Ġ`, U+0120), so byte-level BPE vocabularies and merges are plain strings.
enum ByteLevelAlphabet {
    /// The character of each byte value (`bytes_to_unicode` in GPT-2's encoder.py).
    static let characters: [Unicode.Scalar] = {
        let printable = Set(Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF))
        var next: UInt32 = 256
        return (0..<256).map { b in
            if printable.contains(b) { return Unicode.Scalar(UInt8(b)) }
            defer { next += 1 }
            return Unicode.Scalar(next) ?? " "  // 256..<324: always valid scalars
        }
    }()

    /// The byte value each alphabet character spells.
    static let bytes: [Unicode.Scalar: UInt8] = {
        var map = [Unicode.Scalar: UInt8]()
        for (b, s) in characters.enumerated() { map[s] = UInt8(b) }
        return map
    }()
}
