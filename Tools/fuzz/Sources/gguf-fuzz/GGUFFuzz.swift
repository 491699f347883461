import FuzzDriver
import KVPackModel

/// libFuzzer entry: any bytes must open as a GGUF file or fail with a GGUFError; a file that
/// opens must dequantize each (small enough) tensor or refuse with a typed error, and build its
/// tokenizer (if it has a vocabulary) that then encodes and decodes. A crash, hang or sanitizer
/// report is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let file = try? GGUFFile(bytes: Array(UnsafeBufferPointer(start: data, count: size))) else { return 0 }
    for tensor in file.tensors where tensor.type.isDequantizable && tensor.elementCount <= 1 << 20 {
        _ = try? file.dequantize(tensor)
    }
    if let tokenizer = try? file.tokenizer() {
        for text in ["", " ", "a", "the ab a\n\n 123 é 🌍"] {
            if let ids = try? tokenizer.encode(text) { _ = try? tokenizer.decode(ids) }
        }
    }
    return 0
}

@_cdecl("gguf_fuzz_main")
public func ggufFuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in fuzz(data, size) }
}
