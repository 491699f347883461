/// Why a `.kvp` file could not be read or written. Loading a damaged or foreign file gives one
/// of these, never a crash, a silently wrong cache, or an allocation sized by an unchecked length.
public indirect enum KVPFileError: Error, Equatable, CustomStringConvertible {
    case fileNotFound(String)
    case notKVP(reason: String)
    case newerVersion(found: UInt32, supported: UInt32)
    case truncated(section: String)
    case corrupt(section: String, reason: String)
    case checksumMismatch(section: String, reason: String)
    case invalidCache(LayoutError)
    case codec(section: String, reason: String)
    case cannotCreate(file: String, reason: String)
    case outputExists(String)
    /// An error reading the file at a path (`KVPFile.read(from:)`, `summary(from:)`).
    case file(String, KVPFileError)

    /// The error without the file it came from.
    public var withoutFile: KVPFileError {
        if case .file(_, let inner) = self { return inner.withoutFile }
        return self
    }

    public var description: String {
        switch self {
        case .fileNotFound(let f): return "\(f): no such file"
        case .notKVP(let why): return "not a KVPack .kvp file (\(why))"
        case .newerVersion(let found, let supported):
            return ".kvp format version \(found) is newer than this KVPack reads (\(supported)); upgrade KVPack"
        case .truncated(let s): return "the file is truncated (\(s) extends past its end)"
        case .corrupt(let s, let why): return "section \(s) is corrupt: \(why)"
        case .checksumMismatch(let s, let why): return "section \(s) fails its checksum or does not decode (\(why)): the file is damaged"
        case .invalidCache(let e): return "the file decodes but its cache is inconsistent: \(e)"
        case .codec(let s, let why): return "compressing section \(s) failed: \(why)"
        case .cannotCreate(let f, let why): return "\(f): cannot create: \(why)"
        case .outputExists(let f): return "\(f): already exists (pass --force to overwrite)"
        case .file(let f, let inner): return "\(f): \(inner)"
        }
    }
}
