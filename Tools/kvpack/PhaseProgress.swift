import KVPackEval
import Synchronization

/// Progress lines for work that reports phases from several threads (`SweepProgress`): one
/// `Progress` line per phase, each closed when the next begins.
final class PhaseProgress: Sendable {
    private let state = Mutex<Progress?>(nil)

    func update(_ p: SweepProgress) {
        state.withLock { current in
            if current?.label != p.phase {
                current?.finish()
                current = Progress(p.phase, total: p.total)
            }
            current!.update(p.done)
        }
    }

    /// A tick of a step that cannot count its parts (`Progress.during`).
    func tick(_ label: String) {
        state.withLock { current in
            if current?.label != label { current = Progress(label, total: 0) }
            current!.tick()
        }
    }

    func finish() {
        state.withLock { current in
            current?.finish()
            current = nil
        }
    }
}
