/// How quantization groups elements that share one scale and zero point.
public struct QuantizationGrouping: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Axis: String, Sendable, Hashable, Codable {
        /// Groups run along each row (token): `groupSize` consecutive channels of one token.
        case token
        /// Groups run along each channel within the page: `groupSize` consecutive tokens of one
        /// channel (KIVI's choice for keys, whose outliers sit in fixed channels).
        case channel
    }

    public var groupSize: Int
    public var axis: Axis

    public init(groupSize: Int, axis: Axis = .token) {
        self.groupSize = groupSize
        self.axis = axis
    }

    public var description: String { "\(axis == .token ? "g" : "c")\(groupSize)" }
}

/// The encoding of one page's keys or values.
public enum PageEncoding: Sendable, Hashable, Codable, CustomStringConvertible {
    /// IEEE half rows, `[rows, headDim]`.
    case f16
    /// 8-bit codes with an f16 scale and zero point per group.
    case int8(QuantizationGrouping)
    /// 4-bit codes (two per byte, low nibble first) with an f16 scale and zero point per group.
    case int4(QuantizationGrouping)
    /// Magnitude-pruned rows (Mustafar's format): a 64-bit mask per 64 elements of each row,
    /// the nonzeros packed as f16, and each row's offset into them.
    case bitmap

    /// The kind without parameters: the pool a page's bytes live in.
    public var kind: PageEncodingKind {
        switch self {
        case .f16: return .f16
        case .int8: return .int8
        case .int4: return .int4
        case .bitmap: return .bitmap
        }
    }

    public var grouping: QuantizationGrouping? {
        switch self {
        case .int8(let g), .int4(let g): return g
        case .f16, .bitmap: return nil
        }
    }

    public var description: String {
        switch self {
        case .f16: return "f16"
        case .int8(let g): return "int8/\(g)"
        case .int4(let g): return "int4/\(g)"
        case .bitmap: return "bitmap"
        }
    }
}

/// The four encodings without their parameters; each has its own pool when the cache is flattened.
public enum PageEncodingKind: UInt8, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    case f16 = 0, int8 = 1, int4 = 2, bitmap = 3

    public var description: String { ["f16", "int8", "int4", "bitmap"][Int(rawValue)] }
}
