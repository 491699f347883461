/// A parsed policy spec: stages joined by `|`, each `name` or `name(key=value, ...)`, e.g.
/// `streaming(sinks=4, keep=0.25) | quant(bits=4)`. The same grammar serves the library, the CLI
/// and reports; `description` prints the canonical form, which parses back to the same value.
/// Equality compares names, keys and values: columns say where the text was, not what it means.
public struct PolicySpec: Sendable, Hashable, CustomStringConvertible {
    public struct Stage: Sendable, Hashable, CustomStringConvertible {
        public var name: String
        /// Arguments in the order written.
        public var arguments: [Argument]
        /// Column (0-based) of the name in the spec text, for error messages.
        public var column: Int

        public struct Argument: Sendable, Hashable {
            public var key: String
            public var value: String
            /// Column (0-based) of the value in the spec text, for error messages.
            public var column: Int
            /// Column (0-based) of the key in the spec text.
            public var keyColumn: Int

            public init(key: String, value: String, column: Int = 0, keyColumn: Int = 0) {
                self.key = key
                self.value = value
                self.column = column
                self.keyColumn = keyColumn
            }

            public static func == (a: Argument, b: Argument) -> Bool { a.key == b.key && a.value == b.value }

            public func hash(into hasher: inout Hasher) {
                hasher.combine(key)
                hasher.combine(value)
            }
        }

        public init(name: String, arguments: [Argument], column: Int = 0) {
            self.name = name
            self.arguments = arguments
            self.column = column
        }

        public static func == (a: Stage, b: Stage) -> Bool { a.name == b.name && a.arguments == b.arguments }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(name)
            hasher.combine(arguments)
        }

        public var description: String {
            arguments.isEmpty ? name : "\(name)(" + arguments.map { "\($0.key)=\($0.value)" }.joined(separator: ",") + ")"
        }
    }

    public var stages: [Stage]
    public var description: String { stages.map(\.description).joined(separator: " | ") }

    public init(stages: [Stage]) { self.stages = stages }

    /// Parses `text`.
    /// - Throws: `PolicyError.syntax` pointing at the offending column.
    public init(parsing text: String) throws(PolicyError) {
        let chars = Array(text)
        var i = 0
        func skipSpace() { while i < chars.count, chars[i] == " " { i += 1 } }
        func fail(_ what: String) -> PolicyError { .syntax(spec: text, column: min(i, chars.count), expected: what) }
        func word() -> String {
            let start = i
            while i < chars.count, chars[i].isLetter || chars[i].isNumber || "_.-/".contains(chars[i]) { i += 1 }
            return String(chars[start..<i])
        }
        var stages: [Stage] = []
        repeat {
            skipSpace()
            let nameColumn = i
            let name = word().lowercased()
            guard !name.isEmpty, name.first!.isLetter else { throw fail("a policy name") }
            var args: [Stage.Argument] = []
            skipSpace()
            if i < chars.count, chars[i] == "(" {
                i += 1
                skipSpace()
                if i < chars.count, chars[i] == ")" { i += 1 } else {
                    while true {
                        skipSpace()
                        let keyColumn = i
                        let key = word().lowercased()
                        guard !key.isEmpty else { throw fail("an argument name") }
                        skipSpace()
                        guard i < chars.count, chars[i] == "=" else { throw fail("'=' after \(key)") }
                        i += 1
                        skipSpace()
                        let column = i
                        let value = word()
                        guard !value.isEmpty else { throw fail("a value for \(key)") }
                        guard !args.contains(where: { $0.key == key }) else {
                            throw .syntax(spec: text, column: column, expected: "\(key) given once")
                        }
                        args.append(.init(key: key, value: value, column: column, keyColumn: keyColumn))
                        skipSpace()
                        if i < chars.count, chars[i] == "," { i += 1; continue }
                        guard i < chars.count, chars[i] == ")" else { throw fail("',' or ')'") }
                        i += 1
                        break
                    }
                }
            }
            stages.append(Stage(name: name, arguments: args, column: nameColumn))
            skipSpace()
            guard i < chars.count else { break }
            guard chars[i] == "|" else { throw fail("'|' or the end of the spec") }
            i += 1
        } while true
        self.stages = stages
    }
}
