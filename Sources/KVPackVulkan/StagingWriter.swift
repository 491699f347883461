/// Writes byte runs one after another into a mapped staging buffer, each starting 16-byte aligned
/// (the offsets the copies and the scatter records read from).
struct StagingWriter {
    let base: UnsafeMutableRawPointer
    /// Where the next run starts.
    private(set) var cursor = 0

    init(_ base: UnsafeMutableRawPointer) { self.base = base }

    /// Copies `raw` at the cursor and returns its offset; the cursor moves past it, to 16 bytes.
    mutating func put(_ raw: UnsafeRawBufferPointer) -> Int {
        let at = cursor
        if raw.count > 0 { (base + at).copyMemory(from: raw.baseAddress!, byteCount: raw.count) }
        cursor = (cursor + raw.count + 15) & ~15
        return at
    }

    /// Copies each of `runs` right after the one before (no alignment between them), then aligns
    /// the cursor to 16 bytes; returns the first run's offset.
    mutating func putContiguous(_ runs: [[Float]]) -> Int {
        let at = cursor
        for run in runs {
            run.withUnsafeBytes { raw in (base + cursor).copyMemory(from: raw.baseAddress!, byteCount: raw.count) }
            cursor += 4 * run.count
        }
        cursor = (cursor + 15) & ~15
        return at
    }
}
