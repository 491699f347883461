import Foundation
import KVPack

/// Builds a capture from loose tensors: a `.safetensors` file, or a directory of `.npy` files,
/// named as `Datasets/SCHEMA.md` ("Importing tensors") describes:
///
/// - `layers.<L>.keys`, `layers.<L>.values` `[kvHeads, tokens, headDim]`,
///   `layers.<L>.queries` `[qHeads, window, headDim]`, and optionally `layers.<L>.probe_queries`,
///   `layers.<L>.probe_keys`, `layers.<L>.probe_values`;
/// - optionally `positions`, `query_positions`, `probe_positions` (integers). Without them the
///   prompt is `0..<tokens`, the window queries sit at its last positions and the probes follow
///   its last position.
///
/// The result is one sequence; model facts come from the shapes, plus what the caller gives.
public enum CaptureImport {
    /// Options the tensors cannot tell.
    public struct Options: Sendable {
        public var modelName: String
        public var ropeTheta: Double?
        /// Sliding-window size per layer (0 = global); nil means all global.
        public var slidingWindows: [Int]?

        public init(modelName: String, ropeTheta: Double? = nil, slidingWindows: [Int]? = nil) {
            self.modelName = modelName
            self.ropeTheta = ropeTheta
            self.slidingWindows = slidingWindows
        }
    }

    /// Imports from `path`: a `.safetensors` file or a directory of `.npy` files.
    public static func capture(from path: String, options: Options) throws(TensorImportError) -> Capture {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .fileNotFound(file: path)
        }
        if isDirectory.boolValue {
            let files = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(".npy") }
            let names = files.map { String($0.dropLast(4)) }
            return try build(file: path, names: names, options: options) { (name) throws(TensorImportError) in
                try NPYFile.read(path + "/" + name + ".npy", name: name)
            }
        }
        let file = try SafetensorsFile(path)
        var options = options
        if options.ropeTheta == nil, let theta = file.metadata["rope_theta"].flatMap(Double.init) { options.ropeTheta = theta }
        var provenance = file.metadata
        provenance["imported_from"] = URL(fileURLWithPath: path).lastPathComponent
        var capture = try build(file: path, names: file.names, options: options) { (name) throws(TensorImportError) in
            try file.tensor(name)
        }
        capture.provenance.merge(provenance) { a, _ in a }
        return capture
    }

    private static func build(file: String, names: [String], options: Options,
                              load: (String) throws(TensorImportError) -> ImportedTensor) throws(TensorImportError) -> Capture {
        let layerIndices = Set(names.compactMap { name -> Int? in
            let parts = name.split(separator: ".")
            guard parts.count == 3, parts[0] == "layers" else { return nil }
            return Int(parts[1])
        }).sorted()
        guard !layerIndices.isEmpty else { throw .missingTensor(file: file, tensor: "layers.0.keys") }
        guard layerIndices == Array(0..<layerIndices.count) else {
            throw .malformed(file: file, reason: "layer indices must run 0..<n; found \(layerIndices)")
        }
        func half(_ name: String) throws(TensorImportError) -> HeadTensor<Float16> {
            let t = try load(name)
            guard t.shape.count == 3 else { throw .wrongRank(file: file, tensor: name, expected: 3, found: t.shape) }
            guard case .half(let values) = t.elements else {
                throw .unsupportedDType(file: file, tensor: name, dtype: "integer (a float tensor is expected)")
            }
            return try! HeadTensor(heads: t.shape[0], tokens: t.shape[1], headDim: max(t.shape[2], 1),
                                   storage: t.shape[2] == 0 ? [] : values)
        }
        func ints(_ name: String) throws(TensorImportError) -> [Int]? {
            guard names.contains(name) else { return nil }
            let t = try load(name)
            guard t.shape.count == 1 else { throw .wrongRank(file: file, tensor: name, expected: 1, found: t.shape) }
            guard case .integers(let values) = t.elements else {
                throw .unsupportedDType(file: file, tensor: name, dtype: "float (integers are expected)")
            }
            return values
        }
        var layers: [LayerCapture] = []
        for l in layerIndices {
            func optional(_ t: CaptureTensor) throws(TensorImportError) -> HeadTensor<Float16>? {
                names.contains("layers.\(l).\(t.rawValue)") ? try half("layers.\(l).\(t.rawValue)") : nil
            }
            for required in [CaptureTensor.keys, .values, .queries] where !names.contains("layers.\(l).\(required.rawValue)") {
                throw .missingTensor(file: file, tensor: "layers.\(l).\(required.rawValue)")
            }
            layers.append(LayerCapture(
                keys: try half("layers.\(l).keys"), values: try half("layers.\(l).values"),
                queries: try half("layers.\(l).queries"), probeQueries: try optional(.probeQueries),
                probeKeys: try optional(.probeKeys), probeValues: try optional(.probeValues)))
        }
        let first = layers[0]
        let tokens = first.keys.tokens, window = first.queries.tokens
        let probes = first.probeQueries?.tokens ?? 0
        do {
            let windows = options.slidingWindows ?? Array(repeating: 0, count: layers.count)
            guard windows.count == layers.count else {
                throw TensorImportError.malformed(file: file, reason: "\(windows.count) sliding windows given for \(layers.count) layers")
            }
            let facts = try ModelFacts(
                name: options.modelName, queryHeads: first.queries.heads, kvHeads: first.keys.heads,
                headDim: first.keys.headDim, ropeTheta: options.ropeTheta,
                layerKinds: windows.map { $0 == 0 ? .global : .slidingWindow(size: $0) })
            let tokenPositions = try ints("positions") ?? Array(0..<tokens)
            let next = (tokenPositions.last ?? -1) + 1
            let positions = try SequencePositions(
                tokens: tokenPositions,
                window: ints("query_positions") ?? Array(tokenPositions.suffix(window)),
                probes: ints("probe_positions") ?? Array(next..<next + probes))
            let sequence = try SequenceCapture(id: "0", facts: facts, positions: positions, layers: layers)
            return try Capture(model: facts, sequences: [sequence], provenance: ["source": "kvpack convert"])
        } catch let error as CaptureError {
            throw .invalid(file: file, error)
        } catch let error as TensorImportError {
            throw error
        } catch {
            throw .malformed(file: file, reason: "\(error)")
        }
    }
}
