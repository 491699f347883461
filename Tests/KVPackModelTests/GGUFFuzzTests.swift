import Foundation
import KVPackModel
import KVPackTestSupport
import Testing

/// Seeded mutations of valid GGUF files (like the `.kvp` reader's fuzz tests): flipped bits,
/// truncations, inserted and overwritten bytes. Every outcome must be a `GGUFError` or a file
/// whose tensors all dequantize (or refuse with a typed error) and whose tokenizer, when it
/// builds, encodes and decodes; a crash or hang fails the run. The libFuzzer target
/// `gguf-fuzz` (Tools/fuzz) runs the same check on unbounded inputs.
@Suite("GGUF: seeded mutations")
struct GGUFFuzzTests {
    static let seeds: [(String, [UInt8])] = {
        var seeds = [("sample", GGUFBuilder.sample().bytes()), ("gpt2 vocabulary", TinyVocabularies.gpt2().bytes()),
                     ("llama vocabulary", TinyVocabularies.llama().bytes())]
        if let fixture = FileManager.default.contents(atPath: Fixtures.path("dequant.gguf")) { seeds.append(("dequant.gguf", Array(fixture))) }
        return seeds
    }()

    @Test("mutated files give a typed error or a usable file", arguments: 0..<4)
    func mutations(seedIndex: Int) throws {
        let (name, seed) = Self.seeds[seedIndex]
        var rng = TestRandom(UInt64(1900 + seedIndex))
        var errors = 0, opened = 0
        for i in 0..<1500 {
            var b = seed
            func at() -> Int { Int(rng.next() * Double(b.count)) }
            switch i % 5 {
            case 0: b[at()] ^= UInt8(1 << Int(rng.next() * 8))
            case 1: b = Array(b.prefix(at()))
            case 2: b.insert(contentsOf: (0..<Int(rng.next() * 16) + 1).map { _ in UInt8(rng.next() * 256) }, at: at())
            case 3: for _ in 0..<4 { b[at()] = UInt8(rng.next() * 256) }
            default:
                // A length or count field (8 bytes) set to a large value at a random early offset.
                let p = Int(rng.next() * Double(min(b.count - 8, 400)))
                b.replaceSubrange(p..<p + 8, with: UInt64(rng.bits() >> Int(rng.next() * 64)).leBytes)
            }
            switch Result(catching: { () throws(GGUFError) in try GGUFFile(bytes: b) }) {
            case .failure: errors += 1
            case .success(let file):
                opened += 1
                exercise(file)
            }
        }
        #expect(errors + opened == 1500 && errors > 0, "\(name): \(errors) errors, \(opened) opened")
    }

    /// Uses everything a caller might on a file that opened: no outcome but a crash is wrong.
    func exercise(_ file: GGUFFile) {
        for tensor in file.tensors where tensor.type.isDequantizable && tensor.elementCount <= 1 << 20 {
            _ = try? file.dequantize(tensor)
            _ = try? file.dequantize(tensor, rows: 0..<min(1, tensor.rowCount))
        }
        if let tokenizer = try? file.tokenizer() {
            for text in ["", " ", "a", "the ab a\n\n 123 é 🌍"] {
                if let ids = try? tokenizer.encode(text) { _ = try? tokenizer.decode(ids) }
            }
            _ = try? tokenizer.decode(Array(0..<min(tokenizer.vocabularySize, 300)))
        }
    }
}
