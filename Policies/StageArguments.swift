import KVPack

/// A stage's arguments, read with validation; unknown keys are refused by `finish()`.
public struct StageArguments {
    let stage: PolicySpec.Stage
    /// Keys the stage asked for, given or not.
    private(set) var used: Set<String> = []

    init(_ stage: PolicySpec.Stage) { self.stage = stage }

    private mutating func raw(_ key: String) -> String? {
        used.insert(key)
        return stage.arguments.first { $0.key == key }?.value
    }

    mutating func budget(_ key: String = "keep", default value: Budget? = nil) throws(PolicyError) -> Budget {
        guard let text = raw(key) else {
            if let value { return value }
            throw .badValue(policy: stage.name, argument: key, value: "(missing)", expected: Budget.expected)
        }
        guard let b = Budget(text) else {
            throw .badValue(policy: stage.name, argument: key, value: text, expected: Budget.expected)
        }
        return b
    }

    mutating func text(_ key: String, default value: String) throws(PolicyError) -> String {
        raw(key) ?? value
    }

    mutating func int(_ key: String, default value: Int, range: ClosedRange<Int>) throws(PolicyError) -> Int {
        guard let text = raw(key) else { return value }
        guard let n = Int(text), range.contains(n) else {
            throw .badValue(policy: stage.name, argument: key, value: text, expected: "an integer in \(range)")
        }
        return n
    }

    /// An odd integer in `range` (a pooling kernel's width).
    mutating func oddInt(_ key: String, default value: Int, range: ClosedRange<Int>) throws(PolicyError) -> Int {
        let n = try int(key, default: value, range: range)
        guard n % 2 == 1 else { throw .badValue(policy: stage.name, argument: key, value: "\(n)", expected: "an odd number") }
        return n
    }

    mutating func double(_ key: String, default value: Double, range: Range<Double>) throws(PolicyError) -> Double {
        guard let text = raw(key) else { return value }
        guard let x = Double(text), range.contains(x) else {
            throw .badValue(policy: stage.name, argument: key, value: text, expected: "a number in [\(range.lowerBound), \(range.upperBound))")
        }
        return x
    }

    mutating func encoding(_ key: String, default value: PageEncoding) throws(PolicyError) -> PageEncoding {
        guard let text = raw(key) else { return value }
        guard let e = PageEncoding(text) else {
            throw .badValue(policy: stage.name, argument: key, value: text, expected: "f16, int8, int4, int8/g64, int4/c16 or bitmap")
        }
        return e
    }

    /// Whether the spec gives `key` (rather than leaving the default).
    func given(_ key: String) -> Bool { stage.arguments.contains { $0.key == key } }

    /// Refuses arguments the stage did not read.
    func finish() throws(PolicyError) {
        if let extra = stage.arguments.first(where: { !used.contains($0.key) }) {
            throw .unknownArgument(policy: stage.name, argument: extra.key, known: used.sorted())
        }
    }
}
