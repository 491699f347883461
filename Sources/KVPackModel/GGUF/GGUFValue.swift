/// The value types a GGUF metadata entry can hold (the file's type ids).
public enum GGUFValueType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7
    case string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12

    /// Bytes of one value on disk, or nil for the variable-size string and array.
    var fixedSize: Int? {
        switch self {
        case .uint8, .int8, .bool: 1
        case .uint16, .int16: 2
        case .uint32, .int32, .float32: 4
        case .uint64, .int64, .float64: 8
        case .string, .array: nil
        }
    }

    public var description: String {
        switch self {
        case .uint8: "uint8"
        case .int8: "int8"
        case .uint16: "uint16"
        case .int16: "int16"
        case .uint32: "uint32"
        case .int32: "int32"
        case .float32: "float32"
        case .bool: "bool"
        case .string: "string"
        case .array: "array"
        case .uint64: "uint64"
        case .int64: "int64"
        case .float64: "float64"
        }
    }
}

/// One GGUF metadata value, in the type the file stores it.
public enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case uint64(UInt64), int64(Int64), float32(Float), float64(Double), bool(Bool), string(String)
    case array(GGUFArray)

    /// The type the file stores.
    public var type: GGUFValueType {
        switch self {
        case .uint8: .uint8
        case .int8: .int8
        case .uint16: .uint16
        case .int16: .int16
        case .uint32: .uint32
        case .int32: .int32
        case .uint64: .uint64
        case .int64: .int64
        case .float32: .float32
        case .float64: .float64
        case .bool: .bool
        case .string: .string
        case .array: .array
        }
    }

    /// Any integer type, when its value fits in `Int`.
    public var int: Int? {
        switch self {
        case .uint8(let v): Int(v)
        case .int8(let v): Int(v)
        case .uint16(let v): Int(v)
        case .int16(let v): Int(v)
        case .uint32(let v): Int(v)
        case .int32(let v): Int(v)
        case .uint64(let v): Int(exactly: v)
        case .int64(let v): Int(v)
        default: nil
        }
    }

    /// A float32 or float64 value.
    public var double: Double? {
        switch self {
        case .float32(let v): Double(v)
        case .float64(let v): v
        default: nil
        }
    }

    /// A human-readable type name, with the element type for arrays (`array of string`).
    var typeName: String {
        if case .array(let a) = self { return "array of \(a.elementType)" }
        return type.description
    }
}

/// A GGUF metadata array: elements of one type, kept in a typed Swift array (a 262,144-token
/// vocabulary is one `[String]`, not 262,144 enum values).
public enum GGUFArray: Sendable, Equatable {
    case uint8([UInt8]), int8([Int8]), uint16([UInt16]), int16([Int16]), uint32([UInt32]), int32([Int32])
    case uint64([UInt64]), int64([Int64]), float32([Float]), float64([Double]), bool([Bool]), string([String])
    /// Arrays of arrays (GGUF allows them; real files rarely use them).
    case array([GGUFArray])

    /// The element type.
    public var elementType: GGUFValueType { shape.type }

    /// Number of elements.
    public var count: Int { shape.count }

    private var shape: (type: GGUFValueType, count: Int) {
        switch self {
        case .uint8(let a): (.uint8, a.count)
        case .int8(let a): (.int8, a.count)
        case .uint16(let a): (.uint16, a.count)
        case .int16(let a): (.int16, a.count)
        case .uint32(let a): (.uint32, a.count)
        case .int32(let a): (.int32, a.count)
        case .uint64(let a): (.uint64, a.count)
        case .int64(let a): (.int64, a.count)
        case .float32(let a): (.float32, a.count)
        case .float64(let a): (.float64, a.count)
        case .bool(let a): (.bool, a.count)
        case .string(let a): (.string, a.count)
        case .array(let a): (.array, a.count)
        }
    }

    /// Integer elements of any integer type, when every one fits in `Int`.
    public var ints: [Int]? {
        switch self {
        case .uint8(let a): a.map(Int.init)
        case .int8(let a): a.map(Int.init)
        case .uint16(let a): a.map(Int.init)
        case .int16(let a): a.map(Int.init)
        case .uint32(let a): a.map(Int.init)
        case .int32(let a): a.map(Int.init)
        case .int64(let a): a.map(Int.init)
        case .uint64(let a):
            a.allSatisfy { $0 <= UInt64(Int.max) } ? a.map { Int($0) } : nil
        default: nil
        }
    }

    /// float32 elements, or float64 elements rounded to `Float`.
    public var floats: [Float]? {
        switch self {
        case .float32(let a): a
        case .float64(let a): a.map { Float($0) }
        default: nil
        }
    }
}
