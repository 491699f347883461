import Foundation

/// Puts a finished folder in place of a directory in one step.
enum DirectorySwap {
    /// Moves `replacement` to `path`. An existing directory at `path` is exchanged with it
    /// atomically where the system can (Linux `renameat2(RENAME_EXCHANGE)`, macOS
    /// `renamex_np(RENAME_SWAP)`); elsewhere it is renamed aside and `replacement` renamed into
    /// place, back to back. Either way the previous directory ends at `replacement`'s path, for
    /// the caller to remove. Run it with interrupts held off (`TemporaryFiles.holdingSignals`).
    static func replace(_ path: String, with replacement: String) throws(ReportDirectoryError) {
        if rename(replacement, path) == 0 { return } // no directory there yet (or an empty one)
        guard errno == ENOTEMPTY || errno == EEXIST else { throw failure(path) }
        if exchange(replacement, path) { return }
        let aside = replacement + "-previous"
        guard rename(path, aside) == 0 else { throw failure(path) }
        guard rename(replacement, path) == 0 else {
            let error = failure(path)
            rename(aside, path)
            throw error
        }
        // The previous report goes where the caller removes it.
        _ = try? FileManager.default.removeItem(atPath: replacement)
        rename(aside, replacement)
    }

    static func failure(_ path: String) -> ReportDirectoryError {
        .cannotCreate(path: path, reason: String(cString: strerror(errno)))
    }

    #if canImport(Glibc)
    typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
    /// glibc's `renameat2` (Linux 3.15+), looked up at run time: Swift's Glibc module hides it.
    static let renameat2: RenameAt2? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "renameat2").map { unsafeBitCast($0, to: RenameAt2.self) }
    #endif

    /// Exchanges two existing paths atomically; false where the system or file system cannot.
    static func exchange(_ a: String, _ b: String) -> Bool {
        #if canImport(Glibc)
        guard let renameat2 else { return false }
        return renameat2(AT_FDCWD, a, AT_FDCWD, b, 1 << 1 /* RENAME_EXCHANGE */) == 0
        #elseif canImport(Darwin)
        return renamex_np(a, b, UInt32(RENAME_SWAP)) == 0
        #else
        return false
        #endif
    }
}
