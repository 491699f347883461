import KVPackTestSupport
import Testing
@testable import KVPackVulkan

/// The one Vulkan context the tests share (lavapipe on CI), opened once.
enum SharedContext {
    static let opened = Result { () throws(VulkanError) in try VulkanContext() }
    /// nil when no device opened (`opened` says why).
    static let context: VulkanContext? = try? opened.get()
}

/// Runs a suite or test only where a Vulkan device opens. Without one, the test is skipped with
/// the reason printed, except under CI (`CI` set), where it fails: CI installs lavapipe, so a
/// missing device there is a broken set-up that must not pass as green.
struct VulkanDeviceTrait: SuiteTrait, TestTrait, TestScoping {
    var isRecursive: Bool { true }

    /// Once per test function, around all its cases (a suite passes the trait on to its tests).
    func scopeProvider(for test: Test, testCase: Test.Case?) -> Self? { test.isSuite || testCase != nil ? nil : self }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        if case .failure(let error) = SharedContext.opened { try TestEnvironment.deviceMissing("Vulkan", why: error.description) }
        try await function()
    }
}

extension Trait where Self == VulkanDeviceTrait {
    /// Needs a Vulkan device: skips without one (saying why), fails without one under CI.
    static var vulkanDevice: Self { Self() }
}
