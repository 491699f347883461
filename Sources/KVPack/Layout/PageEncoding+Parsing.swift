extension PageEncoding: LosslessStringConvertible {
    /// Parses `f16`, `bitmap`, `int8`, `int4` (token groups of 32), or with a grouping:
    /// `int8/g64` (groups of 64 channels of a token) or `int4/c16` (groups of 16 tokens of a
    /// channel, KIVI-style). The inverse of `description`.
    public init?(_ text: String) {
        let parts = text.lowercased().split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let name = parts.first else { return nil }
        func grouping() -> QuantizationGrouping? {
            guard parts.count == 2 else { return QuantizationGrouping(groupSize: 32) }
            let g = parts[1]
            guard let axis = g.first, axis == "g" || axis == "c", let size = Int(g.dropFirst()), size > 0 else { return nil }
            return QuantizationGrouping(groupSize: size, axis: axis == "g" ? .token : .channel)
        }
        switch name {
        case "f16" where parts.count == 1: self = .f16
        case "bitmap" where parts.count == 1: self = .bitmap
        case "int8": guard let g = grouping() else { return nil }; self = .int8(g)
        case "int4": guard let g = grouping() else { return nil }; self = .int4(g)
        default: return nil
        }
    }
}
