/// Names and version of the HDF5 capture schema. `Datasets/SCHEMA.md` documents it.
public enum CaptureSchema {
    /// Value of the root attribute `format`.
    public static let format = "kvpack-capture"
    /// Value of the root attribute `version` this KVPack writes and reads.
    public static let version = 1

    static let modelGroup = "/model"
    static let slidingWindow = "/model/sliding_window"
    static let layerIndices = "/model/layer_indices"
    static let provenanceGroup = "/provenance"
    static let sequencesGroup = "/sequences"

    static func sequence(_ id: String) -> String { "\(sequencesGroup)/\(id)" }
    static func layer(_ id: String, _ index: Int) -> String { "\(sequence(id))/layers/\(index)" }

    /// Token rows per chunk of a `[heads, tokens, headDim]` dataset: one head, this many rows.
    static let chunkTokens = 1024
}
