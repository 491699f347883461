import Foundation

/// Which physical device a `VulkanContext` opens.
public enum VulkanDeviceSelector: Sendable, Hashable, CustomStringConvertible {
    /// A discrete GPU if there is one, then integrated, virtual, and last a CPU device (lavapipe).
    case automatic
    /// The device at this index of the loader's list (`kvpack doctor` prints it).
    case index(Int)
    /// The first device whose name contains this text, ignoring case.
    case name(String)

    /// `KVPACK_VULKAN_DEVICE` (an index or a name substring) when set, else `.automatic`.
    public static var environment: VulkanDeviceSelector {
        guard let value = ProcessInfo.processInfo.environment["KVPACK_VULKAN_DEVICE"], !value.isEmpty else { return .automatic }
        return parse(value)
    }

    /// An index when `text` is a number, else a name substring.
    public static func parse(_ text: String) -> VulkanDeviceSelector {
        if let i = Int(text) { return .index(i) }
        return .name(text)
    }

    public var description: String {
        switch self {
        case .automatic: return "automatic"
        case .index(let i): return "\(i)"
        case .name(let n): return n
        }
    }

    /// The chosen index into `devices`, or nil when none matches.
    func choose(from devices: [VulkanDeviceInfo]) -> Int? {
        switch self {
        case .automatic:
            let rank: [VulkanDeviceInfo.Kind: Int] = [.discrete: 0, .integrated: 1, .virtual: 2, .other: 3, .cpu: 4]
            return devices.indices.min { (rank[devices[$0].kind] ?? 5, $0) < (rank[devices[$1].kind] ?? 5, $1) }
        case .index(let i):
            return devices.indices.contains(i) ? i : nil
        case .name(let n):
            return devices.firstIndex { $0.name.localizedCaseInsensitiveContains(n) }
        }
    }
}
