import Foundation

/// Reads one `.npy` array (format versions 1-3, little-endian or single-byte, C order).
enum NPYFile {
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59] // "\x93NUMPY"

    static func read(_ path: String, name: String) throws(TensorImportError) -> ImportedTensor {
        guard let data = FileManager.default.contents(atPath: path) else { throw .fileNotFound(file: path) }
        return try parse(data, file: path, name: name)
    }

    static func parse(_ data: Data, file: String, name: String) throws(TensorImportError) -> ImportedTensor {
        let bytes = [UInt8](data)
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
            throw .malformed(file: file, reason: "not a .npy file (bad magic)")
        }
        let major = bytes[6]
        let headerLength: Int, headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw .malformed(file: file, reason: "truncated header") }
            headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
            headerStart = 12
        default:
            throw .malformed(file: file, reason: ".npy format version \(major) is not supported")
        }
        guard headerStart + headerLength <= bytes.count else { throw .malformed(file: file, reason: "truncated header") }
        let header = String(decoding: bytes[headerStart..<headerStart + headerLength], as: UTF8.self)
        guard let descr = value(of: "descr", in: header), let shapeText = value(of: "shape", in: header) else {
            throw .malformed(file: file, reason: "header lacks descr or shape: \(header)")
        }
        if let fortran = value(of: "fortran_order", in: header), fortran.hasPrefix("True") {
            throw .malformed(file: file, reason: "Fortran-order arrays are not supported; save with np.ascontiguousarray")
        }
        let typeCode = descr.trimmingCharacters(in: CharacterSet(charactersIn: "'\" "))
        let dtype: ImportedDType
        switch typeCode {
        case "<f2", "|f2": dtype = .f16
        case "<f4": dtype = .f32
        case "<f8": dtype = .f64
        case "<i4": dtype = .i32
        case "<i8": dtype = .i64
        default: throw .unsupportedDType(file: file, tensor: name, dtype: typeCode)
        }
        let inner = shapeText.drop(while: { $0 != "(" }).dropFirst().prefix(while: { $0 != ")" })
        var shape: [Int] = []
        for part in inner.split(separator: ",") {
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let n = Int(trimmed), n >= 0 else { throw .malformed(file: file, reason: "bad shape \(shapeText)") }
            shape.append(n)
        }
        var count = 1
        for d in shape {
            let (c, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else { throw .malformed(file: file, reason: "shape \(shape) overflows") }
            count = c
        }
        let dataStart = headerStart + headerLength
        let (needed, overflow) = count.multipliedReportingOverflow(by: dtype.size)
        guard !overflow, bytes.count - dataStart == needed else {
            throw .malformed(file: file, reason: "shape \(shape) needs \(needed) data bytes; file has \(bytes.count - dataStart)")
        }
        let elements = bytes[dataStart...].withUnsafeBytes { dtype.decode($0, count: count) }
        guard let elements else { throw .outOfHalfRange(file: file, tensor: name) }
        return ImportedTensor(shape: shape, elements: elements)
    }

    /// The text after `'key':` in a numpy header dict, up to the next top-level comma.
    private static func value(of key: String, in header: String) -> String? {
        guard let range = header.range(of: "'\(key)':") else { return nil }
        var depth = 0
        var out = ""
        for ch in header[range.upperBound...] {
            if ch == "(" { depth += 1 }
            if ch == ")" { depth -= 1 }
            if (ch == "," && depth == 0) || ch == "}" { break }
            out.append(ch)
        }
        return out.trimmingCharacters(in: .whitespaces)
    }
}
