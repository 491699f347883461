import Foundation

/// The code of a test that a document shows verbatim: the lines between `// DOC BEGIN` and
/// `// DOC END` in the test file, their indentation (that of the BEGIN marker) removed.
public enum DocumentSnippet {
    /// Whether the document at `path` (relative to the repository root, e.g. `README.md`) contains
    /// the snippet of `testFile` (`#filePath`, a file two folders below the root).
    public static func document(_ path: String, containsSnippetOf testFile: String) throws -> Bool {
        let root = URL(fileURLWithPath: testFile).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let document = try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
        let test = try String(contentsOf: URL(fileURLWithPath: testFile), encoding: .utf8)
        guard let begin = test.range(of: "// DOC BEGIN\n"), let end = test.range(of: "// DOC END", range: begin.upperBound..<test.endIndex) else {
            return false
        }
        let lineStart = test[..<begin.lowerBound].lastIndex(of: "\n").map { test.index(after: $0) } ?? test.startIndex
        let indent = test.distance(from: lineStart, to: begin.lowerBound)
        let endLine = test[..<end.lowerBound].lastIndex(of: "\n").map { test.index(after: $0) } ?? end.lowerBound
        let prefix = String(repeating: " ", count: indent)
        let code = test[begin.upperBound..<endLine].split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix(prefix) ? String($0.dropFirst(indent)) : String($0) }.joined(separator: "\n")
        return !code.isEmpty && document.contains(code)
    }
}
