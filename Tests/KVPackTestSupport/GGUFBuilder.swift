import Foundation

/// Writes GGUF bytes for tests, valid or deliberately broken: each field can be set to what a
/// damaged or hostile file would hold. Independent of the reader (it only appends bytes).
public struct GGUFBuilder {
    public enum Value {
        case u8(UInt8), u32(UInt32), i32(Int32), u64(UInt64), f32(Float), bool(Bool), string(String)
        case strings([String]), floats([Float]), ints([Int32])
        /// A value type id and the bytes that follow it, verbatim.
        case raw(type: UInt32, bytes: [UInt8])
    }

    public struct Tensor {
        public var name: String
        public var dims: [UInt64]
        public var type: UInt32
        public var data: [UInt8]
        /// Data offset from the data section; nil places it after the previous tensor, aligned.
        public var offset: UInt64? = nil

        public init(name: String, dims: [UInt64], type: UInt32, data: [UInt8], offset: UInt64? = nil) {
            self.name = name
            self.dims = dims
            self.type = type
            self.data = data
            self.offset = offset
        }
    }

    public var magic = Array("GGUF".utf8)
    public var version: UInt32 = 3
    public var metadata: [(String, Value)] = []
    public var tensors: [Tensor] = []
    /// The padding used to place the data section and tensors (say so in `general.alignment` too).
    public var alignment = 32
    /// Overrides the tensor and metadata counts written in the header.
    public var tensorCount: UInt64? = nil
    public var metadataCount: UInt64? = nil

    public init() {}

    public func bytes() -> [UInt8] {
        var out = magic
        out.append(le: version)
        out.append(le: tensorCount ?? UInt64(tensors.count))
        out.append(le: metadataCount ?? UInt64(metadata.count))
        for (key, value) in metadata {
            out.append(string: key)
            Self.append(value, to: &out)
        }
        var offsets = [UInt64]()
        var next: UInt64 = 0
        for t in tensors {
            let offset = t.offset ?? next
            offsets.append(offset)
            next = (offset + UInt64(t.data.count) + UInt64(alignment) - 1) / UInt64(alignment) * UInt64(alignment)
            out.append(string: t.name)
            out.append(le: UInt32(t.dims.count))
            for d in t.dims { out.append(le: d) }
            out.append(le: t.type)
            out.append(le: offset)
        }
        while out.count % alignment != 0 { out.append(0) }
        let base = out.count
        for (t, offset) in zip(tensors, offsets) {
            let start = base + Int(min(offset, 1 << 20))
            if out.count < start + t.data.count { out += [UInt8](repeating: 0, count: start + t.data.count - out.count) }
            out.replaceSubrange(start..<start + t.data.count, with: t.data)
        }
        return out
    }

    private static func append(_ value: Value, to out: inout [UInt8]) {
        switch value {
        case .u8(let v): out.append(le: UInt32(0)); out.append(v)
        case .u32(let v): out.append(le: UInt32(4)); out.append(le: v)
        case .i32(let v): out.append(le: UInt32(5)); out.append(le: v)
        case .f32(let v): out.append(le: UInt32(6)); out.append(le: v.bitPattern)
        case .bool(let v): out.append(le: UInt32(7)); out.append(v ? 1 : 0)
        case .string(let s): out.append(le: UInt32(8)); out.append(string: s)
        case .u64(let v): out.append(le: UInt32(10)); out.append(le: v)
        case .strings(let a):
            out.append(le: UInt32(9)); out.append(le: UInt32(8)); out.append(le: UInt64(a.count))
            for s in a { out.append(string: s) }
        case .floats(let a):
            out.append(le: UInt32(9)); out.append(le: UInt32(6)); out.append(le: UInt64(a.count))
            for f in a { out.append(le: f.bitPattern) }
        case .ints(let a):
            out.append(le: UInt32(9)); out.append(le: UInt32(5)); out.append(le: UInt64(a.count))
            for i in a { out.append(le: i) }
        case .raw(let type, let bytes): out.append(le: type); out += bytes
        }
    }

    /// A small valid file: a few metadata entries and an F32, a Q8_0 and a Q4_K tensor.
    public static func sample() -> GGUFBuilder {
        var b = GGUFBuilder()
        b.metadata = [("general.architecture", .string("test")), ("test.count", .u32(7)),
                      ("test.names", .strings(["x", "yz"])), ("test.scale", .f32(0.5))]
        var rng = TestRandom(5)
        b.tensors = [
            Tensor(name: "a", dims: [4, 2], type: 0, data: (0..<8).flatMap { Float($0).bitPattern.leBytes }),
            Tensor(name: "b", dims: [32, 2], type: 8, data: (0..<2).flatMap { _ in Float16(0.25).bitPattern.leBytes + (0..<32).map { _ in UInt8(truncatingIfNeeded: rng.bits() >> 56) } }),
            Tensor(name: "c", dims: [256], type: 12, data: Float16(0.5).bitPattern.leBytes + Float16(0.125).bitPattern.leBytes + (0..<140).map { _ in UInt8(truncatingIfNeeded: rng.bits() >> 56) }),
        ]
        return b
    }
}

extension Array where Element == UInt8 {
    public mutating func append<T: FixedWidthInteger>(le value: T) { self += value.leBytes }
    public mutating func append(string: String) {
        append(le: UInt64(string.utf8.count))
        self += Array(string.utf8)
    }
}

extension FixedWidthInteger {
    public var leBytes: [UInt8] { withUnsafeBytes(of: littleEndian) { Array($0) } }
}

