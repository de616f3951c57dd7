import { CliError } from '../output/cli-errors.js';
import type { ServiceName } from '../local-state/credentials-file.js';
import path from 'node:path';
import { resolveHome } from '../local-state/data-folder.js';
import { DEFAULT_SYSTEM_DIR } from './system-folder.js';

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

function insecureFromEnv(env: NodeJS.ProcessEnv): boolean {
  const raw = (env['LATCHKEY_INSECURE'] ?? '').trim();
  if (raw === '' || raw === '0' || raw === 'false') return false;
  if (raw === '1' || raw === 'true') return true;
  throw new CliError(`LATCHKEY_INSECURE must be 1 (plaintext, for local debugging) or 0, got ${JSON.stringify(raw)}`, {
    code: 'cli.bad_config',
  });
}

/** Reads the `latchkey up` settings from the environment; names the bad variable on error. */
export function readUpConfig(env: NodeJS.ProcessEnv, cwd: string): UpConfig {
  const natsUrl = env['LATCHKEY_NATS_URL']?.trim();
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
    insecure: insecureFromEnv(env),
  };
}
