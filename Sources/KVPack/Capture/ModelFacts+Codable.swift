extension ModelFacts {
    private enum CodingKeys: String, CodingKey {
        case name, queryHeads, kvHeads, headDim, ropeTheta, layerKinds, sourceLayers
    }

    /// Decodes and validates (the same checks as `init(name:...)`): facts read from a file are input.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        do {
            try self.init(name: c.decode(String.self, forKey: .name), queryHeads: c.decode(Int.self, forKey: .queryHeads),
                          kvHeads: c.decode(Int.self, forKey: .kvHeads), headDim: c.decode(Int.self, forKey: .headDim),
                          ropeTheta: c.decodeIfPresent(Double.self, forKey: .ropeTheta),
                          layerKinds: c.decode([AttentionKind].self, forKey: .layerKinds),
                          sourceLayers: c.decodeIfPresent([Int].self, forKey: .sourceLayers))
        } catch let error as CaptureError {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(queryHeads, forKey: .queryHeads)
        try c.encode(kvHeads, forKey: .kvHeads)
        try c.encode(headDim, forKey: .headDim)
        try c.encodeIfPresent(ropeTheta, forKey: .ropeTheta)
        try c.encode(layerKinds, forKey: .layerKinds)
        try c.encode(sourceLayers, forKey: .sourceLayers)
    }
}
