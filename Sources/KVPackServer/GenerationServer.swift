import Hummingbird
import KVPack
import Logging
import ServiceLifecycle
import UnixSignals

/// `kvpack serve`: an OpenAI-style text-generation server over a `DecodeScheduler` (continuous
/// batching of compressed sessions in one page pool), on Hummingbird 2, run in a swift-service-
/// lifecycle `ServiceGroup`. Graceful shutdown (a signal, or `ServiceGroup.triggerGracefulShutdown`):
/// new requests get 503 while the admitted and waiting ones finish; then the listener closes and
/// the scheduler stops.
///
/// ```swift
/// let served = try ServedModel(file: GGUFFile(contentsOf: path), name: "smollm2")
/// let pool = try PagePool(.init(budgetBytes: 2 << 30, headDim: served.model.hyperparameters.headDim))
/// let server = try GenerationServer(model: served, pool: pool, policies: PolicyCatalog(default: "snapkv(keep=0.25)"))
/// try await server.serviceGroup(host: "127.0.0.1", port: 8080, signals: [.sigterm, .sigint]).run()
/// ```
public struct GenerationServer: Sendable {
    public let scheduler: DecodeScheduler
    public let metrics: ServeMetrics
    let routes: ServeRoutes

    /// - Parameters:
    ///   - pool: the page pool of every request's session (its budget bounds the requests' caches).
    ///   - attend: where decode steps attend (`CPUBatchAttend`, or a device pool mirroring `pool`).
    /// - Throws: `ServeError` for settings out of range or a pool of another head dim.
    public init(model: ServedModel, pool: PagePool, attend: any BatchAttendBackend = CPUBatchAttend(), policies: PolicyCatalog,
                limits: RequestLimits = RequestLimits(), settings: SchedulerSettings = SchedulerSettings(),
                metrics: ServeMetrics = ServeMetrics()) throws(ServeError) {
        guard limits.maxTokens >= 1, limits.defaultMaxTokens >= 1, limits.maxBodyBytes >= 1 else {
            throw .setting(name: "request limits", value: "\(limits)", expected: "positive max tokens and body size")
        }
        scheduler = try DecodeScheduler(model: model, pool: pool, attend: attend, settings: settings, metrics: metrics)
        self.metrics = metrics
        routes = ServeRoutes(scheduler: scheduler, model: model, catalog: policies, limits: limits, metrics: metrics)
    }

    /// The server's services: the scheduler's loop, the HTTP server on `host:port` (port 0: any
    /// free port), and the drain that runs first on graceful shutdown.
    /// - Parameters:
    ///   - signals: signals that start a graceful shutdown (none in tests: call
    ///     `triggerGracefulShutdown()` on the group).
    ///   - onListening: called with the bound port once the server accepts connections.
    public func serviceGroup(host: String, port: Int, signals: [UnixSignal] = [], logger: Logger = Logger(label: "kvpack.serve"),
                             onListening: @escaping @Sendable (Int) async -> Void = { _ in }) -> ServiceGroup {
        let router = Router(context: BasicRequestContext.self)
        routes.add(to: router)
        let app = Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "kvpack"),
                              onServerRunning: { channel in await onListening(channel.localAddress?.port ?? port) }, logger: logger)
        return ServiceGroup(configuration: .init(services: [SchedulerService(scheduler: scheduler), app, DrainService(scheduler: scheduler)],
                                                 gracefulShutdownSignals: signals, logger: logger))
    }
}

/// Runs the scheduler's loop; stops it last on graceful shutdown.
struct SchedulerService: Service {
    let scheduler: DecodeScheduler

    func run() async throws {
        await withGracefulShutdownHandler {
            await scheduler.run()
        } onGracefulShutdown: {
            Task { await scheduler.stop() }
        }
    }
}

/// First on graceful shutdown: new requests get 503, the admitted and waiting ones finish.
struct DrainService: Service {
    let scheduler: DecodeScheduler

    func run() async throws {
        do { try await gracefulShutdown() } catch { return }
        await scheduler.beginDraining()
        await scheduler.waitUntilIdle()
    }
}
