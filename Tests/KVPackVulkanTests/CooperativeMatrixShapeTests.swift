import CVulkan
import KVPackTestSupport
import Testing
@testable import KVPackVulkan

@Suite("Cooperative-matrix shapes (VK_KHR_cooperative_matrix)")
struct CooperativeMatrixShapeTests {
    /// A driver's report: sizes, then VkComponentTypeKHR values of A, B, C, result, then VkScopeKHR.
    static func reported(_ m: UInt32, _ n: UInt32, _ k: UInt32, _ types: [UInt32], scope: UInt32) -> CooperativeMatrixShape {
        var p = KVPCooperativeMatrixProperties()
        p.sType = KVP_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES
        (p.MSize, p.NSize, p.KSize) = (m, n, k)
        (p.AType, p.BType, p.CType, p.ResultType) = (types[0], types[1], types[2], types[3])
        p.scope = scope
        return CooperativeMatrixShape(p)
    }

    // Values from the Vulkan registry: VkComponentTypeKHR 0 f16, 1 f32, 3 s8, 5 s32; bf16
    // (VK_KHR_shader_bfloat16) 1000141000; VkScopeKHR 2 workgroup, 3 subgroup.
    @Test("the decode tile is 16x16x16 f16 x f16 -> f32 over a subgroup, and only that",
          arguments: [
              (reported(16, 16, 16, [0, 0, 1, 1], scope: 3), true, "16x16x16 f16·f16+f32->f32 (subgroup)"),
              (reported(16, 8, 16, [0, 0, 1, 1], scope: 3), false, "16x8x16 f16·f16+f32->f32 (subgroup)"),
              (reported(16, 16, 16, [0, 0, 0, 0], scope: 3), false, "16x16x16 f16·f16+f16->f16 (subgroup)"),
              (reported(16, 16, 16, [0, 0, 1, 1], scope: 2), false, "16x16x16 f16·f16+f32->f32 (workgroup)"),
              (reported(16, 16, 32, [3, 3, 5, 5], scope: 3), false, "16x16x32 s8·s8+s32->s32 (subgroup)"),
              (reported(16, 16, 16, [1000141000, 1000141000, 1, 1], scope: 3), false, "16x16x16 other·other+f32->f32 (subgroup)"),
          ])
    func decodeTile(shape: CooperativeMatrixShape, isTile: Bool, text: String) {
        #expect(shape.isDecodeTile == isTile)
        #expect(shape.description == text)
    }

    @Test("lavapipe (a CPU device) reports no cooperative matrices", .vulkanDevice)
    func noneOnLavapipe() throws {
        let devices = try VulkanLoader().cooperativeMatrixShapes()
        let listed = try VulkanLoader().physicalDevices()
        #expect(devices.map(\.device) == listed)
        for (device, shapes) in devices where device.kind == .cpu {
            #expect(shapes.isEmpty, "\(device.name) reports \(shapes)")
        }
    }
}
