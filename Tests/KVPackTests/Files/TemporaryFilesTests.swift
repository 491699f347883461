import Foundation
import Testing
@testable import KVPack

/// A process id that is not running: a child that has exited and been reaped.
func deadPID() throws -> pid_t {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/true")
    try p.run()
    p.waitUntilExit()
    return p.processIdentifier
}

func scratchDirectory() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("kvpack-files-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

@Suite("Temporary files and output checks")
struct TemporaryFilesTests {
    @Test("a sweep removes the temporary files and folders of processes that are gone, and nothing else")
    func sweep() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let dead = try deadPID(), live = getppid()
        let gone = [".c.kvp.tmp-\(dead)-12345", ".cap.h5.tmp-\(dead)-7"], folder = ".report.tmp-\(dead)-99"
        let kept = [".c.kvp.tmp-\(live)-1", ".notes.tmp-abc", "c.kvp", ".tmp-\(dead)-1", "x.tmp-\(dead)-1"]
        for name in gone + kept { FileManager.default.createFile(atPath: "\(dir)/\(name)", contents: Data([1])) }
        try FileManager.default.createDirectory(atPath: "\(dir)/\(folder)/inner", withIntermediateDirectories: true)
        #expect(TemporaryFiles.sweep(dir) == (gone + [folder]).sorted())
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == kept.sorted())
    }

    @Test("a temporary path sits beside its output under this process's id, and its owner is read back")
    func naming() {
        let path = TemporaryFiles.path(beside: "/some/dir/out.kvp")
        #expect(path.hasPrefix("/some/dir/.out.kvp.tmp-\(getpid())-"))
        #expect(TemporaryFiles.owner(of: (path as NSString).lastPathComponent) == getpid())
    }

    @Test("file outputs: an existing file needs overwrite, a missing or non-directory parent and a directory are refused, an input never")
    func fileChecks() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = "\(dir)/in.h5", out = "\(dir)/out.kvp"
        FileManager.default.createFile(atPath: input, contents: Data([1, 2, 3]))
        try OutputPath.prepareFile(out, overwrite: false, inputs: [input])
        FileManager.default.createFile(atPath: out, contents: Data([4]))
        #expect(throws: OutputPathError.exists(out)) { try OutputPath.prepareFile(out, overwrite: false, inputs: [input]) }
        try OutputPath.prepareFile(out, overwrite: true, inputs: [input])
        #expect(throws: OutputPathError.directoryMissing(path: "\(dir)/no/out.kvp", directory: "\(dir)/no")) {
            try OutputPath.prepareFile("\(dir)/no/out.kvp", overwrite: true, inputs: [])
        }
        #expect(throws: OutputPathError.directoryIsFile(path: "\(input)/out.kvp", directory: input)) {
            try OutputPath.prepareFile("\(input)/out.kvp", overwrite: true, inputs: [])
        }
        #expect(throws: OutputPathError.isDirectory(dir)) { try OutputPath.prepareFile(dir, overwrite: true, inputs: []) }
        // The input by its own name, through a symbolic link, and through a hard link.
        try FileManager.default.createSymbolicLink(atPath: "\(dir)/link.h5", withDestinationPath: input)
        try FileManager.default.linkItem(atPath: input, toPath: "\(dir)/hard.h5")
        for spelling in [input, "\(dir)/./in.h5", "\(dir)/link.h5", "\(dir)/hard.h5"] {
            #expect(throws: OutputPathError.isInput(path: spelling, input: input)) {
                try OutputPath.prepareFile(spelling, overwrite: true, inputs: [input])
            }
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: input)) == Data([1, 2, 3]))
    }

    @Test("directory outputs: new, empty or replaceable ones pass; a file, foreign entries or an input inside are refused")
    func directoryChecks() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let report = "\(dir)/a/b/report"
        try OutputPath.prepareDirectory(report, inputs: [], replaceable: { _ in false })
        #expect(FileManager.default.fileExists(atPath: "\(dir)/a/b")) // the parent is made; the directory is not
        #expect(!FileManager.default.fileExists(atPath: report))
        try FileManager.default.createDirectory(atPath: report, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: "\(report)/report.md", contents: Data())
        try OutputPath.prepareDirectory(report, inputs: [], replaceable: { $0 == "report.md" })
        #expect(throws: OutputPathError.foreignDirectory(path: report, entry: "report.md")) {
            try OutputPath.prepareDirectory(report, inputs: [], replaceable: { _ in false })
        }
        let input = "\(report)/cap.h5"
        FileManager.default.createFile(atPath: input, contents: Data())
        #expect(throws: OutputPathError.holdsInput(directory: report, input: input)) {
            try OutputPath.prepareDirectory(report, inputs: [input], replaceable: { _ in true })
        }
        #expect(throws: OutputPathError.notDirectory(input)) { try OutputPath.prepareDirectory(input, inputs: [], replaceable: { _ in true }) }
    }
}
