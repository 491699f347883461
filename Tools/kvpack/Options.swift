import ArgumentParser
import KVPackDatasets

/// Shape and statistics options shared by `synth` and `bench`.
struct ShapeOptions: ParsableArguments {
    @Option(help: "Start from a preset shape: llama3-8b (32 layers, 32 query heads over 8 KV heads, head dim 128).")
    var preset: Preset?
    @Option(help: "Layers.") var layers: Int?
    @Option(name: .customLong("query-heads"), help: "Query heads per layer.") var queryHeads: Int?
    @Option(name: .customLong("kv-heads"), help: "KV heads per layer (query heads must be a multiple).") var kvHeads: Int?
    @Option(name: .customLong("head-dim"), help: "Elements per head row (even).") var headDim: Int?
    @Option(help: "Cached (prompt) tokens.") var tokens: Int?
    @Option(help: "Observation-window queries (the prompt's last positions).") var window: Int?
    @Option(help: "Probe tokens after the prompt.") var probes: Int?
    @Option(name: .customLong("sliding-window"), help: "Make all but every 6th layer sliding-window with this size.")
    var slidingWindow: Int?
    @Option(help: "Random seed.") var seed: UInt64 = 0

    enum Preset: String, ExpressibleByArgument, CaseIterable {
        case llama3_8b = "llama3-8b"
    }

    func spec(default base: SyntheticCaptureSpec = SyntheticCaptureSpec()) -> SyntheticCaptureSpec {
        var spec = preset == .llama3_8b ? SyntheticCaptureSpec.llama3_8B() : base
        if let layers { spec.layers = layers }
        if let queryHeads { spec.queryHeads = queryHeads }
        if let kvHeads { spec.kvHeads = kvHeads }
        if let headDim { spec.headDim = headDim }
        if let tokens { spec.tokens = tokens }
        if let window { spec.window = window }
        if let probes { spec.probes = probes }
        if let slidingWindow { spec.slidingWindow = slidingWindow }
        spec.seed = seed
        return spec
    }

    func validate() throws {
        for (name, value) in [("--layers", layers), ("--query-heads", queryHeads), ("--kv-heads", kvHeads),
                              ("--head-dim", headDim), ("--tokens", tokens), ("--sliding-window", slidingWindow)] {
            if let value, value <= 0 { throw ValidationError("\(name) must be positive; got \(value)") }
        }
        for (name, value) in [("--window", window), ("--probes", probes)] {
            if let value, value < 0 { throw ValidationError("\(name) must be >= 0; got \(value)") }
        }
        if let headDim, headDim % 2 != 0 { throw ValidationError("--head-dim must be even (RoPE pairs); got \(headDim)") }
        let spec = spec()
        if spec.queryHeads % spec.kvHeads != 0 {
            throw ValidationError("--query-heads (\(spec.queryHeads)) must be a multiple of --kv-heads (\(spec.kvHeads))")
        }
        if spec.window > spec.tokens { throw ValidationError("--window (\(spec.window)) cannot exceed --tokens (\(spec.tokens))") }
    }
}
