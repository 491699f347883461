import CVulkan

/// One cooperative-matrix shape a device offers (VK_KHR_cooperative_matrix, tensor cores on
/// NVIDIA): `result = A·B + C` with A `m x k`, B `k x n`, C and the result `m x n`, the operation
/// spread over the invocations of `scope`.
public struct CooperativeMatrixShape: Sendable, Hashable, Codable, CustomStringConvertible {
    /// An element type (VkComponentTypeKHR); `other` for the types of later extensions (bf16, fp8).
    public enum Component: String, Sendable, Codable {
        case f16, f32, f64, s8, s16, s32, s64, u8, u16, u32, u64, other
    }

    /// The invocations that share one matrix (VkScopeKHR).
    public enum Scope: String, Sendable, Codable {
        case device, workgroup, subgroup, queueFamily = "queue family", other
    }

    public var m: Int
    public var n: Int
    public var k: Int
    public var a: Component
    public var b: Component
    public var c: Component
    public var result: Component
    public var scope: Scope
    /// Integer results saturate instead of wrapping.
    public var saturating: Bool

    public init(m: Int, n: Int, k: Int, a: Component, b: Component, c: Component, result: Component, scope: Scope,
                saturating: Bool = false) {
        self.m = m
        self.n = n
        self.k = k
        self.a = a
        self.b = b
        self.c = c
        self.result = result
        self.scope = scope
        self.saturating = saturating
    }

    /// The tile of the cooperative-matrix decode kernel (`Kernels/decode_f16_coopmat.comp`):
    /// 16x16x16, f16 x f16 with f32 accumulation, over a subgroup.
    public var isDecodeTile: Bool {
        m == 16 && n == 16 && k == 16 && a == .f16 && b == .f16 && c == .f32 && result == .f32 && scope == .subgroup
    }

    /// E.g. "16x16x16 f16·f16+f32->f32 (subgroup)" (m x n x k).
    public var description: String {
        "\(m)x\(n)x\(k) \(a)·\(b)+\(c)->\(result)\(saturating ? " saturating" : "") (\(scope.rawValue))"
    }
}

extension CooperativeMatrixShape {
    /// The shape a driver reports, its enums as their Vulkan values.
    init(_ p: KVPCooperativeMatrixProperties) {
        func component(_ v: UInt32) -> Component {
            let all: [Component] = [.f16, .f32, .f64, .s8, .s16, .s32, .s64, .u8, .u16, .u32, .u64]
            return v < all.count ? all[Int(v)] : .other
        }
        let scopes: [UInt32: Scope] = [1: .device, 2: .workgroup, 3: .subgroup, 5: .queueFamily]
        self.init(m: Int(p.MSize), n: Int(p.NSize), k: Int(p.KSize), a: component(p.AType), b: component(p.BType),
                  c: component(p.CType), result: component(p.ResultType), scope: scopes[p.scope] ?? .other,
                  saturating: p.saturatingAccumulation != 0)
    }
}

extension VulkanContext {
    static let cooperativeMatrixExtension = "VK_KHR_cooperative_matrix"

    /// The cooperative-matrix shapes the device reports (vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR);
    /// empty where it lacks VK_KHR_cooperative_matrix (lavapipe) or the loader cannot reach the query.
    /// `extensions`: the device's (`deviceExtensions`).
    static func cooperativeMatrixShapes(_ loader: VulkanLoader, _ instance: VkInstance, _ device: VkPhysicalDevice,
                                        extensions: [String]) -> [CooperativeMatrixShape] {
        guard extensions.contains(cooperativeMatrixExtension),
              let get = try? loader.function("vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR", instance: instance,
                                             as: KVPGetCooperativeMatrixProperties.self) else { return [] }
        var count: UInt32 = 0
        guard get(device, &count, nil) == VK_SUCCESS, count > 0 else { return [] }
        var blank = KVPCooperativeMatrixProperties()
        blank.sType = KVP_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES
        var list = [KVPCooperativeMatrixProperties](repeating: blank, count: Int(count))
        let r = get(device, &count, &list)
        guard r == VK_SUCCESS || r == VK_INCOMPLETE else { return [] }
        return list.prefix(Int(count)).map(CooperativeMatrixShape.init)
    }
}
