import ArgumentParser
import Foundation
import KVPack
import KVPackModel
import KVPackPolicies
import KVPackServer
import KVPackVulkan
import Logging
import Metrics
import Prometheus

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve text generation over HTTP (OpenAI-style) with compressed KV caches in one page pool.",
        discussion: """
            POST /v1/completions and /v1/chat/completions ("stream": true for server-sent events), GET /health, GET /metrics (Prometheus text). Every decode step runs all active requests as one batch; a request whose cache does not fit in --pool waits (at most --max-queue of them; beyond, 429 with Retry-After). A request may pick another policy with "kvpack_policy" among --policy and --allow-policy. SIGTERM / SIGINT: new requests get 503, admitted ones finish, then the server exits.
              kvpack serve --model smollm2 --policy "snapkv(keep=0.25)" --pool 2GiB --port 8080
            """)

    @Option(help: "smollm2, gemma3-270m, or a GGUF file.") var model: String
    @Option(help: "The default compression policy spec.") var policy = "dense"
    @Option(name: .customLong("allow-policy"), help: "Another policy spec requests may pick with kvpack_policy (repeat).") var allowPolicy: [String] = []
    @Option(help: "The page pool's budget: bytes of every request's cache together (2GiB, 512MiB, or a byte count).") var pool = "2GiB"
    @Option(help: "Where decode steps attend: cpu, or vulkan (the pool mirrored on the device).") var backend = "cpu"
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on (0: any free port, printed at start).") var port = 8080
    @Option(name: .customLong("max-queue"), help: "Requests that may wait for room; beyond, 429.") var maxQueue = 64
    @Option(name: .customLong("max-batch"), help: "Most requests decoding at once.") var maxBatch = 64
    @Option(name: .customLong("max-tokens"), help: "The most max_tokens a request may ask.") var maxTokens = 1024
    @Option(name: .customLong("default-max-tokens"), help: "max_tokens of a request that gives none.") var defaultMaxTokens = 128
    @Option(name: .customLong("prefill-chunk"), help: "Prompt tokens run between two decode steps.") var prefillChunk = 256
    @Option(help: "Positions per sequence (default: the model's trained context).") var context: Int?
    @Option(name: .customLong("page-size"), help: "Tokens per page.") var pageSize = 16
    @Option(name: .customLong("max-body"), help: "Largest request body (bytes, or 1MiB...).") var maxBody = "1MiB"
    @Option(name: .customLong("prefix-entries"), help: "Shared prompt prefixes (chat system turns) kept compressed for forking; 0: none.") var prefixEntries = 8
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error.") var logLevel = "info"

    func validate() throws {
        if Self.bytes(pool) == nil { throw ValidationError("--pool must be a byte size like 2GiB, 512MiB or 1000000; got \(pool)") }
        if Self.bytes(maxBody) == nil { throw ValidationError("--max-body must be a byte size like 1MiB; got \(maxBody)") }
        if backend != "cpu" && backend != "vulkan" { throw ValidationError("--backend must be cpu or vulkan; got \(backend)") }
        if !(0...65535).contains(port) { throw ValidationError("--port must be in 0...65535; got \(port)") }
        if Logger.Level(rawValue: logLevel) == nil { throw ValidationError("--log-level must be trace, debug, info, notice, warning, error or critical") }
        for (name, v) in [("--max-batch", maxBatch), ("--max-tokens", maxTokens), ("--default-max-tokens", defaultMaxTokens),
                          ("--prefill-chunk", prefillChunk), ("--page-size", pageSize)] where v <= 0 {
            throw ValidationError("\(name) must be positive; got \(v)")
        }
        if maxQueue < 0 { throw ValidationError("--max-queue must be 0 or more") }
        if let c = context, c <= 0 { throw ValidationError("--context must be positive") }
    }

    /// `2GiB`, `512MiB`, `1.5GB` or a plain byte count.
    static func bytes(_ text: String) -> Int? {
        if let n = Int(text), n > 0 { return n }
        if case .bytes(let b) = Budget(text) { return b }
        return nil
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel)!
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        // The library's own metrics (kvpack_pool_*, kvpack_attend_seconds) go to the same registry
        // as the server's, so /metrics shows both.
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(ServeMetrics.libraryMetricsFactory(registry: registry))
        let logger = Logger(label: "kvpack.serve")
        let server: GenerationServer
        let served: ServedModel
        do {
            let path = try ModelArgument.path(model)
            let file: GGUFFile
            do throws(GGUFError) { file = try GGUFFile(contentsOf: path) } catch { throw ServeError.model(error.description) }
            let name = model, context = context
            served = try Progress.during("loading \(name)") { try ServedModel(file: file, name: name, contextLength: context) }
            let policies = try PolicyCatalog(default: policy, allowing: allowPolicy)
            let budget = Self.bytes(pool)!, headDim = served.model.hyperparameters.headDim
            let attend: any BatchAttendBackend
            let pagePool: PagePool
            if backend == "vulkan" {
                let vulkan = try VulkanContext()
                // Banks of at most one binding each, with room for partly used chunks.
                let limit = vulkan.capabilities.maxStorageBufferRange - (64 << 10)
                let wanted = budget + budget / 8 + (4 << 20)
                let banks = (wanted + limit - 1) / limit
                pagePool = try PagePool(.init(budgetBytes: budget, headDim: headDim, pageSize: pageSize, slotsPerChunk: 64, name: "serve",
                                              banks: banks, bankBytes: (wanted + banks - 1) / banks))
                attend = VulkanBatchAttend(pool: try VulkanSessionPool(context: vulkan, pool: pagePool))
            } else {
                pagePool = try PagePool(.init(budgetBytes: budget, headDim: headDim, pageSize: pageSize, name: "serve"))
                attend = CPUBatchAttend()
            }
            server = try GenerationServer(
                model: served, pool: pagePool, attend: attend, policies: policies,
                limits: RequestLimits(maxTokens: maxTokens, defaultMaxTokens: min(defaultMaxTokens, maxTokens), maxBodyBytes: Self.bytes(maxBody)!),
                settings: SchedulerSettings(maxQueue: maxQueue, maxBatch: maxBatch, prefillChunk: prefillChunk, prefixEntries: prefixEntries),
                metrics: ServeMetrics(registry: registry))
        } catch let error as ModelLocatorError {
            throw Self.report(error.description, code: 66)
        } catch let error as ServeError {
            throw Self.report(error.description, code: 64)
        } catch let error as any Error & CustomStringConvertible {
            throw Self.report(error.description, code: 65)
        }
        let host = host, modelName = model, policy = policy, poolText = pool, backend = backend
        let group = server.serviceGroup(host: host, port: port, signals: [.sigterm, .sigint], logger: logger) { bound in
            let chat = (try? served.chat.get()).map { "chat: \($0.family.rawValue) template" } ?? "chat: unsupported (no template it renders)"
            let line = "kvpack serve: \(modelName) on http://\(host):\(bound), policy \(policy), pool \(poolText) (\(backend)), context \(served.contextLength), \(chat)\n"
            FileHandle.standardOutput.write(Data(line.utf8))
        }
        do {
            try await group.run()
        } catch {
            throw Self.report("\(error)", code: 70)
        }
    }

    static func report(_ message: String, code: Int32) -> ExitCode {
        FileHandle.standardError.write(Data("kvpack: error: \(message)\n".utf8))
        return ExitCode(code)
    }
}
