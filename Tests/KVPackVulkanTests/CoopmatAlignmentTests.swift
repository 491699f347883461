import Foundation
import Testing

/// The cooperative-matrix kernel's matrix loads and stores need a 16-byte-aligned pointer and
/// stride (VUID-RuntimeSpirv-OpCooperativeMatrixLoadKHR-08986). A shared array is only as aligned
/// as its element type, and the driver places it: so every array a `coopMatLoad` / `coopMatStore`
/// of the cooperative-matrix kernels (`Kernels/decode_*_coopmat.comp` and their includes) reads or writes must have a 16-byte element type (`uvec4`
/// or `vec4`). Its first GPU run used 8-byte `f16vec4` tiles and failed every case.
@Suite("Cooperative-matrix kernel source: 16-byte-aligned matrix buffers")
struct CoopmatAlignmentTests {
    /// The cooperative-matrix kernels' sources: the three kernels and the includes they share (the
    /// tiles in `coopmat_tiles.glsl`, the matrix loads in `coopmat_steps.glsl`, the int8 / int4 stager).
    static let files = ["decode_f16_coopmat.comp", "decode_int8_coopmat.comp", "decode_int4_coopmat.comp",
                        "include/coopmat_tiles.glsl", "include/coopmat_steps.glsl", "include/coopmat_codes.glsl"]

    static func source() throws -> String {
        let kernels = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Kernels")
        return try files.map { try String(contentsOf: kernels.appendingPathComponent($0), encoding: .utf8) }.joined(separator: "\n")
    }

    /// The second argument of each `coopMatLoad(` / `coopMatStore(` call: the buffer.
    static func matrixBuffers(_ text: String) -> [String] {
        var names: [String] = []
        for call in ["coopMatLoad(", "coopMatStore("] {
            for piece in text.components(separatedBy: call).dropFirst() {
                let arguments = piece.split(separator: ",", maxSplits: 2)
                if arguments.count > 1 { names.append(arguments[1].trimmingCharacters(in: .whitespaces)) }
            }
        }
        return names
    }

    /// The element type of `shared TYPE name[...]`, nil when there is no such declaration.
    static func sharedElementType(_ name: String, in text: String) -> String? {
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ", maxSplits: 2)
            if words.count == 3, words[0] == "shared", words[2].hasPrefix("\(name)[") { return String(words[1]) }
        }
        return nil
    }

    @Test("every buffer of a matrix load or store is a shared array of uvec4 or vec4")
    func aligned() throws {
        let text = try Self.source()
        let buffers = Set(Self.matrixBuffers(text))
        // Q, the key and value stages, P, and the fp32 scratch of S and the accumulators.
        #expect(buffers == ["tileQ", "stageK", "stageV", "tileP", "scratch"])
        for name in buffers {
            let type = Self.sharedElementType(name, in: text)
            #expect(type == "uvec4" || type == "vec4", "\(name): shared \(type ?? "(none)")")
        }
    }

    @Test("the parsing, on a hand-written kernel with an 8-byte-aligned tile")
    func parsing() {
        let text = """
            shared f16vec4 tileA[64];
            shared vec4 out[64];
            void f() { coopMatLoad(a, tileA, 4u * c, ROW, gl_CooperativeMatrixLayoutRowMajor); coopMatStore(s, out, 0u, 4u, 0); }
            """
        #expect(Self.matrixBuffers(text) == ["tileA", "out"])
        #expect(Self.sharedElementType("tileA", in: text) == "f16vec4")
        #expect(Self.sharedElementType("out", in: text) == "vec4")
        #expect(Self.sharedElementType("missing", in: text) == nil)
    }
}
