/**
 * Baselines: the least work each figure could cost, done directly with the
 * client libraries Latchkey itself uses (pg, node-vault, nats.js) against the
 * same PostgreSQL, the same emulated Vault (same latency) and the same NATS.
 */
import { randomUUID } from 'node:crypto';
import {
  AckPolicy,
  DeliverPolicy,
  RetentionPolicy,
  StorageType,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type NatsConnection,
} from 'nats';
import vault from 'node-vault';
import pg from 'pg';
import type { VaultIntegrationFixture } from './fixture.js';

/** A node-vault client as the catalog builds one (no custom verbs, token per request). */
export function vaultClient(url: string): vault.client {
  const c = vault({ endpoint: url, apiVersion: 'v1', noCustomHTTPVerbs: true, debug: () => undefined });
  const raw = c as unknown as { token: string; namespace: string; pathPrefix: string };
  raw.token = '';
  raw.namespace = '';
  raw.pathPrefix = '';
  return c;
}

/** The token a direct client uses for an integration (an AppRole login, done once: warm). */
export async function vaultToken(client: vault.client, auth: VaultIntegrationFixture['auth']): Promise<string> {
  if (auth.method === 'token') return auth.token;
  const r = (await client.approleLogin({ role_id: auth.roleId, secret_id: auth.secretId })) as {
    auth: { client_token: string };
  };
  return r.auth.client_token;
}

/**
 * The reads a deployment of the fixture workload needs, made directly: each
 * managed value row with the catalog's own query, each Vault key with one
 * node-vault read, all at once.
 */
export class DirectReads {
  private constructor(
    private readonly pool: pg.Pool,
    private readonly managed: { scope: string; key: string; version: number }[],
    private readonly vaultReads: { client: vault.client; token: string; path: string }[],
  ) {}

  static async open(opts: {
    catalogDatabaseUrl: string;
    vaultUrl: string;
    domain: string;
    managedKeys: string[];
    integrations: VaultIntegrationFixture[];
  }): Promise<DirectReads> {
    const pool = new pg.Pool({ connectionString: opts.catalogDatabaseUrl, max: 10 });
    const { rows } = await pool.query<{ key: string; version: number }>(
      'SELECT key, max(version)::int AS version FROM secret_values WHERE scope = $1 AND key = ANY($2) GROUP BY key',
      [opts.domain, opts.managedKeys],
    );
    if (rows.length !== opts.managedKeys.length) throw new Error('the managed values are not all in secret_values');
    const client = vaultClient(opts.vaultUrl);
    const reads: { client: vault.client; token: string; path: string }[] = [];
    for (const integ of opts.integrations) {
      const token = await vaultToken(client, integ.auth);
      for (const k of integ.keys) reads.push({ client, token, path: `${integ.mount}/data/${integ.base}/${k}` });
    }
    return new DirectReads(
      pool,
      rows.map((r) => ({ scope: opts.domain, key: r.key, version: r.version })),
      reads,
    );
  }

  get count(): number {
    return this.managed.length + this.vaultReads.length;
  }

  async readAll(): Promise<void> {
    await Promise.all([
      ...this.managed.map(async (m) => {
        const { rows } = await this.pool.query(
          'SELECT kek_id, wrapped_dek, ciphertext FROM secret_values WHERE scope = $1 AND key = $2 AND version = $3',
          [m.scope, m.key, m.version],
        );
        if (rows.length !== 1) throw new Error(`no value row for ${m.key}`);
      }),
      ...this.vaultReads.map(async (r) => {
        const body = (await r.client.read(r.path, { headers: { 'X-Vault-Token': r.token } })) as {
          data?: { data?: unknown };
        };
        if (body.data?.data === undefined) throw new Error(`no data at ${r.path}`);
      }),
    ]);
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

/** Runs `step` `total` times, `inFlight` at a time; milliseconds taken. */
async function timedPool(total: number, inFlight: number, step: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  let begun = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (begun < total) {
        begun++;
        await step();
      }
    }),
  );
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/**
 * A raw JetStream round trip: publish (with a message id, awaiting the ack)
 * to a file-backed stream and receive it through a durable pull consumer,
 * acknowledging it, as Latchkey's services do with their events.
 */
export class JetStreamLoop {
  private readonly waiting = new Map<string, () => void>();
  private readonly loop: Promise<void>;

  private constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly stream: string,
    private readonly messages: ConsumerMessages,
  ) {
    this.loop = (async () => {
      for await (const m of messages) {
        m.ack();
        const id = m.string();
        const w = this.waiting.get(id);
        if (w) {
          this.waiting.delete(id);
          w();
        }
      }
    })();
  }

  static async open(nc: NatsConnection, name: string): Promise<JetStreamLoop> {
    const jsm = await nc.jetstreamManager();
    const js = nc.jetstream();
    await jsm.streams.add({
      name,
      subjects: [`${name}.>`],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      duplicate_window: 120_000_000_000,
    });
    await jsm.consumers.add(name, {
      durable_name: 'floor',
      filter_subject: `${name}.event`,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
    });
    const consumer = await js.consumers.get(name, 'floor');
    return new JetStreamLoop(js, jsm, name, await consumer.consume({ max_messages: 256 }));
  }

  /** Publishes one message and resolves once the consumer has received and acknowledged it. */
  async roundTrip(): Promise<void> {
    const id = randomUUID();
    const received = new Promise<void>((resolve) => this.waiting.set(id, resolve));
    await this.js.publish(`${this.stream}.event`, id, { msgID: id });
    await received;
  }

  /** `total` round trips, `inFlight` at a time; milliseconds taken. */
  sustain(total: number, inFlight: number): Promise<number> {
    return timedPool(total, inFlight, () => this.roundTrip());
  }

  /** Publishes `count` messages (acknowledged by JetStream), `window` at a time; milliseconds taken. */
  publishMany(count: number, window: number): Promise<number> {
    return timedPool(count, window, () => {
      const id = `bulk-${randomUUID()}`;
      // A loaded machine may take longer than the client's 5 s default to acknowledge 1,000 in flight.
      return this.js.publish(`${this.stream}.bulk`, id, { msgID: id, timeout: 60_000 });
    });
  }

  async close(): Promise<void> {
    await this.messages.close().catch(() => undefined);
    await this.loop.catch(() => undefined);
    await this.jsm.streams.delete(this.stream).catch(() => undefined);
  }
}
