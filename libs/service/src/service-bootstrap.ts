import { fileURLToPath } from 'node:url';
import { createPool, migrate, type Pool } from '@latchkey/db';
import { LatchkeyError } from '@latchkey/errors';
import {
  dropOnPolicyChange,
  ensureEventTables,
  inboxPrefix,
  OutboxRelay,
  ownsStream,
  PeriodicTask,
  STREAMS,
  subscribeEvents,
  type BusService,
  type EventSubscription,
} from '@latchkey/events';
import {
  CachingAuthorizer,
  createServer,
  identityAuthenticator,
  loadServiceTransport,
  RasAuthorizer,
  readCredentials,
  runService,
  type IdentityConfig,
  type LatchkeyServer,
  type RunningService,
  type ServiceTransport,
  type TlsConfig,
} from '@latchkey/grpc';
import {
  createLogger,
  initTracing,
  otlpTracesUrl,
  shutdownTracing,
  type Logger,
  type Redactor,
} from '@latchkey/logger';
import { ServiceMetrics, startMetricsServer } from '@latchkey/metrics';
import {
  connectBus,
  ConsumerRunner,
  ensureConsumer,
  ensureStream,
  readBusAuth,
  type Bus,
  type DurableConsumer,
  type NatsConfig,
} from '@latchkey/nats';
import type { Subscription } from 'nats';
import { Drain, type DrainStage } from './drain.js';

/** What every service's zod schema holds (IDENTITY_CONFIG, TLS_CONFIG, NATS_CONFIG and its own). */
export interface ServiceConfig extends IdentityConfig, TlsConfig, NatsConfig {
  LATCHKEY_SERVICE_HOST: string;
  LATCHKEY_GRPC_PORT: number;
  LATCHKEY_NATS_URL: string;
  LATCHKEY_REPLICA_ID: string;
  LATCHKEY_LOG_LEVEL: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** The Prometheus listener's port (`GET /metrics`); 0: none. */
  LATCHKEY_METRICS_PORT: number;
  /** Insecure mode only (LATCHKEY_INSECURE=1): the services' shared tokens. */
  LATCHKEY_CREDENTIALS_FILE?: string | undefined;
  /** Trace export (TRACING_CONFIG): off without an endpoint. */
  OTEL_EXPORTER_OTLP_ENDPOINT?: string | undefined;
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?: string | undefined;
  OTEL_SERVICE_NAME?: string | undefined;
  OTEL_SDK_DISABLED?: string | undefined;
}

export interface ServiceSpec<C extends ServiceConfig> {
  name: BusService;
  /** The service's own config loader (its zod schema), called once. */
  loadConfig: () => C;
  /** Masks the values the service holds in its log (and, the deployer, its workloads' output). */
  redactor?: Redactor;
  /** A database of the service's own: the pool, the outbox tables, its migrations, an outbox relay. */
  database?: (config: C) => { url: string; migrations: URL };
  /** ras's address: the service asks ras through a CachingAuthorizer dropped on every policy change. */
  ras?: (config: C) => string;
  /** Builds the domain from what the bootstrap made, registers handlers, consumers and tasks. */
  build: (service: Service<C>) => Promise<void>;
}

/** What a service's build step gets: the shared infrastructure, and where to register its parts. */
export interface Service<C extends ServiceConfig> {
  readonly config: C;
  /** The service's logger, bound to its replica id. */
  readonly log: Logger;
  /** Its TLS identity or (insecure mode) its shared token, for clients of the other services. */
  readonly transport: ServiceTransport;
  readonly bus: Bus;
  readonly server: LatchkeyServer;
  /** With `database` only. */
  readonly pool: Pool;
  /** With `database` only. */
  readonly relay: OutboxRelay;
  /** With `ras` only. */
  readonly authorizer: CachingAuthorizer;
  /** The service's Prometheus metrics (served on LATCHKEY_METRICS_PORT when set): record, never read. */
  readonly metrics: ServiceMetrics;
  /** Durable consumers: created (or updated) now, run once the server listens. */
  consume(consumers: readonly DurableConsumer[]): Promise<void>;
  /** A plain subscription every replica hears, through the same typed event path. */
  subscribe<T>(spec: EventSubscription<T>): void;
  /** A subscription made elsewhere (request/reply), drained with the others. */
  own(subscription: Subscription): void;
  /**
   * A periodic task every `seconds`, started once the server listens (its
   * first round after `firstInMs`, default one interval), stopped on drain.
   */
  every(name: string, seconds: number, run: () => Promise<unknown>, firstInMs?: number): PeriodicTask;
  /** Runs after the server listens and before the consumers start. */
  beforeConsumers(step: () => Promise<void>): void;
  /** The service's own work to end, after its consumers stopped and before the outbox is flushed. */
  onStop(step: () => Promise<void> | void): void;
  /** A client to close once the outbox is flushed (ras, the other services). */
  close<T extends { close(): void }>(client: T): T;
  /** Another port the service listens on (the gateway's HTTP), reported to the launcher with `ready`. */
  listening(name: string, port: number): void;
}

const missing = (what: string, option: string): never => {
  throw new LatchkeyError('service.not_configured', `this service has no ${what}: its bootstrap needs \`${option}\``);
};

/**
 * Starts a service: config (its level included) → logger → TLS identity →
 * database and migrations → bus and streams → outbox relay → cached
 * authorizer → gRPC server → `build` → listen, relay, consumers, tasks →
 * serving (traces exported from the start when an OTLP endpoint is set). SIGTERM (or SIGINT, or the parent going away) drains once, in
 * DRAIN_STAGES order. A start failure is one log line and exit code 1.
 */
export function serve<C extends ServiceConfig>(spec: ServiceSpec<C>): void {
  let config: C | undefined;
  let failure: unknown;
  try {
    config = spec.loadConfig();
  } catch (err) {
    failure = err;
  }
  const logger = createLogger({ service: spec.name, level: config?.LATCHKEY_LOG_LEVEL, redactor: spec.redactor });
  runService(spec.name, logger, () => (config ? bootstrap(spec, config, logger) : Promise.reject(failure as Error)));
}

async function bootstrap<C extends ServiceConfig>(
  spec: ServiceSpec<C>,
  config: C,
  logger: Logger,
): Promise<RunningService> {
  const log = logger.child({ replica: config.LATCHKEY_REPLICA_ID });
  // Spans are exported (batched, OTLP/HTTP) only when an endpoint is set; the drain's last step flushes them.
  initTracing({
    serviceName: config.OTEL_SERVICE_NAME ?? `latchkey-${spec.name}`,
    instanceId: config.LATCHKEY_REPLICA_ID,
    tracesUrl: otlpTracesUrl(config),
    logger: log,
  });
  const drain = new Drain(log);
  const stage = (s: DrainStage, step: () => Promise<void> | void) => drain.add(s, step);
  const metrics = new ServiceMetrics(spec.name);
  stage('telemetry', () => shutdownTracing());
  try {
    // Its certificate (or, with LATCHKEY_INSECURE=1, its shared token) names it to the others.
    const transport = await loadServiceTransport(spec.name, config, readCredentials);
    const db = spec.database?.(config);
    let pool: Pool | undefined;
    if (db) {
      const p = createPool(db.url, log);
      pool = p;
      stage('pool', () => p.end());
      await ensureEventTables(p);
      await migrate(p, fileURLToPath(db.migrations), log);
    }
    const bus = await connectBus(
      config.LATCHKEY_NATS_URL,
      config.LATCHKEY_REPLICA_ID,
      log,
      await readBusAuth(config, inboxPrefix(spec.name)),
      { replicas: config.LATCHKEY_NATS_REPLICAS ?? 1 },
    );
    stage('bus', () => bus.drain());
    for (const s of STREAMS)
      await ensureStream(bus.jsm, s, { update: ownsStream(spec.name, s.name), replicas: bus.replicas });
    const relay = pool && new OutboxRelay({ pool, js: bus.js, logger: log, source: `latchkey/${spec.name}` });
    if (relay) {
      metrics.outboxLag(() => relay.lag());
      stage('relay', async () => {
        await relay.stop();
        await relay.publishBatch().catch(() => 0);
      });
    }
    let authorizer: CachingAuthorizer | undefined;
    const rasAddr = spec.ras?.(config);
    if (rasAddr !== undefined) {
      const ras = new RasAuthorizer(rasAddr, transport.client);
      // ras's answers are reused for at most a second, and dropped on every
      // policy change this replica hears (a plain subscription: every replica).
      authorizer = new CachingAuthorizer(ras, { onLookup: (result) => metrics.decisionCache(result) });
      const policyChanges = await dropOnPolicyChange(bus.nc, authorizer, log);
      stage('clients', () => policyChanges.stop());
      stage('clients', () => ras.close());
    }
    const server = createServer({
      service: spec.name,
      logger: log,
      authenticate: await identityAuthenticator(
        config,
        transport.serviceTokens && { services: transport.serviceTokens },
      ),
      tls: transport.tls,
    });
    stage('server', () => server.shutdown());

    const runners: ConsumerRunner[] = [];
    const tasks: [PeriodicTask, number | undefined][] = [];
    const before: (() => Promise<void>)[] = [];
    const own = (sub: Subscription) => stage('subscriptions', () => sub.drain().catch(() => undefined));
    const ports: Record<string, number> = {};
    const service = {
      config,
      log,
      transport,
      bus,
      server,
      metrics,
      async consume(consumers: readonly DurableConsumer[]) {
        for (const c of consumers) {
          await ensureConsumer(bus.jsm, c, { replicas: bus.replicas });
          const runner = new ConsumerRunner({
            js: bus.js,
            logger: log,
            onRedelivery: () => metrics.consumerRedelivered(c.durable),
            ...c,
          });
          runners.push(runner);
          stage('consumers', () => runner.stop());
        }
      },
      subscribe: <T>(sub: EventSubscription<T>) => own(subscribeEvents(bus.nc, log, sub)),
      own,
      every(name: string, seconds: number, run: () => Promise<unknown>, firstInMs?: number) {
        const task = new PeriodicTask({ name, intervalMs: seconds * 1000, run, logger: log });
        tasks.push([task, firstInMs]);
        stage('tasks', () => task.stop());
        return task;
      },
      beforeConsumers: (step: () => Promise<void>) => void before.push(step),
      onStop: (step: () => Promise<void> | void) => stage('service', step),
      close<T extends { close(): void }>(client: T): T {
        stage('clients', () => client.close());
        return client;
      },
      listening(name: string, port: number) {
        ports[name] = port;
      },
    };
    // Not enumerable: a build step that spreads the rest of its argument does not ask for what it lacks.
    Object.defineProperties(service, {
      pool: { get: () => pool ?? missing('database', 'database') },
      relay: { get: () => relay ?? missing('outbox relay', 'database') },
      authorizer: { get: () => authorizer ?? missing('authorizer', 'ras') },
    });
    await spec.build(service as Service<C>);

    const port = await server.listen(config.LATCHKEY_SERVICE_HOST, config.LATCHKEY_GRPC_PORT);
    if (config.LATCHKEY_METRICS_PORT > 0) {
      const scrape = await startMetricsServer({
        metrics,
        host: config.LATCHKEY_SERVICE_HOST,
        port: config.LATCHKEY_METRICS_PORT,
        logger: log,
      });
      stage('server', () => scrape.close());
      ports['metrics'] = scrape.port;
      log.info(`metrics on http://${config.LATCHKEY_SERVICE_HOST}:${scrape.port}/metrics`);
    }
    relay?.start();
    for (const step of before) await step();
    for (const r of runners) await r.start();
    for (const [task, firstInMs] of tasks) task.start(firstInMs);
    server.setServing(true);
    return { port, ports, stop: () => drain.run() };
  } catch (err) {
    // A start that fails half-way closes what it opened.
    await drain.run();
    throw err;
  }
}
