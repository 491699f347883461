/// Where a batched decode step attends: one call per layer over every sequence of the batch
/// (`LanguageModel.decode(_:attend:)` in KVPackModel). The CPU (`CPUBatchAttend`, sessions and
/// heads in parallel over the cores) or a device pool mirroring the sessions' pages (the Vulkan
/// runtime's `VulkanBatchAttend`).
public protocol BatchAttendBackend: Sendable {
    /// The most query tokens one request may carry (nil: any number; the Vulkan pool takes one,
    /// a decode token).
    var maxQueryTokens: Int? { get }
    /// Attends every request's queries over its session's pages of `layer`, then runs the
    /// sessions' decode stages, as `CacheSession.attend(layer:queries:positions:scale:)` does.
    /// - Returns: per request, in order, the output `[queryHeads, tokens, headDim]` or why it
    ///   failed; a failing request does not stop the others.
    func attend(_ batch: [CacheSession.AttendRequest], layer: Int, scale: Float?) async -> [Result<HeadTensor<Float>, SessionError>]
}

/// A batched attend on the CPU: `CacheSession.attend(_:layer:scale:)`, sessions in parallel over
/// the cores, run off the caller's task.
public struct CPUBatchAttend: BatchAttendBackend {
    public init() {}

    public var maxQueryTokens: Int? { nil }

    public func attend(_ batch: [CacheSession.AttendRequest], layer: Int, scale: Float?) async -> [Result<HeadTensor<Float>, SessionError>] {
        await CacheSession.attend(batch, layer: layer, scale: scale)
    }
}
