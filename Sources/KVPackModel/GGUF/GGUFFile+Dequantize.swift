extension GGUFFile {
    /// Every element of `tensor` as `Float`, row after row: `[rowCount * rowLength]`, i.e. the
    /// tensor's `shape` in row-major order.
    /// - Throws: `GGUFError.unsupportedTensorType` for a type `GGMLType.isDequantizable` rejects,
    ///   `.tensorOutOfBounds` for a tensor that does not belong to this file.
    /// - Complexity: O(elements), no allocation beyond the result.
    public func dequantize(_ tensor: GGUFTensorInfo) throws(GGUFError) -> [Float] {
        try dequantize(tensor, rows: 0..<tensor.rowCount)
    }

    /// Rows `rows` of `tensor` as `Float`: `[rows.count * rowLength]` (an embedding row, a slice of
    /// a weight matrix).
    /// - Throws: `GGUFError.rowsOutOfRange` when `rows` is not inside `0..<rowCount`, and the
    ///   errors of `dequantize(_:)`.
    public func dequantize(_ tensor: GGUFTensorInfo, rows: Range<Int>) throws(GGUFError) -> [Float] {
        try checkRows(tensor, rows)
        let count = rows.count * tensor.rowLength
        var failure: GGUFError?
        let values = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            do throws(GGUFError) {
                try dequantize(tensor, rows: rows, into: buffer)
                initialized = count
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
        return values
    }

    /// Writes rows `rows` of `tensor` as `Float` into `destination`, which must hold exactly
    /// `rows.count * rowLength` floats. Safe to call from several threads at once (the file is
    /// read-only), e.g. one row range each.
    /// - Throws: `GGUFError.bufferSize` when `destination` has another size, and the errors of
    ///   `dequantize(_:rows:)`.
    public func dequantize(_ tensor: GGUFTensorInfo, rows: Range<Int>,
                           into destination: UnsafeMutableBufferPointer<Float>) throws(GGUFError) {
        try checkRows(tensor, rows)
        guard let kernel = GGMLDequantizer.kernel(for: tensor.type) else {
            throw .unsupportedTensorType(tensor: tensor.name, type: tensor.type)
        }
        let count = rows.count * tensor.rowLength
        guard destination.count == count else {
            throw .bufferSize(tensor: tensor.name, expected: count, got: destination.count)
        }
        let data = try rawData(of: tensor)
        guard count > 0, let source = data.baseAddress, let out = destination.baseAddress else { return }
        let blocksPerRow = tensor.rowLength / tensor.type.blockSize
        kernel(source + rows.lowerBound * tensor.bytesPerRow, rows.count * blocksPerRow, out)
    }

    /// The tensor named `name`, dequantized (see `dequantize(_:)`).
    public func dequantize(named name: String) throws(GGUFError) -> [Float] {
        try dequantize(try tensor(named: name))
    }

    private func checkRows(_ tensor: GGUFTensorInfo, _ rows: Range<Int>) throws(GGUFError) {
        guard rows.lowerBound >= 0, rows.upperBound <= tensor.rowCount else {
            throw .rowsOutOfRange(tensor: tensor.name, rows: rows, rowCount: tensor.rowCount)
        }
    }
}
