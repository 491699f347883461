import KVPack
import KVPackPolicies

/// The compression policies a server runs: the default, and the ones a request may pick with
/// `kvpack_policy` (matched by canonical spec, so `snapkv(keep=0.25)` and the same with its
/// defaults written out are one policy).
public struct PolicyCatalog: Sendable {
    public let defaultPolicy: ServedPolicy
    /// Every policy a request may ask for, the default first.
    public let allowed: [ServedPolicy]

    /// - Throws: `ServeError.policy` for a spec that does not parse or build.
    public init(default spec: String, allowing others: [String] = []) throws(ServeError) {
        var list: [ServedPolicy] = []
        for s in [spec] + others {
            let p = try Self.build(s)
            if !list.contains(where: { $0.spec == p.spec }) { list.append(p) }
        }
        defaultPolicy = list[0]
        allowed = list
    }

    static func build(_ spec: String) throws(ServeError) -> ServedPolicy {
        do throws(PolicyError) {
            let pipeline = try PolicyPipeline(parsing: spec)
            return ServedPolicy(spec: pipeline.description, policy: pipeline)
        } catch {
            throw .policy(spec: spec, reason: error.description)
        }
    }

    /// The policy a request asks for (nil: the default).
    /// - Throws: `APIError` 400 `invalid_policy` for a spec that does not parse, `policy_not_allowed`
    ///   for one the server does not offer.
    func resolve(_ requested: String?) throws(APIError) -> ServedPolicy {
        guard let requested else { return defaultPolicy }
        let canonical: String
        do throws(PolicyError) { canonical = try PolicyPipeline(parsing: requested).description } catch {
            throw .badRequest("invalid_policy", "kvpack_policy '\(requested)' is not a policy spec: \(error)", param: "kvpack_policy")
        }
        guard let p = allowed.first(where: { $0.spec == canonical }) else {
            throw .badRequest("policy_not_allowed", "kvpack_policy '\(requested)' is not offered by this server; allowed: \(allowed.map(\.spec).joined(separator: "; "))",
                              param: "kvpack_policy")
        }
        return p
    }
}
