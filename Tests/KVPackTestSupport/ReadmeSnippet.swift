import Foundation

/// The code of a test that the README shows verbatim: the lines between `// README BEGIN` and
/// `// README END` in the test file, their indentation (that of the BEGIN marker) removed.
public enum ReadmeSnippet {
    /// Whether README.md (at the repository root) contains the snippet of `testFile` (`#filePath`).
    public static func readmeContainsSnippet(of testFile: String) throws -> Bool {
        let root = URL(fileURLWithPath: testFile).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let test = try String(contentsOf: URL(fileURLWithPath: testFile), encoding: .utf8)
        guard let begin = test.range(of: "// README BEGIN\n"), let end = test.range(of: "// README END", range: begin.upperBound..<test.endIndex) else {
            return false
        }
        let lineStart = test[..<begin.lowerBound].lastIndex(of: "\n").map { test.index(after: $0) } ?? test.startIndex
        let indent = test.distance(from: lineStart, to: begin.lowerBound)
        let endLine = test[..<end.lowerBound].lastIndex(of: "\n").map { test.index(after: $0) } ?? end.lowerBound
        let prefix = String(repeating: " ", count: indent)
        let code = test[begin.upperBound..<endLine].split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix(prefix) ? String($0.dropFirst(indent)) : String($0) }.joined(separator: "\n")
        return readme.contains(code)
    }
}
