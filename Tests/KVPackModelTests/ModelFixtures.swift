import Foundation
import KVPack
import KVPackDatasets
@testable import KVPackModel

/// The two shipped models (through `Fixtures.model`, which fails with how to install them when
/// they are missing) and their shipped captures, loaded once per test process.
enum ModelFixtures {
    static let repository = Fixtures.repository

    enum Name: String, CaseIterable, Sendable, CustomStringConvertible {
        case smollm2, gemma3
        var description: String { rawValue }
        var capturePath: String {
            repository.appendingPathComponent(self == .smollm2 ? "Datasets/samples/smollm2-135m-gpl3-2k.h5"
                                                               : "Datasets/samples/gemma3-270m-gpl3-2k.h5").path
        }
    }

    static let smollm2 = Result { try LanguageModel(file: try ModelFiles.file(.smollm2)) }
    static let gemma3 = Result { try LanguageModel(file: try ModelFiles.file(.gemma3_270m)) }

    static func model(_ name: Name) throws -> LanguageModel {
        try (name == .smollm2 ? smollm2 : gemma3).get()
    }

    static func capture(_ name: Name) throws -> CaptureFile { try CaptureFile.open(name.capturePath) }

    static func reference(_ name: Name) throws -> DenseModelReference {
        let file = try capture(name)
        guard let r = try file.denseModelReference(of: file.sequenceIDs[0]) else { throw FixtureError(description: "\(name.capturePath) has no dense reference") }
        return r
    }

    static func pool(for model: LanguageModel) throws -> PagePool {
        try PagePool(.init(budgetBytes: 1 << 34, headDim: model.hyperparameters.headDim))
    }
}
