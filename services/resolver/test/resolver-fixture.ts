// What the resolver's tests share: a bus with Latchkey's streams on a real
// nats-server, the deployer's side of attribution (events and plan requests
// signed as the deployer signs them: postgres-workload-repo.ts,
// nats-resolution-planner.ts), a catalog whose every key holds one value,
// references and deploying events, and the deployer's opening of sealed values.
import { randomUUID } from 'node:crypto';
import type { TestContext } from 'node:test';
import { type JetStreamClient, type JetStreamManager, type NatsConnection } from 'nats';
import { generateSigningKeyPair, open, signPayload, type SealKeyPair, type SigningKeyPair } from '@latchkey/crypto';
import { unavailable } from '@latchkey/errors';
import {
  deployingPayload,
  eventTypes,
  planPayload,
  planSubject,
  publishEvent,
  STREAM_AUDIT,
  STREAM_EVENTS,
  STREAMS,
  subjects,
  type AuditRecord,
  type PlanReply,
  type PlanRequest,
  type ReferenceSpec,
  type WorkloadDeploying,
  type WorkloadResolved,
} from '@latchkey/events';
import { silentLogger } from '@latchkey/logger';
import { ConsumerRunner, ensureConsumer, ensureStream } from '@latchkey/nats';
import { startTestBus } from '@latchkey/testing';
import { DeployerAttribution } from '../src/domain/deployer-attribution.js';
import type { AuditTrail, KeyPresenceResult, ValueRead, ValueReadResult, ValueSource } from '../src/domain/ports.js';
import type { ResolutionService } from '../src/domain/resolution-service.js';
import { DEPLOYING_CONSUMER, deployingConsumer } from '../src/transport/events/deploying-consumer.js';

/** The Vault integration of analytics that the tests' VAULT references name. */
export const VAULT_ID = '0f5c6a2e-3d41-4b7a-9e08-6c2d1b4a7f35';

export const managed = (key: string, id = 'analytics'): ReferenceSpec => ({
  refId: `MANAGED:${id}:${key}`,
  key,
  sourceType: 'MANAGED',
  sourceId: id,
  legacy: false,
});

export const legacy = (key: string): ReferenceSpec => ({
  refId: `LEGACY:${key}`,
  key,
  sourceType: 'MANAGED',
  sourceId: 'analytics',
  legacy: true,
});

export const vault = (key: string): ReferenceSpec => ({
  refId: `VAULT:${VAULT_ID}:${key}`,
  key,
  sourceType: 'VAULT',
  sourceId: VAULT_ID,
  legacy: false,
});

/** A deployment by mia of workload nightly-etl in analytics (each its own ids), with `overrides`. */
export const deployingEvent = (
  references: ReferenceSpec[],
  overrides: Partial<WorkloadDeploying> = {},
): WorkloadDeploying => ({
  deploymentId: randomUUID(),
  workloadId: randomUUID(),
  workload: 'nightly-etl',
  domain: 'analytics',
  principal: 'mia',
  references,
  ...overrides,
});

/** The deployer's opening of a resolved event's sealed values, by reference id. */
export const opener =
  (keys: SealKeyPair) =>
  (ev: WorkloadResolved): Record<string, string> =>
    JSON.parse(open(new Map([[keys.kid, keys]]), ev.sealed, ev.deploymentId).toString()) as Record<string, string>;

/** Every key holds `value`; remembers every read and key lookup (and when each read came). */
export class UniformCatalog implements ValueSource {
  readonly reads: ValueRead[][] = [];
  readonly readsAt: number[] = [];

  /** `downFor`: how many reads first fail as an unreachable catalog does. */
  constructor(
    private readonly value: string,
    private readonly version: number,
    private downFor = 0,
  ) {}

  read(items: ValueRead[]): Promise<ValueReadResult[]> {
    this.reads.push(items);
    this.readsAt.push(Date.now());
    if (this.downFor-- > 0) return Promise.reject(unavailable('grpc.unavailable', 'connect ECONNREFUSED'));
    return Promise.resolve(
      items.map((i) => ({
        refId: i.refId,
        found: true,
        scope: i.scope,
        version: this.version,
        value: Buffer.from(this.value),
        shadowedGlobal: false,
      })),
    );
  }

  findKeys(items: ValueRead[]): Promise<KeyPresenceResult[]> {
    this.reads.push(items);
    return Promise.resolve(
      items.map((i) => ({ refId: i.refId, found: true, scope: i.scope, version: this.version, shadowedGlobal: false })),
    );
  }

  integrationBundles(): Promise<Map<string, string>> {
    return Promise.resolve(new Map());
  }
}

export interface Bus {
  /** The NATS server's URL, for a client of a test's own. */
  url: string;
  nc: NatsConnection;
  jsm: JetStreamManager;
  js: JetStreamClient;
}

/**
 * A nats-server with Latchkey's streams (and, with `deployingConsumer`, the
 * resolver's durable consumer), stopped when `t` ends. `timeoutMs`: how long
 * a publish waits for JetStream.
 */
export async function startBus(
  t: TestContext,
  opts: { deployingConsumer?: boolean; timeoutMs?: number } = {},
): Promise<Bus> {
  const { nats, nc, jsm } = await startTestBus(t);
  for (const s of STREAMS) await ensureStream(jsm, s);
  if (opts.deployingConsumer) {
    await ensureConsumer(jsm, {
      stream: STREAM_EVENTS,
      durable: DEPLOYING_CONSUMER,
      filterSubjects: ['latchkey.workload.deploying.>'],
    });
  }
  const js = opts.timeoutMs === undefined ? nc.jetstream() : nc.jetstream({ timeout: opts.timeoutMs });
  return { url: nats.url, nc, jsm, js };
}

/** The resolver's deploying consumer on `bus`, running until `t` ends. */
export async function runDeployingConsumer(
  t: TestContext,
  bus: Bus,
  service: ResolutionService,
  attribution: DeployerAttribution,
): Promise<void> {
  const runner = new ConsumerRunner({
    js: bus.js,
    stream: STREAM_EVENTS,
    durable: DEPLOYING_CONSUMER,
    handler: deployingConsumer(service, attribution),
    logger: silentLogger,
  });
  await runner.start();
  t.after(() => runner.stop());
}

/** Publishes `data` as a deploying event of analytics, under `id`; returns the id. */
export async function publishDeploying(
  js: JetStreamClient,
  data: WorkloadDeploying,
  id = `deploying:${data.deploymentId}`,
  source = 'latchkey/deployer',
): Promise<string> {
  await publishEvent(js, source, { id, type: eventTypes.deploying, subject: subjects.deploying('analytics'), data });
  return id;
}

/** Asks analytics' plan subject (a JSON body as given, or any value as JSON) and parses the reply. */
export async function askPlan(nc: NatsConnection, req: unknown): Promise<PlanReply> {
  const body = typeof req === 'string' ? req : JSON.stringify(req);
  const reply = await nc.request(planSubject('analytics'), body, { timeout: 5000 });
  return JSON.parse(new TextDecoder().decode(reply.data)) as PlanReply;
}

export interface StoredMessage {
  subject: string;
  text: string;
}

/** Every message `stream` holds now, in order. */
export async function streamMessages(jsm: JetStreamManager, stream: string): Promise<StoredMessage[]> {
  const info = await jsm.streams.info(stream);
  const out: StoredMessage[] = [];
  if (info.state.messages === 0) return out;
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq }).catch(() => undefined);
    if (m) out.push({ subject: m.subject, text: new TextDecoder().decode(m.data) });
  }
  return out;
}

/** Every record in the audit stream now. */
export async function auditRecords(jsm: JetStreamManager): Promise<AuditRecord[]> {
  return (await streamMessages(jsm, STREAM_AUDIT)).map((m) => JSON.parse(m.text) as AuditRecord);
}

export interface DeployerSigning {
  pair: SigningKeyPair;
  /** What a resolver trusting only this key accepts. */
  attribution(
    audit?: AuditTrail,
    logger?: { warn(msg: string, fields?: Record<string, unknown>): void },
  ): DeployerAttribution;
  deploying(eventId: string, ev: WorkloadDeploying): WorkloadDeploying;
  plan(req: PlanRequest): PlanRequest;
}

/** The deployer's side of attribution: a signing key pair, and what it signs. */
export function deployerSigning(pair: SigningKeyPair = generateSigningKeyPair()): DeployerSigning {
  return {
    pair,
    attribution: (audit = { write: () => Promise.resolve() }, logger = silentLogger) =>
      new DeployerAttribution({ keys: new Map([[pair.kid, pair]]), audit, logger }),
    deploying: (eventId, ev) => ({ ...ev, signature: signPayload(pair, deployingPayload(eventId, ev)) }),
    plan: (req) => {
      const stamped = { ...req, requestId: randomUUID(), issuedAt: new Date().toISOString() };
      return { ...stamped, signature: signPayload(pair, planPayload(stamped)) };
    },
  };
}
