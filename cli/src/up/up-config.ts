import { MAX_NATS_NODES } from '@latchkey/embedded';
import { MAX_NATS_REPLICAS, parseNatsUrls } from '@latchkey/nats';
import { CliError } from '../output/cli-errors.js';
import type { ServiceName } from '../local-state/credentials-file.js';
import path from 'node:path';
import { resolveHome } from '../local-state/data-folder.js';
import { DEFAULT_SYSTEM_DIR } from './system-folder.js';
import { LIVENESS_TIMEOUT_MS } from './liveness.js';

/** What the launcher starts as a service process: the four, and the HTTP gateway (which holds no tokens of theirs). */
export type LaunchedService = ServiceName | 'gateway';

/** The order services start in (and stop in reverse); the gateway starts after them. */
// Each after those it calls: catalog asks the deployer's reference index, the resolver asks the catalog.
export const START_ORDER: readonly ServiceName[] = ['ras', 'deployer', 'catalog', 'resolver'];

export const DEFAULT_PORTS = {
  nats: 7422,
  postgres: 7432,
  ras: 7401,
  catalog: 7402,
  resolver: 7403,
  deployer: 7404,
  /** The gateway's gRPC (health) port, and its HTTP one (the API and the console). */
  gateway: 7405,
  http: 7480,
} as const;

export const PORT_ENV: Record<keyof typeof DEFAULT_PORTS, string> = {
  nats: 'LATCHKEY_NATS_PORT',
  postgres: 'LATCHKEY_PG_PORT',
  ras: 'LATCHKEY_RAS_PORT',
  catalog: 'LATCHKEY_CATALOG_PORT',
  resolver: 'LATCHKEY_RESOLVER_PORT',
  deployer: 'LATCHKEY_DEPLOYER_PORT',
  gateway: 'LATCHKEY_GATEWAY_PORT',
  http: 'LATCHKEY_HTTP_PORT',
};

export interface UpConfig {
  home: string;
  /** An external NATS to use instead of starting nats-server. */
  natsUrl: string | undefined;
  /** 0: pick a free port. */
  natsPort: number;
  pgPort: number;
  /** First replica's port per service; 0: the service picks. */
  servicePorts: Record<ServiceName, number>;
  /** The first gateway replica's gRPC and HTTP ports; 0: it picks. */
  gatewayPort: number;
  httpPort: number;
  replicas: number;
  /** As root: where what other OS users must reach is kept (LATCHKEY_SYSTEM_DIR, default /var/lib/latchkey). */
  systemDir: string;
  /** --insecure / LATCHKEY_INSECURE=1: plaintext, services named by shared tokens; local debugging only. */
  insecure: boolean;
  /** LATCHKEY_NATS_NODES: how many nats-server nodes to start as one cluster (1: a single server). */
  natsNodes: number;
  /** LATCHKEY_NATS_REPLICAS handed to the services: default 3 on a cluster of 3 or more nodes, else 1. */
  natsReplicas: number;
  /**
   * LATCHKEY_PG_DURABLE=0: the embedded PostgreSQL runs without fsync (and initdb without sync), for
   * throwaway systems such as the test suite's; a crash of the machine (not of PostgreSQL) can then
   * lose or corrupt the cluster. Default 1.
   */
  pgDurable: boolean;
  /**
   * LATCHKEY_LIVENESS_TIMEOUT_MS: how long a ready service replica may send no heartbeat before
   * latchkey up kills it and starts it again (its event loop is blocked). Default 60000; 0: never.
   */
  livenessTimeoutMs: number;
}

function intFromEnv(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  min: number,
  max: number,
  what: string,
): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw.trim());
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new CliError(`${name} must be ${what}, got ${JSON.stringify(raw)}`, { code: 'cli.bad_config' });
  }
  return n;
}

const port = (env: NodeJS.ProcessEnv, key: keyof typeof PORT_ENV): number =>
  intFromEnv(env, PORT_ENV[key], DEFAULT_PORTS[key], 0, 65535, 'a port number (0-65535; 0 picks a free port)');

/** A 1/0 (true/false) setting; `one` says what 1 means, for the error. */
function flagFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: boolean, one: string): boolean {
  const raw = (env[name] ?? '').trim();
  if (raw === '') return fallback;
  if (raw === '0' || raw === 'false') return false;
  if (raw === '1' || raw === 'true') return true;
  throw new CliError(`${name} must be 1 (${one}) or 0, got ${JSON.stringify(raw)}`, { code: 'cli.bad_config' });
}

/** Reads the `latchkey up` settings from the environment; names the bad variable on error. */
export function readUpConfig(env: NodeJS.ProcessEnv, cwd: string): UpConfig {
  const natsUrl = env['LATCHKEY_NATS_URL']?.trim();
  const external = natsUrl !== undefined && natsUrl !== '';
  if (external) {
    try {
      parseNatsUrls(natsUrl);
    } catch (err) {
      throw new CliError((err as Error).message, { code: 'cli.bad_config' });
    }
  }
  const natsNodes = intFromEnv(
    env,
    'LATCHKEY_NATS_NODES',
    1,
    1,
    MAX_NATS_NODES,
    `a whole number from 1 to ${MAX_NATS_NODES} (nats-server nodes to start as one cluster)`,
  );
  if (external && (env['LATCHKEY_NATS_NODES'] ?? '').trim() !== '') {
    throw new CliError(
      'LATCHKEY_NATS_NODES starts nats-server nodes, and LATCHKEY_NATS_URL names a NATS to use instead: set only one of them',
      { code: 'cli.bad_config' },
    );
  }
  const maxReplicas = external ? MAX_NATS_REPLICAS : natsNodes;
  const natsReplicas = intFromEnv(
    env,
    'LATCHKEY_NATS_REPLICAS',
    !external && natsNodes >= 3 ? 3 : 1,
    1,
    maxReplicas,
    external
      ? `a whole number from 1 to ${MAX_NATS_REPLICAS} (at most the JetStream servers of LATCHKEY_NATS_URL)`
      : `a whole number from 1 to ${natsNodes} (at most LATCHKEY_NATS_NODES, the nats-server nodes started)`,
  );
  return {
    home: resolveHome(env, cwd),
    systemDir: path.resolve(cwd, env['LATCHKEY_SYSTEM_DIR']?.trim() || DEFAULT_SYSTEM_DIR),
    natsUrl: natsUrl === undefined || natsUrl === '' ? undefined : natsUrl,
    natsPort: port(env, 'nats'),
    pgPort: port(env, 'postgres'),
    servicePorts: {
      ras: port(env, 'ras'),
      catalog: port(env, 'catalog'),
      resolver: port(env, 'resolver'),
      deployer: port(env, 'deployer'),
    },
    gatewayPort: port(env, 'gateway'),
    httpPort: port(env, 'http'),
    replicas: intFromEnv(env, 'LATCHKEY_REPLICAS', 1, 1, 64, 'a whole number from 1 to 64'),
    insecure: flagFromEnv(env, 'LATCHKEY_INSECURE', false, 'plaintext, for local debugging'),
    pgDurable: flagFromEnv(env, 'LATCHKEY_PG_DURABLE', true, 'PostgreSQL with fsync; 0 only for throwaway systems'),
    natsNodes,
    natsReplicas,
    livenessTimeoutMs: livenessFromEnv(env),
  };
}

/** LATCHKEY_LIVENESS_TIMEOUT_MS: 0 (never), or at least three heartbeats (15000) and at most an hour. */
function livenessFromEnv(env: NodeJS.ProcessEnv): number {
  const what =
    'milliseconds a ready service may send no heartbeat before it is restarted: 0 (never), or 15000 to 3600000 (services send one every 5000)';
  const n = intFromEnv(env, 'LATCHKEY_LIVENESS_TIMEOUT_MS', LIVENESS_TIMEOUT_MS, 0, 3_600_000, what);
  if (n !== 0 && n < 15_000) {
    throw new CliError(
      `LATCHKEY_LIVENESS_TIMEOUT_MS must be ${what}, got ${JSON.stringify(env['LATCHKEY_LIVENESS_TIMEOUT_MS'])}`,
      {
        code: 'cli.bad_config',
      },
    );
  }
  return n;
}
