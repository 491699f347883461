/// What the opened device offers the kernels.
public struct VulkanCapabilities: Sendable, Hashable, Codable {
    /// Threads per subgroup (32 on NVIDIA, 4-16 on lavapipe depending on the CPU's vector width).
    public var subgroupSize: Int
    /// Subgroup shuffles are available in compute shaders (the fast reduction path).
    public var subgroupShuffle: Bool
    /// The largest range one storage-buffer binding may cover, in bytes.
    public var maxStorageBufferRange: Int
    /// Bytes of the largest device-local memory heap.
    public var deviceLocalBytes: Int
    /// Device-local memory is also host-visible (lavapipe, integrated GPUs): no staging copies.
    public var unifiedMemory: Bool
    /// Nanoseconds per timestamp tick; nil when the compute queue has no timestamps.
    public var timestampPeriod: Double?
    /// Shared (workgroup) memory per workgroup, in bytes.
    public var maxSharedMemory: Int
    /// The driver reports per-kernel statistics (VK_KHR_pipeline_executable_properties), e.g.
    /// registers per thread, which bound occupancy.
    public var pipelineStatistics: Bool = false
    /// Shaders may compute in f16 (shaderFloat16): the `_f16math` kernels can run.
    public var shaderFloat16: Bool = false
    /// Shaders may index arrays of storage buffers (shaderStorageBufferArrayDynamicIndexing): the
    /// decode kernels pick a head's pool window that way, so they need it.
    public var poolWindowIndexing: Bool = true
    /// Storage buffers one shader stage may bind (`maxPerStageDescriptorStorageBuffers`).
    public var maxStorageBuffersPerStage: Int = 1 << 20
    /// Shaders may take packed 8-bit dot products (VK_KHR_shader_integer_dot_product): the
    /// `_intdot` kernels can run.
    public var integerDotProduct: Bool = false
    /// The driver does signed-by-unsigned packed 8-bit dot products in one instruction (not
    /// emulated): `_intdot` is then the default for the raw-code int8 / int4 kernels on GPUs.
    public var integerDotProductAccelerated: Bool = false
    /// Subgroup votes and barriers (`subgroupAny`, `subgroupBarrier`) in compute shaders: the
    /// staged bitmap kernel needs them.
    public var subgroupVote: Bool = false
    /// The most invocations one compute workgroup may have (along x, and in all).
    public var maxWorkgroupSize: Int = 128
    /// The device was opened with VK_KHR_cooperative_matrix (its `cooperativeMatrix` feature), the
    /// Vulkan memory model (`vulkanMemoryModel`) and shaderFloat16 enabled, for compute shaders,
    /// and reports the decode tile (16x16x16 f16·f16+f32->f32 at subgroup scope): the
    /// cooperative-matrix kernel (`DecodeKernel.coopmat`) can run on it.
    public var cooperativeMatrix: Bool = false
    /// Where `cooperativeMatrix` is false: what the device lacks of it (e.g.
    /// "VK_KHR_cooperative_matrix"), for the error that refuses the kernel; empty otherwise.
    public var cooperativeMatrixMissing: [String] = []
    /// The cooperative-matrix shapes the device reports (empty without VK_KHR_cooperative_matrix).
    public var cooperativeMatrixShapes: [CooperativeMatrixShape] = []
    /// Outputs are read back from host-cached memory (`DeviceBuffer.Location.readback`): the
    /// device offers a host-visible, coherent and cached memory type.
    public var cachedReadback: Bool = false
}
