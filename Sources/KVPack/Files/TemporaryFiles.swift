import Foundation
import Synchronization

/// The temporary files and folders KVPack writes beside an output before renaming it into place,
/// named `.NAME.tmp-PID-RANDOM`. Registered ones are removed when the process is interrupted
/// (SIGINT, SIGTERM, SIGHUP, once `installSignalCleanup` ran); those of a process that died
/// without cleaning up (kill -9, a crash) are swept by the next `sweep` of their directory.
public enum TemporaryFiles {
    /// A registered temporary path.
    public struct Token: Sendable, Hashable {
        let id: Int
    }

    struct Registry {
        var next = 0
        var paths: [Int: String] = [:]
    }

    static let registry = Mutex(Registry())

    /// A fresh temporary path beside `path`, for this process.
    public static func path(beside path: String) -> String {
        let url = URL(fileURLWithPath: path)
        let name = url.lastPathComponent.isEmpty ? "output" : url.lastPathComponent
        return url.deletingLastPathComponent().appendingPathComponent(".\(name).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
    }

    /// Registers `path` (a file or folder) for removal on an interrupt.
    public static func register(_ path: String) -> Token {
        registry.withLock { r in
            r.next += 1
            r.paths[r.next] = path
            return Token(id: r.next)
        }
    }

    /// Creates the folder `path` and registers it in one step under the registry's lock, so an
    /// interrupt finds it either registered or not yet made (never made after the cleanup ran).
    public static func createDirectory(_ path: String) throws -> Token {
        try registry.withLock { r in
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
            r.next += 1
            r.paths[r.next] = path
            return Token(id: r.next)
        }
    }

    /// Forgets `token` without touching its path (it was renamed into place).
    public static func release(_ token: Token) {
        _ = registry.withLock { $0.paths.removeValue(forKey: token.id) }
    }

    /// Removes `token`'s path (recursively) and forgets it.
    public static func remove(_ token: Token) {
        registry.withLock { r in
            if let path = r.paths.removeValue(forKey: token.id) { try? FileManager.default.removeItem(atPath: path) }
        }
    }

    /// Runs `body` (a rename into place) with interrupts held off: SIGINT, SIGTERM and SIGHUP are
    /// blocked in this thread, and the cleanup handler waits until `body` is done. `releasing`, when
    /// given, is forgotten in the same step if `body` succeeds. `body` must not call the other
    /// functions of this type.
    public static func holdingSignals<R, E: Error>(releasing token: Token? = nil, _ body: () throws(E) -> R) throws(E) -> R {
        var blocked = sigset_t(), previous = sigset_t()
        sigemptyset(&blocked)
        for s in handledSignals { sigaddset(&blocked, s) }
        pthread_sigmask(SIG_BLOCK, &blocked, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        return try registry.withLock { (r: inout Registry) throws(E) -> R in
            let result = try body()
            if let token { r.paths.removeValue(forKey: token.id) }
            return result
        }
    }

    static let handledSignals: [Int32] = [SIGINT, SIGTERM, SIGHUP]
    static let installed = Mutex(false)

    /// From now on SIGINT, SIGTERM and SIGHUP remove every registered path, print one line and
    /// exit with 128 + the signal number (130 for Ctrl-C). Idempotent.
    ///
    /// The signal handler only writes the signal's number to a pipe (async-signal-safe); a thread of
    /// its own reads it and cleans up. Whichever thread the kernel picks takes the signal, so it is
    /// never lost to a thread that does not block it (a dispatch signal source on Linux ignores the
    /// signal and reads it from a signalfd, and the kernel discards an ignored signal when the
    /// thread it picks does not block it).
    public static func installSignalCleanup() {
        installed.withLock { installed in
            guard !installed else { return }
            var fds: [Int32] = [0, 0]
            guard pipe(&fds) == 0 else { return }
            for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            signalPipe.store(fds[1], ordering: .sequentiallyConsistent)
            let reader = fds[0]
            let thread = Thread {
                var byte: UInt8 = 0
                while true {
                    let n = read(reader, &byte, 1)
                    if n == 1 { interrupted(by: Int32(byte)) }
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { return }
                }
            }
            thread.name = "kvpack.signal-cleanup"
            thread.start()
            for sig in handledSignals {
                var action = sigaction()
                action.__sigaction_handler.sa_handler = forwardSignal
                sigemptyset(&action.sa_mask)
                action.sa_flags = SA_RESTART
                sigaction(sig, &action, nil)
            }
            installed = true
        }
    }

    /// The write end of the pipe the handler writes signal numbers to; -1 before installation.
    static let signalPipe = Atomic<Int32>(-1)

    /// The signal handler: one byte, the signal's number, into the pipe (`write` is
    /// async-signal-safe; errno is restored).
    static let forwardSignal: @convention(c) (Int32) -> Void = { sig in
        let saved = errno
        var byte = UInt8(truncatingIfNeeded: sig)
        _ = write(signalPipe.load(ordering: .relaxed), &byte, 1)
        errno = saved
    }

    /// The handler: waits for a rename under way, removes the registered paths and exits, holding
    /// the registry's lock to the end (nothing new is registered or made by `createDirectory`
    /// after the cleanup).
    static func interrupted(by sig: Int32) -> Never {
        registry.withLock { r in
            let removed = r.paths.values.sorted()
            for path in removed { removeWhole(path) }
            let name = sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "SIGHUP"
            let what = removed.isEmpty ? "" : "; removed the unfinished " + removed.map { ($0 as NSString).lastPathComponent }.joined(separator: ", ")
            FileHandle.standardError.write(Data("kvpack: interrupted by \(name)\(what)\n".utf8))
            _exit(128 + sig)
        }
    }

    /// Removes a file or folder that another thread may still be writing into: a folder is first
    /// renamed aside (later writes by its old path fail instead of landing in it), then removed,
    /// retried while something is left.
    static func removeWhole(_ path: String) {
        let fm = FileManager.default
        let aside = TemporaryFiles.path(beside: path)
        let target = rename(path, aside) == 0 ? aside : path
        for _ in 0..<5 where fm.fileExists(atPath: target) {
            try? fm.removeItem(atPath: target)
        }
    }

    /// The process id in a temporary name `.NAME.tmp-PID-RANDOM`, or nil for other names.
    static func owner(of name: String) -> pid_t? {
        guard name.hasPrefix("."), let range = name.range(of: ".tmp-", options: .backwards), range.lowerBound > name.index(after: name.startIndex)
        else { return nil }
        let parts = name[range.upperBound...].split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let pid = pid_t(parts[0]), pid > 0, UInt32(parts[1]) != nil else { return nil }
        return pid
    }

    /// Removes the temporary files and folders in `directory` whose process is gone (a process that
    /// still runs, or one this user may not signal, keeps its files); returns their names.
    @discardableResult
    public static func sweep(_ directory: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var swept: [String] = []
        for name in names.sorted() {
            guard let pid = owner(of: name), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
            if (try? FileManager.default.removeItem(atPath: (directory as NSString).appendingPathComponent(name))) != nil {
                swept.append(name)
            }
        }
        return swept
    }
}
