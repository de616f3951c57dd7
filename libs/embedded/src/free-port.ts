import fs from 'node:fs';
import net from 'node:net';
import { InfraError, isInfraError } from './infra-errors.js';

/** Lowest port findFreePort picks from (below it live well-known and registered services). */
const LOWEST_PICK = 20_000;
const PICK_ATTEMPTS = 50;

/**
 * The kernel's ephemeral range (the local ports it hands to outgoing
 * connections), or undefined where it cannot be read.
 */
export function ephemeralPortRange(file = '/proc/sys/net/ipv4/ip_local_port_range'): [number, number] | undefined {
  try {
    const [low, high] = fs.readFileSync(file, 'utf8').trim().split(/\s+/).map(Number);
    if (low === undefined || high === undefined || !Number.isInteger(low) || !Number.isInteger(high)) return undefined;
    return [low, high];
  } catch {
    return undefined;
  }
}

function kernelAssignedPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : undefined;
      server.close(() => {
        if (port === undefined) reject(new Error(`could not determine a free port on ${host}`));
        else resolve(port);
      });
    });
  });
}

/**
 * A currently unused TCP port on `host`, for a server started right after.
 *
 * The port is picked below the kernel's ephemeral range: a port from that
 * range (what `listen(0)` returns) can be taken by any outgoing connection
 * of any process between this check and the server's own bind, which made
 * servers started in parallel tests fail now and then with "address already
 * in use". Falls back to a kernel-assigned port where the range is unknown
 * or leaves no room.
 */
export async function findFreePort(host = '127.0.0.1'): Promise<number> {
  const range = ephemeralPortRange();
  if (range !== undefined && range[0] - LOWEST_PICK >= 1000) {
    const span = range[0] - LOWEST_PICK;
    for (let i = 0; i < PICK_ATTEMPTS; i++) {
      const port = LOWEST_PICK + Math.floor(Math.random() * span);
      if (await isPortFree(port, host)) return port;
    }
  }
  return kernelAssignedPort(host);
}

/** Resolves to true when `port` can be bound on `host` right now. */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE' || err.code === 'EACCES') resolve(false);
      else reject(err);
    });
    server.listen({ port, host, exclusive: true }, () => {
      server.close(() => resolve(true));
    });
  });
}

const PORT_ENV_HINTS: Record<string, string> = {
  NATS: 'LATCHKEY_NATS_PORT',
  PostgreSQL: 'LATCHKEY_PG_PORT',
};

function portFix(what: string): string {
  const envHint = PORT_ENV_HINTS[what];
  return envHint === undefined ? 'stop what uses it or choose another port' : `stop what uses it or set ${envHint}`;
}

/**
 * Throws InfraError `infra.port_in_use` when `port` is taken on `host`.
 * `what` names the service, e.g. "NATS" or "PostgreSQL".
 */
export async function assertPortFree(port: number, host: string, what: string): Promise<void> {
  if (await isPortFree(port, host)) return;
  throw new InfraError('infra.port_in_use', `port ${port} (${what}) is already in use on ${host}: ${portFix(what)}`);
}

/** True when a server's log says its bind failed because the port is taken. */
export function logSaysPortTaken(lines: string): boolean {
  return /address already in use/i.test(lines);
}

/**
 * The error for a server that passed assertPortFree but then lost its port
 * to another process before binding it.
 */
export function portTakenWhileStarting(
  port: number,
  host: string,
  what: string,
  details: string,
  cause?: unknown,
): InfraError {
  return new InfraError(
    'infra.port_in_use',
    `port ${port} (${what}) was taken by another process on ${host} while ${what} started: ${portFix(what)}`,
    { cause, details },
  );
}

/**
 * Starts a server on a port picked by findFreePort, picking another one
 * when the port is taken before the server binds it (infra.port_in_use).
 * Only for ports chosen here: a configured port is the operator's to fix.
 */
export async function startOnFreePort<T>(
  start: (port: number) => Promise<T>,
  opts: { host?: string; attempts?: number; onRetry?: (port: number, err: InfraError) => void } = {},
): Promise<T> {
  const attempts = opts.attempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    const port = await findFreePort(opts.host);
    try {
      return await start(port);
    } catch (err) {
      if (attempt >= attempts || !isInfraError(err, 'infra.port_in_use')) throw err;
      opts.onRetry?.(port, err);
    }
  }
}
