/// Where a forward pass spent its time (wall clock): the weight-matrix products (OpenBLAS), the
/// session's append and attention, and everything else (norms, RoPE, activations, copies).
public struct ForwardProfile: Sendable, Hashable {
    /// Time in weight-matrix products (`sgemm` / `sgemv`), all layers.
    public var matrixProducts: Duration = .zero
    /// Floating-point operations of those products (2 per multiply-add).
    public var matrixProductOperations: Double = 0
    /// Time in the session's `append` and `attend` (and, for `prefill`, its final `prefill`).
    public var attention: Duration = .zero
    /// The whole pass.
    public var total: Duration = .zero

    /// Everything not a product nor attention.
    public var other: Duration { total - matrixProducts - attention }

    /// Achieved product throughput, in GFLOP/s.
    public var matrixProductGigaflops: Double { matrixProductOperations / matrixProducts.seconds / 1e9 }

    public init() {}

    mutating func timeProduct(_ m: WeightMatrix, rows: Int, _ body: () -> Void) {
        let start = ContinuousClock.now
        body()
        matrixProducts += ContinuousClock.now - start
        matrixProductOperations += 2 * Double(rows) * Double(m.outputs) * Double(m.inputs)
    }
}
