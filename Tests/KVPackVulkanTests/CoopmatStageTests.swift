import CVulkan
import Foundation
import KVPack
import KVPackTestSupport
import Testing
@testable import KVPackVulkan

/// The int8 / int4 cooperative-matrix kernels' loader and stager (`Kernels/include/coopmat_codes.glsl`)
/// on lavapipe, through `Kernels/stage_probe_int8.comp` / `stage_probe_int4.comp`: the same
/// `loadRows` and `stageStep` with one workgroup of 32 invocations standing for a subgroup (lavapipe
/// has no cooperative matrices and subgroups of 8). Each workgroup stages one step (16 rows) of one
/// page's keys and values as the kernels' f16 tiles; the test reads them back and compares them
/// with the CPU's decoding of the same pages (`EncodedRows.decode()`), rows past a page's end
/// repeating its last row. The matrix products themselves only run on a GPU (`bench vulkan --check`).
@Suite("Cooperative-matrix int8 / int4 stage: codes dequantized into the f16 tiles (lavapipe)", .vulkanDevice)
struct CoopmatStageTests {
    /// (encoding, head dim, tokens): pages of 40 tokens (steps at rows 0, 16, 32, the last one
    /// partly past the page) and a short last page; its length leaves the int pages' offsets 16-,
    /// 8- or 4-byte aligned, so the 16-, 8- and 4-byte code loads all run (hand-worked: int8 at
    /// D = 64, g32: 72 bytes a row, 3 rows 216 bytes, 8 off 16; g64: 68 a row, 3 rows 204, 4 off 8;
    /// int4 at D = 64, g32: 40 a row, 5 rows 200, 8 off; D = 128, g64: 72 a row, 2 rows 144,
    /// aligned; D = 256, g256: 132 a row, 1 row, 4 off 8).
    @Test("each step's 16 key and value rows come out of the stage as the CPU decodes them", arguments: [
        (PageEncoding.int8(.init(groupSize: 32)), 64, 83, 8),
        (.int8(.init(groupSize: 64)), 64, 83, 4),
        (.int8(.init(groupSize: 16)), 128, 80, 16),
        (.int4(.init(groupSize: 32)), 64, 85, 8),
        (.int4(.init(groupSize: 64)), 128, 82, 16),
        (.int8(.init(groupSize: 32)), 256, 43, 16),
        (.int4(.init(groupSize: 256)), 256, 41, 4),
    ])
    func stage(encoding: PageEncoding, d: Int, tokens: Int, loadBytes: Int) throws {
        let context = try #require(SharedContext.context)
        guard context.capabilities.shaderFloat16 else { try Test.cancel("the probe needs shaderFloat16") }
        let pageSize = 40
        let fixture = try DecodeFixture(qHeads: 2, kvHeads: 2, d: d, tokens: tokens, sequences: 1, pageSize: pageSize) { _, _ in
            (Array(0..<tokens), Array(repeating: (encoding, encoding), count: tokens))
        }
        let device = try DeviceKVCache(context, flat: fixture.cache.flattened())
        #expect(device.layers[0].codeAlignment == loadBytes)
        // The pages in the device's order (one class: the flat order, head by head).
        let pages = fixture.cache.sequences[0].layers[0].flatMap(\.pages)
        let steps = (pageSize + 15) / 16
        let floats = pages.count * steps * 2 * 16 * d
        let output = try DeviceBuffer(context, size: 4 * floats)
        let dummy = try DeviceBuffer(context, size: 16)
        let bindings = try DecodeBindings(context)
        var perBinding: [[DeviceBuffer]] = [[device.directory], [device.table]]
        for windows in device.pools { perBinding.append((0..<PoolWindows.maximum).map { windows[$0 < windows.count ? $0 : 0] }) }
        perBinding += [[dummy], [output], [dummy], [device.positions], [dummy]]
        bindings.bind(perBinding)
        // Spec constants 0 workgroup, 1 D, 9 words per code load (the others are not read).
        var constants = [UInt32](repeating: 0, count: 13)
        constants[0] = 32
        constants[1] = UInt32(d)
        constants[2] = UInt32(d / 32)
        constants[9] = UInt32(loadBytes / 4)
        let name = "stage_probe_\(encoding.kind)"
        let pipeline = try context.kernels.pipeline(KernelKey(name: name, constants: constants), context)
        let (_, layout) = try context.kernels.layouts(context)
        var push = [UInt32](repeating: 0, count: KernelLibrary.pushConstantBytes / 4)
        push[4] = UInt32(steps) // `splits`: steps per page
        try context.submit { (commands) throws(VulkanError) in
            let vk = context.vk
            var set: VkDescriptorSet? = bindings.set
            vk.cmdBindPipeline(commands, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline)
            vk.cmdBindDescriptorSets(commands, VK_PIPELINE_BIND_POINT_COMPUTE, layout, 0, 1, &set, 0, nil)
            push.withUnsafeBytes { vk.cmdPushConstants(commands, layout, UInt32(VK_SHADER_STAGE_COMPUTE_BIT.rawValue), 0, UInt32($0.count), $0.baseAddress) }
            vk.cmdDispatch(commands, UInt32(pages.count), UInt32(steps), 1)
        }
        var staged = [Float](repeating: .nan, count: floats)
        try staged.withUnsafeMutableBytes { raw in Result { () throws(VulkanError) in try output.download(into: raw) } }.get()

        var worst = 0.0, checked = 0
        for (p, page) in pages.enumerated() {
            let n = page.tokenCount
            for (m, rows) in [page.keys.decode(), page.values.decode()].enumerated() {
                for step in 0..<steps {
                    for r in 0..<16 {
                        let row = min(step * 16 + r, n - 1)
                        let expected = rows[(row * d)..<(row * d + d)].map(Float.init)
                        let base = ((p * steps + step) * 2 + m) * 16 * d + r * d
                        let got = staged[base..<(base + d)]
                        // One f16 rounding of code·scale + zero either side: within an f16 step of the row's largest value.
                        let scale = Double(expected.map(abs).max() ?? 0) + 1e-6
                        let error = zip(got, expected).map { Double(abs($0 - $1)) }.max() ?? 0
                        worst = max(worst, error / scale)
                        checked += 1
                    }
                }
            }
        }
        #expect(checked == pages.count * 2 * steps * 16)
        #expect(worst <= 1e-3, "\(encoding) d=\(d): largest error \(worst) of a row's largest value")
    }
}
