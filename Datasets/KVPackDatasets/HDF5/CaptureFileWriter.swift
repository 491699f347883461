import Foundation
import KVPack

/// Writes a capture to HDF5 one layer at a time, atomically: everything goes to a temporary
/// file beside the destination (`TemporaryFiles`), which `finish()` renames into place with
/// interrupts held off. A writer dropped before `finish()` (an error), or a tool interrupted by a
/// signal, removes its temporary file and leaves the destination untouched.
public final class CaptureFileWriter {
    public let path: String
    public let model: ModelFacts
    private let temporaryPath: String
    private let temporary: TemporaryFiles.Token
    private let overwrite: Bool
    private var file: HDF5File?
    private var positions: [String: SequencePositions] = [:]
    private var written: Set<String> = []

    /// Starts a capture file.
    /// - Parameters:
    ///   - overwrite: replace an existing file at `path`; when false an existing file is an error.
    /// - Throws: `CaptureFileError.outputExists` or `.cannotCreate`.
    public init(path: String, model: ModelFacts, provenance: [String: String] = [:], overwrite: Bool = false) throws(CaptureFileError) {
        if !overwrite && FileManager.default.fileExists(atPath: path) { throw .outputExists(file: path) }
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw .cannotCreate(file: path, reason: "directory \(directory) does not exist")
        }
        guard FileManager.default.isWritableFile(atPath: directory) else {
            throw .cannotCreate(file: path, reason: "directory \(directory) is not writable")
        }
        self.path = path
        self.model = model
        self.overwrite = overwrite
        self.temporaryPath = TemporaryFiles.path(beside: path)
        temporary = TemporaryFiles.register(temporaryPath)
        hdf5Lock.lock()
        defer { hdf5Lock.unlock() }
        let file: HDF5File
        do {
            file = try HDF5File.create(temporaryPath, displayName: path)
        } catch {
            TemporaryFiles.remove(temporary)
            throw error
        }
        self.file = file
        do {
            try file.setAttribute("/", "format", string: CaptureSchema.format)
            try file.setAttribute("/", "version", int: CaptureSchema.version)
            let m = CaptureSchema.modelGroup
            try file.createGroup(m)
            try file.setAttribute(m, "name", string: model.name)
            try file.setAttribute(m, "layers", int: model.layerCount)
            try file.setAttribute(m, "query_heads", int: model.queryHeads)
            try file.setAttribute(m, "kv_heads", int: model.kvHeads)
            try file.setAttribute(m, "head_dim", int: model.headDim)
            if let theta = model.ropeTheta { try file.setAttribute(m, "rope_theta", double: theta) }
            try file.writeInts(CaptureSchema.slidingWindow, model.layerKinds.map { $0.windowSize ?? 0 })
            if model.sourceLayers != Array(0..<model.layerCount) {
                try file.writeInts(CaptureSchema.layerIndices, model.sourceLayers)
            }
            try file.createGroup(CaptureSchema.provenanceGroup)
            for (key, value) in provenance.sorted(by: { $0.key < $1.key }) {
                try file.setAttribute(CaptureSchema.provenanceGroup, key, string: value)
            }
            try file.createGroup(CaptureSchema.sequencesGroup)
        } catch {
            self.file = nil
            TemporaryFiles.remove(temporary)
            throw error
        }
    }

    deinit {
        if file != nil {
            file = nil
            TemporaryFiles.remove(temporary)
        }
    }

    /// Declares sequence `id` and its positions; its layers follow with `writeLayer`.
    public func beginSequence(_ id: String, positions: SequencePositions) throws(CaptureFileError) {
        guard let file else { throw .cannotCreate(file: path, reason: "writer already finished") }
        guard !id.isEmpty, !id.contains("/"), self.positions[id] == nil else {
            throw .cannotCreate(file: path, reason: "sequence id \"\(id)\" is empty, contains '/', or repeats")
        }
        hdf5Lock.lock()
        defer { hdf5Lock.unlock() }
        let base = CaptureSchema.sequence(id)
        try file.createGroup(base)
        try file.writeInts(base + "/positions", positions.tokens)
        try file.writeInts(base + "/query_positions", positions.window)
        if !positions.probes.isEmpty { try file.writeInts(base + "/probe_positions", positions.probes) }
        self.positions[id] = positions
    }

    /// Validates and writes layer `index` of sequence `id`.
    /// - Throws: `CaptureFileError.invalid` when the layer does not fit the model or positions.
    public func writeLayer(_ index: Int, _ layer: LayerCapture, sequence id: String) throws(CaptureFileError) {
        guard let file else { throw .cannotCreate(file: path, reason: "writer already finished") }
        guard let positions = positions[id] else {
            throw .cannotCreate(file: path, reason: "sequence \"\(id)\" was not begun")
        }
        let base = CaptureSchema.layer(id, index)
        guard index >= 0, index < model.layerCount, !written.contains(base) else {
            throw .cannotCreate(file: path, reason: "layer \(index) is outside 0..<\(model.layerCount) or already written")
        }
        do {
            try layer.validate(layer: index, against: model, positions: positions)
        } catch {
            throw .invalid(file: path, path: base, error)
        }
        hdf5Lock.lock()
        defer { hdf5Lock.unlock() }
        for name in CaptureTensor.allCases {
            if let t = layer.tensor(name) {
                try file.writeHalf("\(base)/\(name.rawValue)", dims: t.shape, values: t.storage)
            }
        }
        written.insert(base)
    }

    /// Writes layer `index`'s `kept` mask, `[kvHeads, tokens]` (1 = the head kept that token), for
    /// captures reconstructed from a compressed cache. Call after `writeLayer`.
    public func writeKeptMask(_ index: Int, mask: [UInt8], sequence id: String) throws(CaptureFileError) {
        guard let file, let positions = positions[id] else { throw .cannotCreate(file: path, reason: "sequence \"\(id)\" was not begun") }
        guard mask.count == model.kvHeads * positions.tokens.count else {
            throw .cannotCreate(file: path, reason: "kept mask of \(mask.count) entries for \(model.kvHeads) heads x \(positions.tokens.count) tokens")
        }
        hdf5Lock.lock()
        defer { hdf5Lock.unlock() }
        try file.writeBytes(CaptureSchema.layer(id, index) + "/kept", dims: [model.kvHeads, positions.tokens.count], values: mask)
    }

    /// Checks every declared sequence has all its layers, closes the file and renames it into place.
    public func finish() throws(CaptureFileError) {
        guard file != nil else { throw .cannotCreate(file: path, reason: "writer already finished") }
        guard !positions.isEmpty else { throw .invalid(file: path, path: "/sequences", .noSequences) }
        for id in positions.keys.sorted() {
            for i in 0..<model.layerCount where !written.contains(CaptureSchema.layer(id, i)) {
                throw .missing(file: path, path: CaptureSchema.layer(id, i))
            }
        }
        hdf5Lock.lock()
        file = nil // closes the HDF5 file
        hdf5Lock.unlock()
        do {
            try TemporaryFiles.holdingSignals(releasing: temporary) { () throws(CaptureFileError) in
                if !overwrite && FileManager.default.fileExists(atPath: path) { throw .outputExists(file: path) }
                guard rename(temporaryPath, path) == 0 else { throw .cannotCreate(file: path, reason: String(cString: strerror(errno))) }
            }
        } catch {
            TemporaryFiles.remove(temporary)
            throw error
        }
    }
}

extension Capture {
    /// Writes the whole capture to `path` atomically.
    public func write(to path: String, overwrite: Bool = false) throws(CaptureFileError) {
        let writer = try CaptureFileWriter(path: path, model: model, provenance: provenance, overwrite: overwrite)
        for sequence in sequences {
            try writer.beginSequence(sequence.id, positions: sequence.positions)
            for (i, layer) in sequence.layers.enumerated() { try writer.writeLayer(i, layer, sequence: sequence.id) }
        }
        try writer.finish()
    }
}
