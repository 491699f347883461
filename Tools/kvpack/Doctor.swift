import ArgumentParser
import CHDF5
import CLZ4
import CZstd
import Foundation
import KVPack
import KVPackVulkan

struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Report the libraries and devices KVPack finds on this machine.")

    func run() throws {
        var major: UInt32 = 0, minor: UInt32 = 0, release: UInt32 = 0
        H5get_libversion(&major, &minor, &release)
        print("kvpack \(KVPackVersion.string)")
        print("HDF5   \(major).\(minor).\(release)")
        print("zstd   \(String(cString: ZSTD_versionString()))")
        print("lz4    \(String(cString: LZ4_versionString()))")
        print("CPU    half-precision kernels: \(HalfConversion.kernelLevel), \(ProcessInfo.processInfo.activeProcessorCount) cores")
        do {
            let loader = try VulkanLoader()
            print("Vulkan loader \(try loader.instanceVersion())")
            for (device, shapes) in try loader.cooperativeMatrixShapes() {
                print("  device: \(device.name) (\(device.kind.rawValue), Vulkan \(device.apiVersion))")
                // VK_KHR_cooperative_matrix's shapes; the cooperative decode kernel needs the 16x16x16 f16 -> f32 one.
                let tile = "; decode tile 16x16x16 f16->f32: \(shapes.contains(where: \.isDecodeTile) ? "yes" : "no")"
                print("    cooperative matrices: \(shapes.isEmpty ? "none" : shapes.map(\.description).joined(separator: ", ") + tile)")
            }
        } catch {
            print("Vulkan unavailable: \(error) -- the CPU backend is used")
        }
    }
}
