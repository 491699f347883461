import Dispatch
import Foundation
import KVPack

/// Sessions attending on a Vulkan device, for the offline tools (`DecodeSimulation`, `kvpack eval
/// --decode --backend vulkan`): each pool it makes is mirrored by a `VulkanSessionPool`, and
/// `attend` runs a one-session batch there, the calling thread waiting for it (these tools are
/// synchronous; servers call `VulkanSessionPool.attend` from their tasks instead).
public final class VulkanSessionBackend: SessionAttendBackend, @unchecked Sendable {
    public let context: VulkanContext
    public let options: DecodeOptions
    private let lock = NSLock()
    private var devicePools: [ObjectIdentifier: VulkanSessionPool] = [:]

    /// - Parameter options: kernel options; the default computes in fp32 (`f16Arithmetic` off),
    ///   as accuracy is what the tools measure.
    public init(context: VulkanContext, options: DecodeOptions = DecodeOptions(f16Arithmetic: false)) {
        self.context = context
        self.options = options
    }

    /// A pool of banks of at most one binding each, enough for `expectedBytes` (with room for
    /// partly used chunks), mirrored on the device.
    /// - Throws: `SessionError.device` with the `VulkanError` when the device cannot hold it.
    public func makePool(headDim: Int, pageSize: Int, expectedBytes: Int) throws(SessionError) -> PagePool {
        let limit = context.capabilities.maxStorageBufferRange - (64 << 10)
        let wanted = max(4 << 20, expectedBytes + expectedBytes / 4 + (4 << 20))
        let banks = (wanted + limit - 1) / limit
        let bankBytes = min(limit, (wanted + banks - 1) / banks)
        let pool: PagePool
        do { pool = try PagePool(.init(budgetBytes: banks * bankBytes, headDim: headDim, pageSize: pageSize, slotsPerChunk: 64,
                                      banks: banks, bankBytes: bankBytes)) } catch { throw .pool(error) }
        do {
            let device = try VulkanSessionPool(context: context, pool: pool)
            lock.withLock { devicePools[ObjectIdentifier(pool)] = device }
        } catch {
            throw .device(error)
        }
        return pool
    }

    /// - Throws: `SessionError`; device failures as `SessionError.device` with the `VulkanError`.
    public func attend(_ session: CacheSession, layer: Int, queries: HeadTensor<Float>, positions: [Int]) throws(SessionError) -> HeadTensor<Float> {
        guard let device = lock.withLock({ devicePools[ObjectIdentifier(session.pool)] }) else {
            throw .device(VulkanError.unsupported("the session's pool was not made by this backend"))
        }
        let request = CacheSession.AttendRequest(session: session, queries: queries, positions: positions)
        let options = self.options
        let box = ResultBox()
        let done = DispatchSemaphore(value: 0)
        Task {
            box.set(await device.attend([request], layer: layer, options: options)[0])
            done.signal()
        }
        done.wait()
        switch box.get() {
        case .success(let out): return out
        case .failure(.session(let e)): throw e
        case .failure(.device(let e)): throw .device(e)
        }
    }

    /// Lets go of the device pool of `pool` (its sessions closed).
    public func release(_ pool: PagePool) { _ = lock.withLock { devicePools.removeValue(forKey: ObjectIdentifier(pool)) } }
}

private final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Result<HeadTensor<Float>, DeviceSessionError>?

    func set(_ v: Result<HeadTensor<Float>, DeviceSessionError>) { lock.withLock { value = v } }
    func get() -> Result<HeadTensor<Float>, DeviceSessionError> { lock.withLock { value! } }
}
