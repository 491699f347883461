/// What loading a model needs from a model file: typed metadata by key and dequantized tensors
/// by name. `GGUFFile` provides it; tests may provide small synthetic models.
protocol ModelSource {
    func string(_ key: String) -> String?
    func integer(_ key: String) -> Int?
    func real(_ key: String) -> Double?
    /// GGUF dimensions of tensor `name` (`ne`: fastest-varying first, so a matrix is
    /// `[inputs, outputs]`), nil when the file has no such tensor.
    func dimensions(of name: String) -> [Int]?
    /// Tensor `name` dequantized to Float, in storage order.
    func floats(_ name: String) throws(ModelError) -> [Float]
}
