import net from 'node:net';
import { InfraError } from './infra-errors.js';

/** Asks the OS for a currently unused TCP port on `host`. */
export function findFreePort(host = '127.0.0.1'): Promise<number> {
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

/**
 * Throws InfraError `infra.port_in_use` when `port` is taken on `host`.
 * `what` names the service, e.g. "NATS" or "PostgreSQL".
 */
export async function assertPortFree(port: number, host: string, what: string): Promise<void> {
  if (await isPortFree(port, host)) return;
  const envHint = PORT_ENV_HINTS[what];
  const fix =
    envHint === undefined ? 'stop what uses it or choose another port' : `stop what uses it or set ${envHint}`;
  throw new InfraError('infra.port_in_use', `port ${port} (${what}) is already in use on ${host}: ${fix}`);
}
