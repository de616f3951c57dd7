import { readFile } from 'node:fs/promises';
import { LatchkeyError } from '@latchkey/errors';
import type { Logger } from '@latchkey/logger';
import type { Credentials } from './call-context.js';

export async function readCredentials(path: string): Promise<Credentials> {
  let parsed: Partial<Credentials> | undefined;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<Credentials>;
  } catch (cause) {
    throw new LatchkeyError('config.credentials_unreadable', `cannot read the credentials file ${path}`, { cause });
  }
  if (typeof parsed?.admin !== 'string' || typeof parsed.services !== 'object' || parsed.services === null) {
    throw new LatchkeyError(
      'config.credentials_malformed',
      `credentials file ${path} is not {"admin", "services": {...}}`,
    );
  }
  return { admin: parsed.admin, services: parsed.services };
}

export interface RunningService {
  port: number;
  /** Other ports it listens on, by name (the gateway's `http`), reported with `ready`. */
  ports?: Record<string, number>;
  /** Drains: stop taking work, finish what is in hand, close connections. */
  stop(): Promise<void>;
}

/**
 * How often a ready service tells a supervising parent that its event loop
 * turns (IPC `{type:'alive'}`). The parent (`latchkey up`) kills and
 * restarts a replica that has sent none for much longer (a minute): its loop
 * is blocked, so it can neither serve nor drain. In Kubernetes the liveness
 * probe plays that part.
 */
export const HEARTBEAT_MS = 5_000;

/**
 * Runs a service's composition root: starts it, reports readiness to a
 * supervising parent (IPC `{type:'ready'}`, then `{type:'alive'}` every
 * HEARTBEAT_MS), and drains on SIGTERM/SIGINT.
 * A start failure is one log line naming the problem, and exit code 1.
 */
export function runService(name: string, logger: Logger, start: () => Promise<RunningService>): void {
  let running: RunningService | undefined;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('draining', { signal });
    const timer = setTimeout(() => {
      logger.error('drain took too long; exiting');
      process.exit(1);
    }, 20_000);
    try {
      await running?.stop();
    } catch (err) {
      logger.error('error while draining', { err });
    }
    clearTimeout(timer);
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('disconnect', () => void stop('parent-disconnect'));
  start().then(
    (svc) => {
      running = svc;
      logger.info(`${name} ready`, { port: svc.port, ...svc.ports });
      process.send?.({ type: 'ready', service: name, port: svc.port, ports: svc.ports ?? {} });
      if (process.send) {
        // Unref'd: the heartbeat never keeps a draining process alive.
        setInterval(() => {
          if (process.connected) process.send?.({ type: 'alive' });
        }, HEARTBEAT_MS).unref();
      }
      if (stopping) void svc.stop();
    },
    (err: unknown) => {
      const message = err instanceof LatchkeyError ? err.message : `unexpected error: ${(err as Error).message}`;
      logger.error(message, { code: err instanceof LatchkeyError ? err.code : 'internal', err });
      setTimeout(() => process.exit(1), 50);
    },
  );
}
