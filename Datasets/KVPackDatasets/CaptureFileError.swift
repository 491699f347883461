import KVPack

/// Why a capture file could not be read or written. Every case names the file and, where it
/// applies, the path inside it (`/sequences/0/layers/3/keys`).
public enum CaptureFileError: Error, Equatable, CustomStringConvertible {
    case fileNotFound(file: String)
    case notHDF5(file: String)
    case cannotCreate(file: String, reason: String)
    case outputExists(file: String)
    case unsupportedFormat(file: String, found: String?)
    case unsupportedVersion(file: String, found: Int, supported: Int)
    case missing(file: String, path: String)
    case wrongRank(file: String, path: String, expected: Int, found: [Int])
    case wrongType(file: String, path: String, expected: String, found: String)
    case outOfHalfRange(file: String, path: String, value: Double)
    case invalid(file: String, path: String, CaptureError)
    case library(file: String, path: String, operation: String)
    case malformed(file: String, path: String, reason: String)

    public var description: String {
        switch self {
        case .fileNotFound(let file):
            return "\(file): no such file"
        case .notHDF5(let file):
            return "\(file): not an HDF5 file (KVPack captures are HDF5; convert .npy/.safetensors with `kvpack convert`)"
        case .cannotCreate(let file, let reason):
            return "\(file): cannot create: \(reason)"
        case .outputExists(let file):
            return "\(file): already exists (pass --force to overwrite)"
        case .unsupportedFormat(let file, let found):
            return "\(file): not a KVPack capture (attribute `format` is \(found.map { "\"\($0)\"" } ?? "missing"); expected \"\(CaptureSchema.format)\"; see Datasets/SCHEMA.md)"
        case .unsupportedVersion(let file, let found, let supported):
            return "\(file): capture schema version \(found) is not supported (this KVPack reads version \(supported)); upgrade KVPack or re-export the capture"
        case .missing(let file, let path):
            return "\(file): \(path) is missing"
        case .wrongRank(let file, let path, let expected, let found):
            return "\(file): \(path) has shape \(found); expected rank \(expected)"
        case .wrongType(let file, let path, let expected, let found):
            return "\(file): \(path) holds \(found); expected \(expected)"
        case .outOfHalfRange(let file, let path, let value):
            return "\(file): \(path) holds \(value), outside float16's range (|x| <= 65504); rescale before capture"
        case .invalid(let file, let path, let error):
            return "\(file): \(path): \(error)"
        case .library(let file, let path, let operation):
            return "\(file): \(path): HDF5 \(operation) failed"
        case .malformed(let file, let path, let reason):
            return "\(file): \(path): \(reason)"
        }
    }
}
