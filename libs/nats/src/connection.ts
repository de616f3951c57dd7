import { readFile } from 'node:fs/promises';
import {
  connect,
  type Authenticator,
  type ConnectionOptions,
  type NatsConnection,
  type JetStreamClient,
  type JetStreamManager,
} from 'nats';
import { z } from '@latchkey/config';
import { LatchkeyError, unavailable } from '@latchkey/errors';
import type { Logger } from '@latchkey/logger';
import { natsReplicas, parseNatsUrls } from './nats-urls.js';
import { nkeyFromSeed, parseCreds } from './nkey.js';

export interface Bus {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** The JetStream replica count of what this service creates (streams, consumers, KV buckets): LATCHKEY_NATS_REPLICAS. */
  replicas: number;
  /** Stops taking new messages, lets in-flight ones finish, closes. */
  drain(): Promise<void>;
}

/** How a client proves who it is to nats-server and checks the server's certificate. */
export interface BusAuth {
  /** A NATS credentials file's content (user JWT + nkey seed). */
  creds: Uint8Array;
  /** The CA (PEM) that issued nats-server's certificate. */
  ca: Buffer;
  /** This identity's request inboxes; its NATS user may subscribe only below it. */
  inboxPrefix: string;
}

/** Each service's NATS settings (spread into its zod schema). */
export const NATS_CONFIG = {
  /** This service's NATS credentials file (0600): its NATS user, with the permissions of the bus table. */
  LATCHKEY_NATS_CREDS_FILE: z.string().optional(),
  /** The CA (PEM) that issued nats-server's certificate; NATS traffic is TLS. */
  LATCHKEY_NATS_CA_FILE: z.string().optional(),
  /** JetStream replicas of every stream, durable consumer and KV bucket (1..5, default 1; 3 on a three-node cluster). */
  LATCHKEY_NATS_REPLICAS: natsReplicas(),
};

export interface NatsConfig {
  LATCHKEY_NATS_CREDS_FILE?: string | undefined;
  LATCHKEY_NATS_CA_FILE?: string | undefined;
  LATCHKEY_NATS_REPLICAS?: number | undefined;
  /** The service's LATCHKEY_INSECURE: the one, warned, way to run without NATS credentials. */
  LATCHKEY_INSECURE: boolean;
}

const configError = (message: string): LatchkeyError =>
  new LatchkeyError('config.invalid', message, { kind: 'invalid_argument' });

async function readConfigured(file: string, variable: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw configError(
      `cannot read ${what} ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): check ${variable}`,
    );
  }
}

/**
 * Reads the service's NATS credentials and CA; undefined only with
 * LATCHKEY_INSECURE=1 (then the caller connects without them, for local
 * debugging against a NATS that has no authorization).
 */
export async function readBusAuth(config: NatsConfig, inboxPrefix: string): Promise<BusAuth | undefined> {
  const missing = (['LATCHKEY_NATS_CREDS_FILE', 'LATCHKEY_NATS_CA_FILE'] as const).filter((v) => !config[v]);
  if (config.LATCHKEY_INSECURE && missing.length === 2) return undefined;
  if (missing.length > 0) {
    throw configError(
      `required: ${missing.join(', ')} (this service's NATS credentials file and the CA of nats-server's certificate); or LATCHKEY_INSECURE=1 for local debugging against a NATS without authorization`,
    );
  }
  const creds = await readConfigured(
    config.LATCHKEY_NATS_CREDS_FILE ?? '',
    'LATCHKEY_NATS_CREDS_FILE',
    'the NATS credentials',
  );
  if (!creds.toString('utf8').includes('-----BEGIN NATS USER JWT-----')) {
    throw configError(
      `${config.LATCHKEY_NATS_CREDS_FILE ?? ''} is not a NATS credentials file (LATCHKEY_NATS_CREDS_FILE)`,
    );
  }
  const ca = await readConfigured(
    config.LATCHKEY_NATS_CA_FILE ?? '',
    'LATCHKEY_NATS_CA_FILE',
    'the NATS CA certificate',
  );
  if (!ca.toString('utf8').includes('-----BEGIN CERTIFICATE-----')) {
    throw configError(`${config.LATCHKEY_NATS_CA_FILE ?? ''} holds no PEM certificate (LATCHKEY_NATS_CA_FILE)`);
  }
  return { creds: new Uint8Array(creds), ca, inboxPrefix };
}

/**
 * nats.js's authenticator for a credentials file: the user JWT, and the
 * server's nonce signed with the user's nkey. The key is read once (node:crypto
 * ed25519, see nkey.ts), not derived again in JavaScript at every connect.
 */
export function credsAuthenticator(creds: Uint8Array): Authenticator {
  const parsed = parseCreds(new TextDecoder().decode(creds));
  if (parsed === undefined) throw configError('the NATS credentials hold no user JWT and nkey seed');
  let key;
  try {
    key = nkeyFromSeed(parsed.seed);
  } catch {
    throw configError('the nkey seed of the NATS credentials is not a valid seed');
  }
  const nkey = key.getPublicKey();
  return (nonce?: string) => ({
    jwt: parsed.jwt,
    nkey,
    sig: nonce ? Buffer.from(key.sign(new TextEncoder().encode(nonce))).toString('base64') : '',
  });
}

/** nats.js options for an authenticated TLS client (credentials, CA, its own inbox prefix). */
export function busConnectionOptions(auth: BusAuth): Partial<ConnectionOptions> {
  return {
    authenticator: credsAuthenticator(auth.creds),
    tls: { ca: auth.ca.toString('utf8') },
    inboxPrefix: auth.inboxPrefix,
  };
}

export interface ConnectBusOptions {
  /** JetStream replicas of what the service creates (LATCHKEY_NATS_REPLICAS); default 1. */
  replicas?: number;
}

/**
 * Connects to the NATS servers of `urls` (LATCHKEY_NATS_URL: one URL or
 * several, comma-separated; nats.js tries them in turn and moves to another
 * when one goes away), authenticated with `auth`.
 */
export async function connectBus(
  urls: string,
  name: string,
  logger: Logger,
  auth?: BusAuth,
  opts: ConnectBusOptions = {},
): Promise<Bus> {
  const servers = parseNatsUrls(urls);
  const url = servers.length > 1 ? `any of ${servers.join(', ')}` : (servers[0] ?? '');
  let nc: NatsConnection;
  if (auth === undefined)
    logger.warn('NATS: connecting without credentials or TLS (LATCHKEY_INSECURE=1): local debugging only');
  try {
    nc = await connect({
      servers,
      name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      ...(auth === undefined ? {} : busConnectionOptions(auth)),
    });
  } catch (cause) {
    const refused = /authoriz|authentic|permission/i.test(String((cause as Error).message));
    throw unavailable(
      refused ? 'nats.auth_refused' : 'nats.unreachable',
      refused
        ? `NATS at ${url} refused this service's credentials (${(cause as Error).message}): check LATCHKEY_NATS_CREDS_FILE`
        : `cannot connect to NATS at ${url} (${(cause as Error).message}): is it running, and is LATCHKEY_NATS_CA_FILE the CA of its certificate? (LATCHKEY_NATS_URL)`,
      cause,
    );
  }
  void (async () => {
    for await (const s of nc.status()) {
      // nats.js puts a refused publish or subscription's subject on the status.
      const refused = (s as { permissionContext?: { operation: string; subject: string } }).permissionContext;
      if (refused !== undefined) {
        logger.error('NATS refused an operation the bus permission table does not give this service', {
          operation: refused.operation,
          subject: refused.subject,
        });
      } else if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'error') {
        logger.warn('nats connection status', { status: s.type, data: String(s.data) });
      }
    }
  })().catch(() => undefined);
  const jsm = await nc.jetstreamManager({ timeout: 10_000 });
  const js = nc.jetstream();
  return {
    nc,
    js,
    jsm,
    replicas: opts.replicas ?? 1,
    async drain() {
      if (!nc.isClosed()) await nc.drain().catch(() => nc.close());
    },
  };
}
