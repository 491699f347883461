import FuzzDriver
import KVPack

/// libFuzzer entry: any bytes must decode to a cache or fail with a KVPFileError; a crash,
/// hang or sanitizer report is a bug. A decoded cache must re-encode and decode to itself.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let cache = try? KVPFile.decode(bytes) else { return 0 }
    guard let again = try? KVPFile.decode(KVPFile.encode(cache)), again == cache else {
        fatalError("a decoded cache does not survive re-encoding")
    }
    return 0
}

@_cdecl("kvp_fuzz_main")
public func kvpFuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in fuzz(data, size) }
}
