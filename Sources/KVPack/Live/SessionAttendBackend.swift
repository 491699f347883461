/// Where the offline tools' sessions attend (`DecodeSimulation`, `kvpack eval --decode`): the
/// CPU (`CPUSessionBackend`), or a device whose pools mirror the sessions' pages (the Vulkan
/// runtime's backend). The backend makes the page pool too, so that the pool suits it.
public protocol SessionAttendBackend: Sendable {
    /// A page pool for sessions of `headDim` and `pageSize` holding about `expectedBytes`.
    func makePool(headDim: Int, pageSize: Int, expectedBytes: Int) throws(SessionError) -> PagePool
    /// `session.attend(layer:queries:positions:)` on this backend, the policy's decode stages after.
    func attend(_ session: CacheSession, layer: Int, queries: HeadTensor<Float>, positions: [Int]) throws(SessionError) -> HeadTensor<Float>
    /// The caller is done with `pool` (its sessions closed): what the backend keeps for it can go.
    func release(_ pool: PagePool)
}

extension SessionAttendBackend {
    public func release(_ pool: PagePool) {}
}

/// Sessions attending on the CPU (`CacheSession.attend`), in an unbounded host pool.
public struct CPUSessionBackend: SessionAttendBackend {
    public init() {}

    public func makePool(headDim: Int, pageSize: Int, expectedBytes: Int) throws(SessionError) -> PagePool {
        do { return try PagePool(.init(budgetBytes: 1 << 50, headDim: headDim, pageSize: pageSize)) } catch { throw .pool(error) }
    }

    public func attend(_ session: CacheSession, layer: Int, queries: HeadTensor<Float>, positions: [Int]) throws(SessionError) -> HeadTensor<Float> {
        try session.attend(layer: layer, queries: queries, positions: positions)
    }
}
