import KVPackPolicies

extension PolicyPipeline {
    /// Stages that decide each layer of each sequence from that layer alone (given a share or a
    /// token count). Not here: ARKV (it ranks layers against each other), Task-KV (its head
    /// counts follow the layer's depth), random eviction (seeded by layer index), and any stage
    /// with a byte budget (shared by the whole cache). A new stage is not here until a test shows
    /// its one-layer pages equal its whole-capture pages (`StreamedSweepTests`).
    static let layerLocalStages: Set<String> = ["dense", "streaming", "knorm", "snapkv", "h2o", "paged", "quant", "mustafar"]

    /// Whether this pipeline gives one layer of one sequence, compressed as a capture of its own,
    /// the pages it gives that layer of the whole capture: then a sweep reads one layer at a time.
    var decidesLayersAlone: Bool {
        stages.allSatisfy { stage in
            guard Self.layerLocalStages.contains(stage.spec.name) else { return false }
            if case .bytes = stage.budget { return false }
            return true
        }
    }
}
