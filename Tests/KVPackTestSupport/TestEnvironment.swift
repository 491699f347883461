import Foundation
import Testing

/// Where the tests run, and what a missing device means there.
public enum TestEnvironment {
    /// Whether this is a CI run: the `CI` environment variable is set to anything but empty, `0`
    /// or `false` (GitHub Actions, GitLab CI and most others set `CI=true`).
    public static var isCI: Bool {
        guard let value = ProcessInfo.processInfo.environment["CI"]?.lowercased() else { return false }
        return !["", "0", "false", "no"].contains(value)
    }

    /// Ends the running test because a device it needs is missing (`why`: what opening it said).
    /// Under CI that is a failure: CI installs lavapipe (`Tools/scripts/setup.sh`), so no device
    /// there means a broken set-up, not a machine without a GPU. Elsewhere the test is skipped
    /// (cancelled) with the reason printed.
    public static func deviceMissing(_ what: String, why: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Never {
        let message = "no \(what) device (\(why))"
        if isCI { throw DeviceMissing(description: message + "; CI is set, so this fails instead of skipping: CI must install lavapipe (Tools/scripts/setup.sh)") }
        try Test.cancel(Comment(rawValue: message + "; skipped (with CI set, this fails)"), sourceLocation: sourceLocation)
    }
}

/// A device the tests need did not open under CI.
public struct DeviceMissing: Error, CustomStringConvertible {
    public let description: String
}
