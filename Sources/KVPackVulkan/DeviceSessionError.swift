import KVPack

/// Why one request of a device attend failed: the session refused (its `SessionError`), or the
/// device or kernels did (`VulkanError`). The session is left as it was before the call.
public enum DeviceSessionError: Error, Equatable, CustomStringConvertible {
    case session(SessionError)
    case device(VulkanError)

    public var description: String {
        switch self {
        case .session(let e): return e.description
        case .device(let e): return e.description
        }
    }
}
