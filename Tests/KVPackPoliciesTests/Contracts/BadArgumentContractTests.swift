import KVPack
import Testing
@testable import KVPackPolicies

/// A bad argument is a typed error that names the policy and the argument and points at its
/// column in the spec text (found here by searching the text, not by asking the parser).
@Suite("Policy contracts: bad arguments are refused with their column")
struct BadArgumentContractTests {
    /// The 0-based column of `needle` in `text`.
    static func column(of needle: String, in text: String) throws -> Int {
        let range = try #require(text.range(of: needle))
        return text.distance(from: text.startIndex, to: range.lowerBound)
    }

    static func refusal(_ text: String) -> PolicyError? {
        if case .failure(let error) = Result(catching: { () throws(PolicyError) in try PolicyPipeline(parsing: text) }) { return error }
        return nil
    }

    @Test("a value no argument accepts (zz9) is refused, naming the argument, at the value's column", arguments: PolicyRegistry.names)
    func badValues(name: String) throws {
        for key in PolicyContracts.arguments(of: name).sorted() {
            // The bad argument last, after a good budget, behind another stage: columns count from the spec's start.
            let stage = key == "keep" || !PolicyContracts.arguments(of: name).contains("keep") ? "\(name)(\(key)=zz9)" : "\(name)(keep=0.5, \(key)=zz9)"
            let text = "dense | \(stage)"
            let error = try #require(Self.refusal(text), "\(text) was accepted")
            guard case .badValue(name, key, "zz9", _, let column) = error else {
                Issue.record("\(text): expected badValue for \(key), got \(error)")
                continue
            }
            let expected = try Self.column(of: "zz9", in: text)
            #expect(column == expected, "\(text)")
            #expect(error.description.contains("at column \(expected + 1)"), "\(error)")
        }
    }

    @Test("an unknown argument is refused at its key's column, with the arguments the policy takes", arguments: PolicyRegistry.names)
    func unknownArgument(name: String) throws {
        let takes = PolicyContracts.arguments(of: name)
        let text = takes.contains("keep") ? "\(name)(keep=0.5,  budgett=3)" : "\(name)( budgett=3)"
        let error = try #require(Self.refusal(text), "\(text) was accepted")
        let expected = try Self.column(of: "budgett", in: text)
        #expect(error == .unknownArgument(policy: name, argument: "budgett", known: takes.sorted(), column: expected))
        #expect(error.description.contains("at column \(expected + 1)"), "\(error)")
    }

    @Test("a missing budget is refused at the policy's name", arguments: PolicyRegistry.names.filter { PolicyContracts.arguments(of: $0).contains("keep") })
    func missingBudget(name: String) throws {
        let text = "dense |  \(name)"
        let error = try #require(Self.refusal(text), "\(text) was accepted")
        guard case .badValue(name, "keep", "(missing)", _, let column) = error else {
            Issue.record("\(text): expected a missing keep, got \(error)")
            return
        }
        #expect(column == (try Self.column(of: name, in: text)))
    }
}
