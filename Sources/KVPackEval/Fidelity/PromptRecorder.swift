import KVPack
import Synchronization

/// A dense session policy that also keeps the prompt it was given, so the prompt's dense pass
/// (keys, values and window queries of every layer) runs once and prefills any number of
/// compressing sessions through `CacheSession.prefill`.
final class PromptRecorder: SessionPolicy {
    private let recorded = Mutex<SessionPrompt?>(nil)
    private let dense = DenseSessionPolicy()

    var description: String { "dense" }
    var hasDecodeStages: Bool { false }

    /// The prompt of the last prefill, nil before one.
    var prompt: SessionPrompt? { recorded.withLock { $0 } }

    func prefill(_ prompt: SessionPrompt, model: ModelFacts, pageSize: Int) throws(SessionError) -> SessionPlan {
        recorded.withLock { $0 = prompt }
        return try dense.prefill(prompt, model: model, pageSize: pageSize)
    }

    func decodeStep(_ step: inout LiveDecodeStep) throws(SessionError) {}
}
