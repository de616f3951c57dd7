import { readFile } from 'node:fs/promises';
import { connect, credsAuthenticator, type NatsConnection } from 'nats';
import { ensureLocalTls, localTlsFiles } from '@latchkey/crypto';
import { busIdentity, type BusService } from '@latchkey/events';
import {
  busConnectionOptions,
  generateBusTrust,
  generateUserSeed,
  mintServiceCreds,
  parseNatsUrls,
  serverAuthConfig,
  type BusTrust,
} from '@latchkey/nats';
import { startTestNats, tempDir, waitFor, type TempDir } from '@latchkey/testing';

/** A nats-server with the product's real authorization and TLS (what `latchkey up` runs), on a free port. */
export interface SecureTestBus {
  url: string;
  trust: BusTrust;
  /** The CA that issued nats-server's certificate. */
  ca: Buffer;
  /** A second CA, which did not. */
  otherCa: Buffer;
  /** A service's credentials file, minted from the bus table. */
  creds(service: BusService): Promise<string>;
  /** Connects as a service (its credentials, the CA, its inbox prefix); closed at stop(). */
  connectAs(service: BusService): Promise<NatsConnection>;
  /** A test-only user allowed everything, to watch what passes. */
  connectObserver(): Promise<NatsConnection>;
  /** Connects with a credentials file (e.g. a subscriber's); closed at stop(). */
  connectWith(creds: string): Promise<NatsConnection>;
  stop(): Promise<void>;
}

export async function startSecureTestBus(): Promise<SecureTestBus> {
  const dir: TempDir = await tempDir('latchkey-bus-');
  const tls = localTlsFiles(`${dir.path}/a`, [], { serverOnly: ['nats-server'] });
  const other = localTlsFiles(`${dir.path}/b`, [], { serverOnly: ['nats-server'] });
  await ensureLocalTls(tls);
  await ensureLocalTls(other);
  const server = tls.services['nats-server']!;
  const trust = generateBusTrust();
  const nats = await startTestNats({
    serverConfig: await serverAuthConfig(trust, { tls: { certFile: server.certFile, keyFile: server.keyFile } }),
  });
  const ca = await readFile(tls.caCertFile);
  const otherCa = await readFile(other.caCertFile);
  const open: NatsConnection[] = [];
  const seeds = new Map<BusService, string>();
  const creds = async (service: BusService): Promise<string> => {
    const seed = seeds.get(service) ?? generateUserSeed();
    seeds.set(service, seed);
    return mintServiceCreds(trust, seed, busIdentity(service));
  };
  const connectWith = async (c: string, inboxPrefix = '_INBOX_unused'): Promise<NatsConnection> => {
    const nc = await connect({
      servers: nats.url,
      ...busConnectionOptions({ creds: new TextEncoder().encode(c), ca, inboxPrefix }),
    });
    open.push(nc);
    return nc;
  };
  return {
    url: nats.url,
    trust,
    ca,
    otherCa,
    creds,
    connectAs: async (service) => connectWith(await creds(service), busIdentity(service).inboxPrefix),
    connectWith: (c) => connectWith(c),
    connectObserver: async () =>
      connectWith(
        await mintServiceCreds(trust, generateUserSeed(), {
          name: 'test-observer',
          inboxPrefix: '_INBOX_observer',
          permissions: { publish: ['>'], subscribe: ['>'] },
        }),
        '_INBOX_observer',
      ),
    async stop() {
      for (const nc of open) await nc.close().catch(() => undefined);
      await nats.stop();
      await dir.cleanup();
    },
  };
}

/** Connects with `creds` but the given TLS settings; for the refusal tests. */
export function connectRaw(
  url: string,
  opts: { creds?: string; ca?: Buffer; plaintext?: boolean },
): Promise<NatsConnection> {
  return connect({
    servers: url,
    reconnect: false,
    timeout: 5000,
    ...(opts.creds === undefined ? {} : { authenticator: credsAuthenticator(new TextEncoder().encode(opts.creds)) }),
    ...(opts.plaintext === true
      ? { tls: null }
      : { tls: opts.ca === undefined ? {} : { ca: opts.ca.toString('utf8') } }),
  });
}

/** Collects the permission violations nats-server reports to `nc`. */
export function violations(nc: NatsConnection): { subjects: string[] } {
  const seen = { subjects: [] as string[] };
  void (async () => {
    for await (const s of nc.status()) {
      // nats.js puts the refused operation's subject on the status itself.
      const ctx = (s as { permissionContext?: { subject: string } }).permissionContext;
      if (s.type === 'error' && ctx !== undefined) seen.subjects.push(ctx.subject);
    }
  })().catch(() => undefined);
  return seen;
}

/**
 * Publishes to `subject` and waits for nats-server's "Permissions Violation
 * for Publish": true when refused. The observer (a connection allowed to see
 * the subject) confirms the message did not pass; when the publish is
 * allowed it must arrive there instead.
 */
export async function publishRefused(
  nc: NatsConnection,
  seen: { subjects: string[] },
  observer: NatsConnection,
  subject: string,
): Promise<boolean> {
  const got: string[] = [];
  const sub = observer.subscribe(subject, { callback: (_e, m) => got.push(m.subject) });
  await observer.flush();
  nc.publish(subject, 'probe');
  await nc.flush();
  const outcome = await waitFor(
    () => (seen.subjects.includes(subject) ? 'refused' : got.length > 0 ? 'delivered' : false),
    { what: `the publish to ${subject} to be refused or delivered`, timeoutMs: 10_000 },
  );
  sub.unsubscribe();
  if (outcome === 'refused' && got.length > 0) throw new Error(`${subject}: refused and yet delivered`);
  return outcome === 'refused';
}

/** Subscribes to `subject` and waits for the "Permissions Violation for Subscription": true when refused. */
export async function subscribeRefused(nc: NatsConnection, subject: string): Promise<boolean> {
  let refused = false;
  const sub = nc.subscribe(subject, {
    callback: (err) => {
      if (err?.isPermissionError()) refused = true;
    },
  });
  // nats-server answers the SUB (with -ERR when refused) before the PONG of this flush.
  await nc.flush();
  if (!refused) sub.unsubscribe();
  return refused;
}

/**
 * Connects to the NATS of a running embedded system (`latchkey up` on
 * `home`) as a test-only observer allowed everything, minted from the data
 * folder's bus keys: what a test needs to look into the streams now that
 * anonymous clients are refused.
 */
export async function connectEmbeddedBus(home: string): Promise<NatsConnection> {
  const conn = JSON.parse(await readFile(`${home}/connection.json`, 'utf8')) as { natsUrl: string };
  const { trust } = JSON.parse(await readFile(`${home}/bus/trust.json`, 'utf8')) as { trust: BusTrust };
  const creds = await mintServiceCreds(trust, generateUserSeed(), {
    name: 'test-observer',
    inboxPrefix: '_INBOX_observer',
    permissions: { publish: ['>'], subscribe: ['>'] },
  });
  return connect({
    // One URL, or (LATCHKEY_NATS_NODES) the cluster's list.
    servers: parseNatsUrls(conn.natsUrl),
    ...busConnectionOptions({
      creds: new TextEncoder().encode(creds),
      ca: await readFile(`${home}/tls/ca.crt`),
      inboxPrefix: '_INBOX_observer',
    }),
  });
}
