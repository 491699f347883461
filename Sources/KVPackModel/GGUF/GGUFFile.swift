/// A GGUF model file: header, metadata, tensor table, and the tensor data, memory-mapped.
///
/// Opening reads and validates the header, every metadata entry and the whole tensor table
/// (types known, rows of whole blocks, offsets aligned and inside the file, names unique);
/// tensor data is read only when asked for, from the read-only map, so opening a 250 MB model
/// costs its metadata. Values are immutable and `Sendable`: one file may serve dequantization
/// from many threads.
/// ```swift
/// let file = try GGUFFile(contentsOf: path)
/// let arch = try file.metadata.required("general.architecture", as: String.self)
/// let wq = try file.dequantize(try file.tensor(named: "blk.0.attn_q.weight"))  // [rows * rowLength]
/// ```
/// Malformed files (truncated, lying lengths, unknown types, misaligned or out-of-bounds tensors)
/// give a `GGUFError` naming the tensor, key or byte offset; nothing about a file's content traps.
/// The file must not be truncated by another process while it is mapped (reading the lost pages
/// would be a bus error, as for any memory map); replacing it by rename is safe.
public struct GGUFFile: Sendable {
    /// The GGUF version (2 or 3).
    public let version: UInt32
    /// The metadata entries.
    public let metadata: GGUFMetadata
    /// The tensor table, in file order.
    public let tensors: [GGUFTensorInfo]
    /// The data alignment in bytes (`general.alignment`, 32 when absent).
    public let alignment: Int
    /// Absolute byte offset of the tensor data section.
    public let dataOffset: Int
    /// Where the file was mapped from (nil for in-memory bytes).
    public let path: String?

    let storage: GGUFStorage
    private let index: [String: Int]

    /// Maps the file at `path` read-only and reads its header, metadata and tensor table.
    /// - Throws: `GGUFError` when the file cannot be opened or is not a valid GGUF file.
    public init(contentsOf path: String) throws(GGUFError) {
        try self.init(storage: GGUFStorage(mapping: path), path: path)
    }

    /// Reads a GGUF file held in memory (the bytes are copied).
    /// - Throws: `GGUFError` when the bytes are not a valid GGUF file.
    public init(bytes: [UInt8]) throws(GGUFError) {
        try self.init(storage: GGUFStorage(copying: bytes), path: nil)
    }

    private init(storage: GGUFStorage, path: String?) throws(GGUFError) {
        let layout = try GGUFLayout.parse(storage.bytes)
        self.storage = storage
        self.path = path
        version = layout.version
        metadata = layout.metadata
        tensors = layout.tensors
        alignment = layout.alignment
        dataOffset = layout.dataOffset
        var index = [String: Int](minimumCapacity: layout.tensors.count)
        for (i, t) in layout.tensors.enumerated() {
            guard index.updateValue(i, forKey: t.name) == nil else { throw .duplicateTensor(t.name) }
        }
        self.index = index
    }

    /// Size of the file in bytes.
    public var byteCount: Int { storage.bytes.count }

    /// The tensor named `name`.
    /// - Throws: `GGUFError.tensorNotFound`.
    public func tensor(named name: String) throws(GGUFError) -> GGUFTensorInfo {
        guard let i = index[name] else { throw .tensorNotFound(name) }
        return tensors[i]
    }

    /// Whether the file has a tensor named `name`.
    public func hasTensor(named name: String) -> Bool { index[name] != nil }

    /// Calls `body` with the raw bytes of `tensor`'s data (valid only inside `body`).
    /// - Throws: `GGUFError.tensorOutOfBounds` when `tensor` does not lie inside this file's data.
    public func withRawData<R>(of tensor: GGUFTensorInfo, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try body(try rawData(of: tensor))
    }

    /// The bytes of `tensor`, checked against this file's bounds (a tensor of another file may be passed).
    func rawData(of tensor: GGUFTensorInfo) throws(GGUFError) -> UnsafeRawBufferPointer {
        let available = storage.bytes.count - dataOffset
        guard tensor.offset >= 0, tensor.byteCount >= 0, available >= 0,
              tensor.offset <= available, tensor.byteCount <= available - tensor.offset else {
            throw .tensorOutOfBounds(tensor: tensor.name, offset: UInt64(max(tensor.offset, 0)),
                                     byteCount: tensor.byteCount, available: max(available, 0))
        }
        let start = dataOffset + tensor.offset
        return UnsafeRawBufferPointer(rebasing: storage.bytes[start..<start + tensor.byteCount])
    }
}
