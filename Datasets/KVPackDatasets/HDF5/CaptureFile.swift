import Foundation
import KVPack

/// A capture stored in HDF5 (`Datasets/SCHEMA.md`), opened for reading.
///
/// Opening reads only the model facts, provenance and sequence names; each layer is read on
/// demand (`layer(_:of:)`), so a tool can walk a 4 GiB capture one layer at a time.
/// Thread-safe: every libhdf5 call is serialized.
public final class CaptureFile: @unchecked Sendable {
    /// The file's path as given.
    public let path: String
    public let model: ModelFacts
    public let provenance: [String: String]
    /// Sequence group names under `/sequences`, in numeric order when they are numbers.
    public let sequenceIDs: [String]
    let file: HDF5File

    private init(path: String, file: HDF5File, model: ModelFacts, provenance: [String: String], sequenceIDs: [String]) {
        self.path = path
        self.file = file
        self.model = model
        self.provenance = provenance
        self.sequenceIDs = sequenceIDs
    }

    /// Opens `path` and checks its format, version and model facts.
    /// - Throws: `CaptureFileError` naming the file and the path inside it.
    public static func open(_ path: String) throws(CaptureFileError) -> CaptureFile {
        hdf5Lock.lock()
        defer { hdf5Lock.unlock() }
        let file = try HDF5File.openReadOnly(path)
        let format = try file.stringAttribute("/", "format")
        guard format == CaptureSchema.format else { throw .unsupportedFormat(file: path, found: format) }
        guard let version = try file.numberAttribute("/", "version") else { throw .missing(file: path, path: "/@version") }
        guard version == Double(CaptureSchema.version) else {
            throw .unsupportedVersion(file: path, found: Int(exactly: version) ?? -1, supported: CaptureSchema.version)
        }
        let model = try readModel(file)
        var provenance: [String: String] = [:]
        for key in try file.attributeNames(CaptureSchema.provenanceGroup) {
            provenance[key] = try file.stringAttribute(CaptureSchema.provenanceGroup, key)
        }
        let ids = try file.children(CaptureSchema.sequencesGroup)
        guard !ids.isEmpty else { throw .invalid(file: path, path: CaptureSchema.sequencesGroup, .noSequences) }
        let sorted = ids.allSatisfy({ Int($0) != nil }) ? ids.sorted { Int($0)! < Int($1)! } : ids
        return CaptureFile(path: path, file: file, model: model, provenance: provenance, sequenceIDs: sorted)
    }

    private static func readModel(_ file: HDF5File) throws(CaptureFileError) -> ModelFacts {
        let group = CaptureSchema.modelGroup
        guard file.exists(group) else { throw .missing(file: file.name, path: group) }
        func int(_ key: String) throws(CaptureFileError) -> Int {
            guard let value = try file.numberAttribute(group, key) else { throw .missing(file: file.name, path: "\(group)@\(key)") }
            guard let exact = Int(exactly: value) else {
                throw .wrongType(file: file.name, path: "\(group)@\(key)", expected: "an integer", found: "\(value)")
            }
            return exact
        }
        let name = try file.stringAttribute(group, "name") ?? "unknown"
        let layers = try int("layers")
        var kinds = [AttentionKind](repeating: .global, count: max(layers, 0))
        if file.exists(CaptureSchema.slidingWindow) {
            let windows = try file.readInts(CaptureSchema.slidingWindow)
            guard windows.count == layers else {
                throw .malformed(file: file.name, path: CaptureSchema.slidingWindow,
                                 reason: "has \(windows.count) entries for \(layers) layers")
            }
            kinds = windows.map { $0 == 0 ? .global : .slidingWindow(size: $0) }
        }
        let sources = file.exists(CaptureSchema.layerIndices) ? try file.readInts(CaptureSchema.layerIndices) : nil
        do {
            return try ModelFacts(name: name, queryHeads: int("query_heads"), kvHeads: int("kv_heads"),
                                  headDim: int("head_dim"), ropeTheta: file.numberAttribute(group, "rope_theta"),
                                  layerKinds: kinds, sourceLayers: sources)
        } catch let error as CaptureError {
            throw .invalid(file: file.name, path: group, error)
        } catch let error as CaptureFileError {
            throw error
        } catch {
            throw .malformed(file: file.name, path: group, reason: "\(error)")
        }
    }

    /// The positions of sequence `id`.
    public func positions(of id: String) throws(CaptureFileError) -> SequencePositions {
        hdf5Lock.lock()
        defer { hdf5Lock.unlock() }
        return try readPositions(id)
    }

    private func readPositions(_ id: String) throws(CaptureFileError) -> SequencePositions {
        let base = CaptureSchema.sequence(id)
        guard file.exists(base) else { throw .missing(file: path, path: base) }
        let tokens = try file.readInts(base + "/positions")
        let window = try file.readInts(base + "/query_positions")
        let probes = file.exists(base + "/probe_positions") ? try file.readInts(base + "/probe_positions") : []
        do {
            return try SequencePositions(tokens: tokens, window: window, probes: probes)
        } catch {
            if case .positionsNotIncreasing(let name, _) = error { throw .invalid(file: path, path: "\(base)/\(name)", error) }
            throw .invalid(file: path, path: base, error)
        }
    }

    /// Reads and validates layer `index` of sequence `id`, and nothing else.
    /// - Throws: `CaptureFileError` naming the dataset at fault (missing, wrong rank or type,
    ///   shape against the model facts, NaN/Inf with its `[head, token, dim]`).
    public func layer(_ index: Int, of id: String) throws(CaptureFileError) -> LayerCapture {
        hdf5Lock.lock()
        defer { hdf5Lock.unlock() }
        let positions = try readPositions(id)
        return try readLayer(index, of: id, positions: positions)
    }

    private func readLayer(_ index: Int, of id: String, positions: SequencePositions) throws(CaptureFileError) -> LayerCapture {
        guard index >= 0, index < model.layerCount else {
            throw .missing(file: path, path: CaptureSchema.layer(id, index))
        }
        let base = CaptureSchema.layer(id, index)
        func tensor(_ name: CaptureTensor) throws(CaptureFileError) -> HeadTensor<Float16> {
            let (dims, values) = try file.readHalf("\(base)/\(name.rawValue)", rank: 3)
            do {
                return try HeadTensor(heads: dims[0], tokens: dims[1], headDim: dims[2], storage: values)
            } catch {
                throw .malformed(file: path, path: "\(base)/\(name.rawValue)", reason: "\(error)")
            }
        }
        func optional(_ name: CaptureTensor) throws(CaptureFileError) -> HeadTensor<Float16>? {
            file.exists("\(base)/\(name.rawValue)") ? try tensor(name) : nil
        }
        let layer = LayerCapture(
            keys: try tensor(.keys), values: try tensor(.values), queries: try tensor(.queries),
            probeQueries: try optional(.probeQueries), probeKeys: try optional(.probeKeys),
            probeValues: try optional(.probeValues))
        do {
            try layer.validate(layer: index, against: model, positions: positions)
        } catch {
            switch error {
            case .shapeMismatch(_, let t, _, _), .nonFinite(_, let t, _, _, _):
                throw .invalid(file: path, path: "\(base)/\(t.rawValue)", error)
            default:
                throw .invalid(file: path, path: base, error)
            }
        }
        return layer
    }

    /// Reads sequence `id`, all layers, calling `layerRead` after each.
    public func sequence(_ id: String, layerRead: () -> Void = {}) throws(CaptureFileError) -> SequenceCapture {
        hdf5Lock.lock()
        defer { hdf5Lock.unlock() }
        let positions = try readPositions(id)
        var layers: [LayerCapture] = []
        for i in 0..<model.layerCount {
            layers.append(try readLayer(i, of: id, positions: positions))
            layerRead()
        }
        do {
            return try SequenceCapture(id: id, facts: model, positions: positions, layers: layers)
        } catch {
            throw .invalid(file: path, path: CaptureSchema.sequence(id), error)
        }
    }

    /// Reads the whole capture, with `progress(layers read, layers in all)`.
    public func readCapture(progress: (Int, Int) -> Void = { _, _ in }) throws(CaptureFileError) -> Capture {
        var sequences: [SequenceCapture] = [], read = 0
        let total = sequenceIDs.count * model.layerCount
        for id in sequenceIDs {
            sequences.append(try sequence(id) {
                read += 1
                progress(read, total)
            })
        }
        do {
            return try Capture(model: model, sequences: sequences, provenance: provenance)
        } catch {
            throw .invalid(file: path, path: "/", error)
        }
    }
}

extension Capture {
    /// Reads a whole capture from an HDF5 file.
    public static func read(from path: String) throws(CaptureFileError) -> Capture {
        try CaptureFile.open(path).readCapture()
    }
}

extension CaptureFile: CaptureSource {
    public var sequenceCount: Int { sequenceIDs.count }

    public func sequence(at index: Int) throws(CaptureFileError) -> (id: String, positions: SequencePositions) {
        (sequenceIDs[index], try positions(of: sequenceIDs[index]))
    }

    public func layer(_ layer: Int, ofSequence index: Int) throws(CaptureFileError) -> LayerCapture {
        try self.layer(layer, of: sequenceIDs[index])
    }

    public func wholeCapture() throws(CaptureFileError) -> Capture { try readCapture() }
}
