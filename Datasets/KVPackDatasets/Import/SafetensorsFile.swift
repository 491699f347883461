import Foundation

/// Reads tensors from a `.safetensors` file: an 8-byte little-endian header length, a JSON
/// header `{name: {dtype, shape, data_offsets}}` (plus optional `__metadata__`), then the data.
struct SafetensorsFile {
    let path: String
    let metadata: [String: String]
    private let entries: [String: (dtype: String, shape: [Int], range: Range<Int>)]
    private let data: Data
    private let dataStart: Int

    var names: [String] { entries.keys.sorted() }

    init(_ path: String) throws(TensorImportError) {
        guard let data = FileManager.default.contents(atPath: path) else { throw .fileNotFound(file: path) }
        guard data.count >= 8 else { throw .malformed(file: path, reason: "too short for a safetensors header") }
        let length = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard length <= UInt64(data.count - 8) else {
            throw .malformed(file: path, reason: "header claims \(length) bytes; the file has \(data.count - 8) after the length")
        }
        let headerEnd = 8 + Int(length)
        guard let json = try? JSONSerialization.jsonObject(with: data.subdata(in: 8..<headerEnd)) as? [String: Any] else {
            throw .malformed(file: path, reason: "header is not a JSON object")
        }
        var entries: [String: (String, [Int], Range<Int>)] = [:]
        var metadata: [String: String] = [:]
        let available = data.count - headerEnd
        for (name, value) in json {
            if name == "__metadata__" {
                for (k, v) in (value as? [String: Any]) ?? [:] { metadata[k] = "\(v)" }
                continue
            }
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int], offsets.count == 2,
                  offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= available, shape.allSatisfy({ $0 >= 0 })
            else {
                throw .malformed(file: path, reason: "tensor \(name): bad entry or data offsets outside the file")
            }
            entries[name] = (dtype, shape, offsets[0]..<offsets[1])
        }
        self.path = path
        self.metadata = metadata
        self.entries = entries
        self.data = data
        self.dataStart = headerEnd
    }

    func tensor(_ name: String) throws(TensorImportError) -> ImportedTensor {
        guard let entry = entries[name] else { throw .missingTensor(file: path, tensor: name) }
        let dtype: ImportedDType
        switch entry.dtype {
        case "F16": dtype = .f16
        case "BF16": dtype = .bf16
        case "F32": dtype = .f32
        case "F64": dtype = .f64
        case "I32": dtype = .i32
        case "I64": dtype = .i64
        default: throw .unsupportedDType(file: path, tensor: name, dtype: entry.dtype)
        }
        var count = 1
        for d in entry.shape {
            let (c, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else { throw .malformed(file: path, reason: "tensor \(name): shape overflows") }
            count = c
        }
        guard count.multipliedReportingOverflow(by: dtype.size) == (entry.range.count, false) else {
            throw .malformed(file: path, reason: "tensor \(name): shape \(entry.shape) does not match its \(entry.range.count) bytes")
        }
        let start = dataStart + entry.range.lowerBound
        let elements = data[start..<start + entry.range.count].withUnsafeBytes { dtype.decode($0, count: count) }
        guard let elements else { throw .outOfHalfRange(file: path, tensor: name) }
        return ImportedTensor(shape: entry.shape, elements: elements)
    }
}
