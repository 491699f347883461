/// Where a tool reads a capture from, one layer at a time: a `Capture` in memory, or a file that
/// reads each layer on demand (`CaptureFile` in KVPackDatasets), so that a pass over a 4 GiB
/// capture holds one layer.
public protocol CaptureSource: Sendable {
    associatedtype ReadError: Error & CustomStringConvertible
    var model: ModelFacts { get }
    /// Number of sequences.
    var sequenceCount: Int { get }
    /// Id and positions of sequence `index`.
    func sequence(at index: Int) throws(ReadError) -> (id: String, positions: SequencePositions)
    /// Layer `layer` of sequence `index`, validated.
    func layer(_ layer: Int, ofSequence index: Int) throws(ReadError) -> LayerCapture
    /// Every sequence and layer at once (for work that needs the whole capture).
    func wholeCapture() throws(ReadError) -> Capture
}

extension Capture: CaptureSource {
    public var sequenceCount: Int { sequences.count }
    public func sequence(at index: Int) throws(CaptureError) -> (id: String, positions: SequencePositions) {
        (sequences[index].id, sequences[index].positions)
    }
    public func layer(_ layer: Int, ofSequence index: Int) throws(CaptureError) -> LayerCapture { sequences[index].layers[layer] }
    public func wholeCapture() throws(CaptureError) -> Capture { self }
}

extension Capture {
    /// A capture of one layer of one sequence: `layer`, which is layer `index` of a capture of
    /// `model`, with its sequence's `id` and `positions`. Model facts keep the layer's kind and
    /// source index. Policies that decide each layer alone give this capture the pages they give
    /// that layer of the whole one.
    /// - Throws: `CaptureError` when the layer does not fit the model or the positions.
    public init(layer: LayerCapture, index: Int, of model: ModelFacts, sequence id: String, positions: SequencePositions,
                provenance: [String: String] = [:]) throws(CaptureError) {
        guard model.layerKinds.indices.contains(index) else {
            throw .layerCountMismatch(expected: model.layerCount, found: index + 1)
        }
        let facts = try ModelFacts(name: model.name, queryHeads: model.queryHeads, kvHeads: model.kvHeads, headDim: model.headDim,
                                   ropeTheta: model.ropeTheta, layerKinds: [model.layerKinds[index]],
                                   sourceLayers: [model.sourceLayers[index]])
        try self.init(model: facts, sequences: [try SequenceCapture(id: id, facts: facts, positions: positions, layers: [layer])],
                      provenance: provenance)
    }
}
