import KVPack

/// A batched decode step's attention on a Vulkan device: every layer's batch goes to
/// `VulkanSessionPool.attend(_:layer:scale:runPolicy:options:)` in one submission, awaited without
/// blocking a thread. One query token per session (a decode step); the sessions must live in the
/// device pool's `PagePool`.
public struct VulkanBatchAttend: BatchAttendBackend {
    public let pool: VulkanSessionPool
    public let options: DecodeOptions

    public init(pool: VulkanSessionPool, options: DecodeOptions = .init()) {
        self.pool = pool
        self.options = options
    }

    public var maxQueryTokens: Int? { 1 }

    /// Device failures come back as `SessionError.device` with the `VulkanError`.
    public func attend(_ batch: [CacheSession.AttendRequest], layer: Int, scale: Float?) async -> [Result<HeadTensor<Float>, SessionError>] {
        await pool.attend(batch, layer: layer, scale: scale, options: options).map { r in
            r.mapError { e -> SessionError in
                switch e {
                case .session(let s): return s
                case .device(let d): return .device(d)
                }
            }
        }
    }
}
