import ArgumentParser
import Foundation
import KVPack
import KVPackDatasets
import KVPackEval
import KVPackModel
import KVPackPolicies
import KVPackVulkan

/// Prints a typed error as `kvpack: error: ...` and turns it into the documented exit code.
func failing<R>(_ body: () throws -> R) throws -> R {
    do {
        return try body()
    } catch let error as CaptureFileError {
        throw report(error, code: {
            switch error {
            case .fileNotFound: return 66
            case .outputExists, .cannotCreate: return 73
            default: return 65
            }
        }())
    } catch let error as TensorImportError {
        if case .fileNotFound = error { throw report(error, code: 66) }
        throw report(error, code: 65)
    } catch let error as CaptureError {
        throw report(error, code: 65)
    } catch let error as AttentionError {
        throw report(error, code: 65)
    } catch let error as PolicyError {
        throw report(error, code: 64)
    } catch let error as LayoutError {
        throw report(error, code: 65)
    } catch let error as EvalError {
        switch error {
        case .badBudget, .badShard, .policy: throw report(error, code: 64)
        default: throw report(error, code: 65)
        }
    } catch let error as ReportDirectoryError {
        if case .notFound = error { throw report(error, code: 66) }
        throw report(error, code: 73)
    } catch let error as OutputPathError {
        throw report(error, code: 73)
    } catch let error as VulkanError {
        throw report(error, code: 69)
    } catch let error as SessionError {
        switch error {
        case .pool: throw report(error, code: 75)
        case .policy: throw report(error, code: 64)
        default: throw report(error, code: 65)
        }
    } catch let error as PoolError {
        throw report(error, code: 64)
    } catch let error as ModelLocatorError {
        throw report(error, code: 66)
    } catch let error as ModelError {
        switch error {
        case .file(.cannotOpen): throw report(error, code: 66)
        case .session(.pool): throw report(error, code: 75)
        default: throw report(error, code: 65)
        }
    } catch let error as FidelityError {
        switch error {
        case .nonPositive, .beyondTrainedContext: throw report(error, code: 64)
        case .model(.file(.cannotOpen)): throw report(error, code: 66)
        case .model(.session(.pool)): throw report(error, code: 75)
        default: throw report(error, code: 65)
        }
    } catch let error as RetrievalError {
        switch error {
        case .nonPositive, .badList, .depthOutOfRange, .contextTooShort, .beyondTrainedContext: throw report(error, code: 64)
        case .model(.file(.cannotOpen)): throw report(error, code: 66)
        case .model(.session(.pool)): throw report(error, code: 75)
        default: throw report(error, code: 65)
        }
    } catch let error as KVPFileError {
        switch error.withoutFile {
        case .fileNotFound: throw report(error, code: 66)
        case .outputExists, .cannotCreate: throw report(error, code: 73)
        default: throw report(error, code: 65)
        }
    }
}

private func report(_ error: some Error & CustomStringConvertible, code: Int32) -> ExitCode {
    FileHandle.standardError.write(Data("kvpack: error: \(error.description)\n".utf8))
    return ExitCode(code)
}

/// Prints a one-line warning on standard error.
func warn(_ message: String) {
    FileHandle.standardError.write(Data("kvpack: warning: \(message)\n".utf8))
}
