import CVulkan
import Foundation
import KVPack

/// A compute pipeline's identity: the kernel and its specialization constants.
struct KernelKey: Hashable, Sendable {
    /// Name in `KernelBinaries` (e.g. `decode_f16_subgroup`).
    var name: String
    /// Specialization constants by id: 0 workgroup size, 1 head dim, 2 elements per lane, 3 group,
    /// 4 tokens per step, 5 pipelined (0/1), 6 merge slots, 7 masked by position (0/1), 8 f16 value
    /// sums (0/1), 9 words per code load (1, 2, 4), 10 staged bitmap rows (0 = not staged), 11
    /// page-table entries cached in shared memory (0 = none), 12 splits whose loads the fused
    /// merge issues together.
    var constants: [UInt32]
}

/// The compute pipelines of one context: one descriptor-set layout (eleven storage-buffer bindings,
/// the pools arrays of windows: `Kernels/include/decode_bindings.glsl`), one pipeline layout, and each pipeline
/// created on first use and cached until the context is destroyed. Pipelines of different keys
/// are created at once on different threads, and a lookup of a created one never waits for
/// another's creation (where the driver compiles at creation, as NVIDIA's does);
/// callers asking for a key being created wait for that creation. (Lavapipe compiles at a
/// pipeline's first dispatch, on its queue's thread, so there its compiles stay one at a time.)
final class KernelLibrary: @unchecked Sendable {
    static let bindings = 11
    /// Bindings 2 ..< 6 are the pools, each an array of `PoolWindows.maximum` windows.
    static let poolBindings = 2..<6

    static func descriptorCount(binding: Int) -> Int { poolBindings.contains(binding) ? PoolWindows.maximum : 1 }

    /// Storage-buffer descriptors in one set.
    static var descriptors: Int { (0..<bindings).reduce(0) { $0 + descriptorCount(binding: $1) } }
    static let pushConstantBytes = 40

    /// Guards the layouts, `pipelines`, `compiling` and `created`; signalled when a compile ends.
    private let lock = NSCondition()
    private var setLayout: VkDescriptorSetLayout?
    private var layout: VkPipelineLayout?
    private var pipelines: [KernelKey: VkPipeline] = [:]
    /// Keys whose pipeline a thread is compiling (outside the lock).
    private var compiling: Set<KernelKey> = []
    private var created = 0
    /// Pipelines created so far (each a driver compile of its specialization).
    var pipelinesCreated: Int {
        lock.lock()
        defer { lock.unlock() }
        return created
    }

    /// SPIR-V words of an embedded kernel.
    static func spirv(_ name: String) -> [UInt32]? {
        guard let text = KernelBinaries.base64[name], let data = Data(base64Encoded: text), data.count % 4 == 0 else { return nil }
        return data.withUnsafeBytes { Array($0.bindMemory(to: UInt32.self)) }
    }

    /// Names of the embedded kernels.
    static var names: [String] { KernelBinaries.base64.keys.sorted() }

    /// The build embeds the cooperative-matrix kernel for f16 pages (`decode_f16_coopmat`: the
    /// build found a glslangValidator with GL_KHR_cooperative_matrix, which compiles all of them).
    static var embedsCoopmat: Bool { embeds(coopmatName(.f16)) }

    /// Page kinds a cooperative-matrix kernel reads (a layer of one of them).
    static let coopmatKinds: Set<PageEncodingKind> = [.f16, .int8, .int4]

    /// The one page kind of a layer whose pages `kinds` a cooperative-matrix kernel could read
    /// (nil for mixed kinds or bitmap pages).
    static func coopmatKind(of kinds: Set<PageEncodingKind>) -> PageEncodingKind? {
        guard kinds.count == 1, let kind = kinds.first, coopmatKinds.contains(kind) else { return nil }
        return kind
    }

    /// The cooperative-matrix kernel of a layer of `kind` pages (`Kernels/decode_<kind>_coopmat.comp`,
    /// compiled once).
    static func coopmatName(_ kind: PageEncodingKind) -> String { "decode_\(kind)_coopmat" }

    /// The build embeds the kernel `name`.
    static func embeds(_ name: String) -> Bool { KernelBinaries.base64[name] != nil }

    /// The descriptor-set layout and pipeline layout, created once.
    func layouts(_ context: VulkanContext) throws(VulkanError) -> (VkDescriptorSetLayout, VkPipelineLayout) {
        lock.lock()
        defer { lock.unlock() }
        return try layoutsLocked(context)
    }

    private func layoutsLocked(_ context: VulkanContext) throws(VulkanError) -> (VkDescriptorSetLayout, VkPipelineLayout) {
        if let setLayout, let layout { return (setLayout, layout) }
        let vk = context.vk, device = context.handle
        var entries = (0..<Self.bindings).map { i in
            var b = VkDescriptorSetLayoutBinding()
            b.binding = UInt32(i)
            b.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER
            b.descriptorCount = UInt32(Self.descriptorCount(binding: i))
            b.stageFlags = UInt32(VK_SHADER_STAGE_COMPUTE_BIT.rawValue)
            return b
        }
        var created: VkDescriptorSetLayout? = nil
        let r = entries.withUnsafeMutableBufferPointer { e in
            var info = VkDescriptorSetLayoutCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO
            info.bindingCount = UInt32(e.count)
            info.pBindings = UnsafePointer(e.baseAddress)
            return vk.createDescriptorSetLayout(device, &info, nil, &created)
        }
        try r.check("vkCreateDescriptorSetLayout")
        setLayout = created
        var range = VkPushConstantRange(stageFlags: UInt32(VK_SHADER_STAGE_COMPUTE_BIT.rawValue), offset: 0,
                                        size: UInt32(Self.pushConstantBytes))
        var pipelineLayout: VkPipelineLayout? = nil
        let r2 = withUnsafePointer(to: &created) { s in
            withUnsafePointer(to: &range) { p in
                var info = VkPipelineLayoutCreateInfo()
                info.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO
                info.setLayoutCount = 1
                info.pSetLayouts = s
                info.pushConstantRangeCount = 1
                info.pPushConstantRanges = p
                return vk.createPipelineLayout(device, &info, nil, &pipelineLayout)
            }
        }
        try r2.check("vkCreatePipelineLayout")
        layout = pipelineLayout
        return (created!, pipelineLayout!)
    }

    /// The pipeline for `key`, created on first use: compiled outside the lock, so that other
    /// keys' pipelines compile meanwhile; a caller of a key being compiled waits for it.
    func pipeline(_ key: KernelKey, _ context: VulkanContext) throws(VulkanError) -> VkPipeline {
        lock.lock()
        while pipelines[key] == nil && compiling.contains(key) { lock.wait() }
        if let p = pipelines[key] {
            lock.unlock()
            return p
        }
        let layout: VkPipelineLayout
        do throws(VulkanError) { layout = try layoutsLocked(context).1 } catch {
            lock.unlock()
            throw error
        }
        compiling.insert(key)
        lock.unlock()
        let compiled = Result { () throws(VulkanError) in try compile(key, layout: layout, context) }
        lock.lock()
        defer { lock.unlock() }
        compiling.remove(key)
        lock.broadcast()
        let p = try compiled.get()
        pipelines[key] = p
        created += 1
        return p
    }

    /// Compiles `key`'s pipeline (the driver's compile of its specialization).
    private func compile(_ key: KernelKey, layout: VkPipelineLayout, _ context: VulkanContext) throws(VulkanError) -> VkPipeline {
        guard let words = Self.spirv(key.name) else { throw .unsupported("no embedded kernel named \(key.name)") }
        let vk = context.vk, device = context.handle
        var module: VkShaderModule? = nil
        let r = words.withUnsafeBufferPointer { w in
            var info = VkShaderModuleCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO
            info.codeSize = w.count * 4
            info.pCode = w.baseAddress
            return vk.createShaderModule(device, &info, nil, &module)
        }
        try r.check("vkCreateShaderModule(\(key.name))")
        defer { vk.destroyShaderModule(device, module, nil) }
        var constants = key.constants
        var entries = constants.indices.map {
            VkSpecializationMapEntry(constantID: UInt32($0), offset: UInt32(4 * $0), size: 4)
        }
        var pipeline: VkPipeline? = nil
        let r2 = constants.withUnsafeMutableBytes { data in
            entries.withUnsafeMutableBufferPointer { e in
                var spec = VkSpecializationInfo(mapEntryCount: UInt32(e.count), pMapEntries: UnsafePointer(e.baseAddress),
                                                dataSize: data.count, pData: UnsafeRawPointer(data.baseAddress))
                return "main".withCString { entry in
                    withUnsafePointer(to: &spec) { s in
                        var stage = VkPipelineShaderStageCreateInfo()
                        stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO
                        stage.stage = VK_SHADER_STAGE_COMPUTE_BIT
                        stage.module = module
                        stage.pName = entry
                        stage.pSpecializationInfo = s
                        var info = VkComputePipelineCreateInfo()
                        info.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO
                        info.stage = stage
                        info.layout = layout
                        if context.capabilities.pipelineStatistics {
                            info.flags = UInt32(VK_PIPELINE_CREATE_CAPTURE_STATISTICS_BIT_KHR.rawValue)
                        }
                        return vk.createComputePipelines(device, nil, 1, &info, nil, &pipeline)
                    }
                }
            }
        }
        try r2.check("vkCreateComputePipelines(\(key.name))")
        return pipeline!
    }

    /// The driver's statistics of a pipeline's compute executable (names and meanings are the
    /// driver's, e.g. NVIDIA's register count); empty where the driver offers none.
    func statistics(_ pipeline: VkPipeline, _ context: VulkanContext) -> [KernelStatistic] {
        guard context.capabilities.pipelineStatistics, let get = context.vk.getPipelineExecutableStatistics else { return [] }
        var info = VkPipelineExecutableInfoKHR()
        info.sType = VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_INFO_KHR
        info.pipeline = pipeline
        info.executableIndex = 0
        var count: UInt32 = 0
        guard get(context.handle, &info, &count, nil) == VK_SUCCESS, count > 0 else { return [] }
        var blank = VkPipelineExecutableStatisticKHR()
        blank.sType = VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_STATISTIC_KHR
        var list = [VkPipelineExecutableStatisticKHR](repeating: blank, count: Int(count))
        let r = get(context.handle, &info, &count, &list)
        guard r == VK_SUCCESS || r == VK_INCOMPLETE else { return [] }
        func text<T>(_ tuple: T) -> String {
            withUnsafeBytes(of: tuple) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        return list.prefix(Int(count)).map { s in
            let value: Double
            switch s.format {
            case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_BOOL32_KHR: value = Double(s.value.b32)
            case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_INT64_KHR: value = Double(s.value.i64)
            case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_UINT64_KHR: value = Double(s.value.u64)
            default: value = s.value.f64
            }
            return KernelStatistic(name: text(s.name), value: value, description: text(s.description))
        }
    }

    /// Destroys every pipeline and the layouts (the context's `deinit`).
    func destroy(_ context: VulkanContext) {
        lock.lock()
        defer { lock.unlock() }
        for p in pipelines.values { context.vk.destroyPipeline(context.handle, p, nil) }
        pipelines = [:]
        if let layout { context.vk.destroyPipelineLayout(context.handle, layout, nil) }
        if let setLayout { context.vk.destroyDescriptorSetLayout(context.handle, setLayout, nil) }
        layout = nil
        setLayout = nil
    }
}

/// One statistic a driver reports for a compiled kernel (VK_KHR_pipeline_executable_properties).
public struct KernelStatistic: Sendable, Hashable, Codable {
    /// The driver's name for it, e.g. "Register Count".
    public var name: String
    public var value: Double
    public var description: String
}
