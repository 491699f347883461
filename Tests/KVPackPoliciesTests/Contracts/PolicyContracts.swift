import KVPack
import KVPackTestSupport
import Testing
@testable import KVPackPolicies

/// What the contract tests run every registered policy on, and the specs they run.
///
/// Every test in `Contracts/` is parameterized over `PolicyRegistry.names`: a policy added to the
/// registry is under contract at once, and `examples` must show its arguments (the round-trip
/// test fails, naming it, until they do).
enum PolicyContracts {
    /// Tokens, KV heads and layers of `capture()`: 96 prompt tokens (six pages of 16), 2 KV heads
    /// of 2 query heads each, head dim 32, 2 layers, an 8-query observation window, 6 probes.
    static let tokens = 96, kvHeads = 2, layers = 2, probes = 6, d = 32

    static func capture() throws -> Capture {
        try randomCapture(tokens: tokens, qHeads: 2 * kvHeads, kvHeads: kvHeads, d: d, layers: Array(repeating: .global, count: layers),
                          window: 8, probes: probes, queryScale: 2, seed: 2026)
    }

    /// Specs with every argument of each policy away from its default, some in several
    /// combinations (values that only matter together). A new policy needs an entry.
    static let examples: [String: [String]] = [
        "dense": ["dense"],
        "streaming": ["streaming(sinks=2,keep=40)"],
        "knorm": ["knorm(keep=40)"],
        "snapkv": ["snapkv(keep=0.5,window=6,kernel=3,pool=max,gqa=repeat)"],
        "random": ["random(keep=0.4,seed=7)"],
        "quant": ["quant(bits=4,group=16)", "quant(keys=int4/c16,values=int8/g16)",
                  "quant(keys=bitmap,values=bitmap,key_sparsity=0.3,value_sparsity=0.7)"],
        "h2o": ["h2o(keep=0.5,recent=0.25,window=6)"],
        "paged": ["paged(keep=64,block=8,score=v,mode=local,candidates=3)", "paged(keep=0.75,score=invk)"],
        "arkv": ["arkv(keep=0.5,window=6,quant=int4/g16,gamma=10.0,tau1=0.5,tau2=2.0,tau3=3.0)"],
        "mustafar": ["mustafar(k=0.3,v=0.6,recent=8)"],
        "taskkv": ["taskkv(keep=0.5,sinks=4,recent=8,window=6,kernel=5,top=16,beta=0.5,m=0.5)"],
    ]

    /// The keys `name`'s stage reads, given or defaulted (`keep` among them when it takes a budget).
    static func arguments(of name: String) -> Set<String> {
        func read(_ arguments: [PolicySpec.Stage.Argument]) -> Set<String> {
            let stage = PolicySpec.Stage(name: name, arguments: arguments)
            var args = StageArguments(stage)
            _ = try? PolicyRegistry.make(stage, reading: &args)
            return args.used
        }
        // A missing budget stops the factory where it asks for one: ask again with a budget.
        let plain = read([])
        return plain.contains("keep") ? read([.init(key: "keep", value: "0.5")]) : plain
    }

    /// `name` with `keep` set to `budget` when it takes one, else plain `name`.
    static func spec(_ name: String, keep budget: String = "0.5") -> String {
        arguments(of: name).contains("keep") ? "\(name)(keep=\(budget))" : name
    }

    /// Kept positions of every (layer, head) of sequence 0.
    static func kept(_ cache: CompressedCache) -> [[[Int]]] { cache.sequences[0].layers.map { $0.map(\.positions) } }

    /// (key, value) encoding of every kept token of every (layer, head) of sequence 0.
    static func encodings(_ cache: CompressedCache) -> [[[Pair]]] {
        cache.sequences[0].layers.map { $0.map { head in head.pages.flatMap { p in Array(repeating: Pair(p.keys.encoding, p.values.encoding), count: p.tokenCount) } } }
    }

    struct Pair: Hashable, CustomStringConvertible {
        var key: PageEncoding, value: PageEncoding
        init(_ key: PageEncoding, _ value: PageEncoding) { (self.key, self.value) = (key, value) }
        var description: String { "\(key)/\(value)" }
    }
}
