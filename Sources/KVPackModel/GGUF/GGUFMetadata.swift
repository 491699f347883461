/// A GGUF file's metadata: key/value pairs in file order.
///
/// Typed access goes through `value(_:as:)` (nil when absent) and `required(_:as:)` (throws when
/// absent); both throw `GGUFError.metadataType` when the key holds another type:
/// ```swift
/// let layers = try file.metadata.required("llama.block_count", as: Int.self)
/// let merges = try file.metadata.value("tokenizer.ggml.merges", as: [String].self) ?? []
/// ```
public struct GGUFMetadata: Sendable, Equatable {
    /// Keys in the order the file lists them.
    public let keys: [String]
    private let values: [String: GGUFValue]

    init(entries: [(String, GGUFValue)]) throws(GGUFError) {
        var values = [String: GGUFValue](minimumCapacity: entries.count)
        for (key, value) in entries {
            guard values.updateValue(value, forKey: key) == nil else { throw .duplicateKey(key) }
        }
        self.keys = entries.map(\.0)
        self.values = values
    }

    /// The raw value stored under `key`, or nil.
    public subscript(key: String) -> GGUFValue? { values[key] }

    /// The value under `key` converted to `T`, or nil when the key is absent.
    /// - Throws: `GGUFError.metadataType` when the stored type does not convert to `T`.
    public func value<T: GGUFMetadataValue>(_ key: String, as _: T.Type = T.self) throws(GGUFError) -> T? {
        guard let raw = values[key] else { return nil }
        guard let converted = T(gguf: raw) else {
            throw .metadataType(key: key, expected: T.ggufTypeName, found: raw.typeName)
        }
        return converted
    }

    /// The value under `key` converted to `T`.
    /// - Throws: `GGUFError.missingMetadata` when absent, `.metadataType` when of another type.
    public func required<T: GGUFMetadataValue>(_ key: String, as _: T.Type = T.self) throws(GGUFError) -> T {
        guard let value = try value(key, as: T.self) else { throw .missingMetadata(key: key) }
        return value
    }
}

/// A Swift type a GGUF metadata value converts to (integers of any width to `Int`, float32 and
/// float64 to `Double` or `Float`, arrays to typed arrays).
public protocol GGUFMetadataValue: Sendable {
    /// The conversion, or nil when `value` holds another type (or an integer that does not fit).
    init?(gguf value: GGUFValue)
    /// What the conversion accepts, for error messages.
    static var ggufTypeName: String { get }
}

extension Int: GGUFMetadataValue {
    public init?(gguf value: GGUFValue) {
        guard let v = value.int else { return nil }
        self = v
    }
    public static var ggufTypeName: String { "an integer" }
}

extension Double: GGUFMetadataValue {
    public init?(gguf value: GGUFValue) {
        guard let v = value.double else { return nil }
        self = v
    }
    public static var ggufTypeName: String { "a float" }
}

extension Float: GGUFMetadataValue {
    public init?(gguf value: GGUFValue) {
        guard let v = value.double else { return nil }
        self = Float(v)
    }
    public static var ggufTypeName: String { "a float" }
}

extension Bool: GGUFMetadataValue {
    public init?(gguf value: GGUFValue) {
        guard case .bool(let v) = value else { return nil }
        self = v
    }
    public static var ggufTypeName: String { "bool" }
}

extension String: GGUFMetadataValue {
    public init?(gguf value: GGUFValue) {
        guard case .string(let v) = value else { return nil }
        self = v
    }
    public static var ggufTypeName: String { "string" }
}

extension Array: GGUFMetadataValue where Element: GGUFArrayElement {
    public init?(gguf value: GGUFValue) {
        guard case .array(let array) = value, let v = Element.elements(of: array) else { return nil }
        self = v
    }
    public static var ggufTypeName: String { "array of \(Element.ggufTypeName)" }
}

/// An element type of GGUF metadata arrays as Swift reads them.
public protocol GGUFArrayElement: GGUFMetadataValue {
    /// The array's elements converted, or nil when they are of another type.
    static func elements(of array: GGUFArray) -> [Self]?
}

extension Int: GGUFArrayElement {
    public static func elements(of array: GGUFArray) -> [Int]? { array.ints }
}

extension Float: GGUFArrayElement {
    public static func elements(of array: GGUFArray) -> [Float]? { array.floats }
}

extension String: GGUFArrayElement {
    public static func elements(of array: GGUFArray) -> [String]? {
        guard case .string(let a) = array else { return nil }
        return a
    }
}

extension Bool: GGUFArrayElement {
    public static func elements(of array: GGUFArray) -> [Bool]? {
        guard case .bool(let a) = array else { return nil }
        return a
    }
}
