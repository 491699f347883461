import Foundation
import KVPackModel
import Testing

@Suite("ModelLocator")
struct ModelLocatorTests {
    @Test("finds both shipped models by name, as GGUF files")
    func finds() throws {
        for model in ShippedModel.allCases {
            let path = try Fixtures.model(model)
            #expect(path.hasSuffix("/" + model.fileName))
            #expect(try GGUFFile(contentsOf: path).metadata.required("general.architecture", as: String.self)
                    == (model == .smollm2 ? "llama" : "gemma3"))
        }
    }

    @Test("an unknown name, and a model nowhere to be found, say what to do")
    func errors() throws {
        #expect(throws: ModelLocatorError.unknownModel("llama-70b", known: ["smollm2", "gemma3-270m"])) {
            try ModelLocator().locate(named: "llama-70b")
        }
        // No interpreter that exists, and an empty cache folder: nothing can be found.
        let nowhere = ModelLocator(interpreters: ["/nonexistent/python3"], gemmaCacheDirectory: "/nonexistent")
        if ProcessInfo.processInfo.environment["KVPACK_PYTHON"] == nil {
            for model in ShippedModel.allCases {
                #expect(throws: ModelLocatorError.self) { try nowhere.locate(model) }
                do {
                    _ = try nowhere.locate(model)
                } catch {
                    #expect(error.description.contains("Tools/scripts/setup.sh --tests") && error.description.contains(model.pythonPackage))
                }
            }
        }
    }
}
