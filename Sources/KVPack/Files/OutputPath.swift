import Foundation

/// An output a command cannot write, found before it does any work.
public enum OutputPathError: Error, Equatable, CustomStringConvertible {
    case exists(String)
    case directoryMissing(path: String, directory: String)
    case directoryIsFile(path: String, directory: String)
    case notWritable(path: String, directory: String)
    case isDirectory(String)
    case notDirectory(String)
    case isInput(path: String, input: String)
    case holdsInput(directory: String, input: String)
    case foreignDirectory(path: String, entry: String)

    public var description: String {
        switch self {
        case .exists(let path):
            return "\(path): already exists (pass --force to overwrite)"
        case .directoryMissing(let path, let directory):
            return "\(path): cannot create: directory \(directory) does not exist"
        case .directoryIsFile(let path, let directory):
            return "\(path): cannot create: \(directory) is a file, not a directory"
        case .notWritable(let path, let directory):
            return "\(path): cannot create: directory \(directory) is not writable"
        case .isDirectory(let path):
            return "\(path): is a directory; give a file name"
        case .notDirectory(let path):
            return "cannot write the report into \(path): it is a file, not a directory"
        case .isInput(let path, let input):
            return "\(path): is the input \(input); write the output elsewhere (--force never replaces an input)"
        case .holdsInput(let directory, let input):
            return "cannot write the report into \(directory): it holds the input \(input), and a report replaces the whole directory; choose another directory"
        case .foreignDirectory(let path, let entry):
            return "cannot write the report into \(path): it holds \(entry), which is not part of a kvpack report, and a report replaces the whole directory; choose a new or empty directory"
        }
    }
}

/// Checks outputs before any work is done, and sweeps the temporary files that interrupted runs
/// left beside them (`TemporaryFiles.sweep`).
public enum OutputPath {
    /// `path` can be written as a file: its directory exists and is writable, it is not a
    /// directory, it exists only with `overwrite`, and it is none of `inputs` (by device and inode,
    /// so links and other spellings of an input count).
    public static func prepareFile(_ path: String, overwrite: Bool, inputs: [String]) throws(OutputPathError) {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try checkDirectory(directory, for: path)
        if let target = identity(path) {
            guard !target.isDirectory else { throw .isDirectory(path) }
            if let input = inputs.first(where: { identity($0)?.sameFile(as: target) == true }) { throw .isInput(path: path, input: input) }
            guard overwrite else { throw .exists(path) }
        }
        TemporaryFiles.sweep(directory)
    }

    /// `path` can be replaced as a whole by a folder written beside it: its parent exists (missing
    /// ones are created) and is writable; `path` is a new or empty directory, or one whose every
    /// entry `replaceable` accepts (a previous output of the same kind); it holds none of `inputs`.
    public static func prepareDirectory(_ path: String, inputs: [String], replaceable: (String) -> Bool) throws(OutputPathError) {
        let fm = FileManager.default
        let parent = URL(fileURLWithPath: path).standardizedFileURL.deletingLastPathComponent().path
        if !fm.fileExists(atPath: parent) { try? fm.createDirectory(atPath: parent, withIntermediateDirectories: true) }
        try checkDirectory(parent, for: path)
        if let target = identity(path) {
            guard target.isDirectory else { throw .notDirectory(path) }
            let root = URL(fileURLWithPath: path).resolvingSymlinksInPath().path + "/"
            for input in inputs where URL(fileURLWithPath: input).resolvingSymlinksInPath().path.hasPrefix(root) {
                throw .holdsInput(directory: path, input: input)
            }
            let entries = ((try? fm.contentsOfDirectory(atPath: path)) ?? []).sorted()
            if let foreign = entries.first(where: { !replaceable($0) }) { throw .foreignDirectory(path: path, entry: foreign) }
        }
        TemporaryFiles.sweep(parent)
    }

    static func checkDirectory(_ directory: String, for path: String) throws(OutputPathError) {
        guard let found = identity(directory) else { throw .directoryMissing(path: path, directory: directory) }
        guard found.isDirectory else { throw .directoryIsFile(path: path, directory: directory) }
        guard access(directory, W_OK | X_OK) == 0 else { throw .notWritable(path: path, directory: directory) }
    }

    struct Identity {
        var device: UInt64, inode: UInt64, isDirectory: Bool
        func sameFile(as other: Identity) -> Bool { device == other.device && inode == other.inode }
    }

    /// Device, inode and kind of what `path` names (links followed), or nil when nothing is there.
    static func identity(_ path: String) -> Identity? {
        var s = stat()
        guard stat(path, &s) == 0 else { return nil }
        return Identity(device: UInt64(s.st_dev), inode: UInt64(s.st_ino), isDirectory: (s.st_mode & S_IFMT) == S_IFDIR)
    }
}
