import KVPack

/// A tensor read from a `.npy` or `.safetensors` file, before it joins a capture.
public struct ImportedTensor: Sendable {
    public enum Elements: Sendable {
        /// Floating-point data, stored as half (float32/float64/bfloat16 are converted; a finite
        /// value beyond float16's range is an import error).
        case half([Float16])
        /// Integer data (positions).
        case integers([Int])
    }

    public var shape: [Int]
    public var elements: Elements
}

/// The element types KVPack imports, by their numpy / safetensors names.
enum ImportedDType {
    case f16, f32, f64, bf16, i32, i64

    var size: Int {
        switch self {
        case .f16, .bf16: return 2
        case .f32, .i32: return 4
        case .f64, .i64: return 8
        }
    }

    /// Decodes little-endian raw bytes of `count` elements.
    func decode(_ bytes: UnsafeRawBufferPointer, count: Int) -> ImportedTensor.Elements? {
        switch self {
        case .f16:
            return .half((0..<count).map { Float16(bitPattern: bytes.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self).littleEndian) })
        case .bf16:
            return Self.narrow((0..<count).map {
                Float(bitPattern: UInt32(bytes.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self).littleEndian) << 16)
            })
        case .f32:
            return Self.narrow((0..<count).map { Float(bitPattern: bytes.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self).littleEndian) })
        case .f64:
            return Self.narrow((0..<count).map {
                Float(Double(bitPattern: bytes.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self).littleEndian))
            })
        case .i32:
            return .integers((0..<count).map { Int(Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self))) })
        case .i64:
            return .integers((0..<count).map { Int(Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self))) })
        }
    }

    /// nil when a finite value does not fit float16.
    private static func narrow(_ floats: [Float]) -> ImportedTensor.Elements? {
        if floats.contains(where: { $0.isFinite && abs($0) > 65504 }) { return nil }
        return .half(HalfConversion.halves(floats))
    }
}

/// Why tensors could not be imported. Each case names the file and, where it applies, the tensor.
public enum TensorImportError: Error, Equatable, CustomStringConvertible {
    case fileNotFound(file: String)
    case malformed(file: String, reason: String)
    case unsupportedDType(file: String, tensor: String, dtype: String)
    case outOfHalfRange(file: String, tensor: String)
    case missingTensor(file: String, tensor: String)
    case wrongRank(file: String, tensor: String, expected: Int, found: [Int])
    case invalid(file: String, CaptureError)

    public var description: String {
        switch self {
        case .fileNotFound(let file): return "\(file): no such file or directory"
        case .malformed(let file, let reason): return "\(file): \(reason)"
        case .unsupportedDType(let file, let tensor, let dtype):
            return "\(file): \(tensor) has dtype \(dtype); supported: float16, float32, float64, bfloat16 (tensors), int32, int64 (positions)"
        case .outOfHalfRange(let file, let tensor):
            return "\(file): \(tensor) holds values beyond float16's range (|x| <= 65504)"
        case .missingTensor(let file, let tensor):
            return "\(file): tensor \(tensor) is missing (see Datasets/SCHEMA.md, \"Importing tensors\")"
        case .wrongRank(let file, let tensor, let expected, let found):
            return "\(file): \(tensor) has shape \(found); expected rank \(expected)"
        case .invalid(let file, let error): return "\(file): \(error)"
        }
    }
}
