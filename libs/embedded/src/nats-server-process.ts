import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import { registerChild, terminateChild, unregisterChild } from './child-registry.js';
import { assertPortFree, logSaysPortTaken, portTakenWhileStarting } from './free-port.js';
import { InfraError } from './infra-errors.js';
import { forEachLine, LineTail } from './line-splitter.js';
import { ensureNatsServerBinary } from './system-binaries.js';

export interface StartNatsServerOptions {
  port: number;
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string;
  /** JetStream store directory; created if missing. */
  storeDir: string;
  /** Path of nats-server; default: ensureNatsServerBinary(). */
  binary?: string;
  serverName?: string;
  /** Receives the server's log lines; without it they are discarded. */
  log?: (line: string) => void;
  /**
   * A configuration file (nats-server -c) for what flags cannot say: the
   * decentralized auth and TLS of serverAuthConfig() in @latchkey/nats. The
   * flags (JetStream, store, host, port, name) still apply on top of it.
   */
  configFile?: string;
  /** How long to wait for "Server is ready". Default 20000. */
  readyTimeoutMs?: number;
}

export interface NatsServerHandle {
  /** e.g. nats://127.0.0.1:4222 */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Resolves when the process exits (for whatever reason) with its exit code or signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, wait for exit, SIGKILL after 5s. Safe to call more than once. */
  stop(): Promise<void>;
}

const STOP_GRACE_MS = 5000;

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Starts nats-server with JetStream and resolves once it is ready for clients. */
export async function startNatsServer(opts: StartNatsServerOptions): Promise<NatsServerHandle> {
  const host = opts.host ?? '127.0.0.1';
  const { port } = opts;
  const log = opts.log;
  const readyTimeoutMs = opts.readyTimeoutMs ?? 20_000;
  await assertPortFree(port, host, 'NATS');
  const binary = opts.binary ?? (await ensureNatsServerBinary(log === undefined ? {} : { log }));
  try {
    await fs.mkdir(opts.storeDir, { recursive: true });
  } catch (err) {
    throw new InfraError(
      'infra.data_dir_unreadable',
      `cannot create the NATS JetStream store directory ${opts.storeDir} (${(err as Error).message}): choose a writable directory`,
      { cause: err },
    );
  }

  const args = [
    ...(opts.configFile === undefined ? [] : ['-c', opts.configFile]),
    ...['-js', '-sd', opts.storeDir, '-a', host, '-p', String(port)],
  ];
  if (opts.serverName !== undefined) args.push('-n', opts.serverName);

  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid !== undefined) registerChild(child.pid, 'SIGTERM');
  const tail = new LineTail(20);
  let sawReady = false;
  let onReadyLine: (() => void) | undefined;
  const onLine = (line: string): void => {
    tail.push(line);
    log?.(line);
    if (!sawReady && line.includes('Server is ready')) {
      sawReady = true;
      onReadyLine?.();
    }
  };
  forEachLine(child.stdout, onLine);
  forEachLine(child.stderr, onLine);

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      if (child.pid !== undefined) unregisterChild(child.pid);
      resolve({ code, signal });
    });
  });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));

  const stop = (): Promise<void> => terminateChild(child, exited, STOP_GRACE_MS);

  // Wait for: ready line, early exit, spawn error or deadline.
  let timer: NodeJS.Timeout | undefined;
  const outcome = await new Promise<
    'ready' | 'timeout' | { exit: { code: number | null; signal: string | null } } | Error
  >((resolve) => {
    onReadyLine = () => resolve('ready');
    if (sawReady) resolve('ready');
    timer = setTimeout(() => resolve('timeout'), readyTimeoutMs);
    void exited.then((exit) => resolve({ exit }));
    void spawnError.then(resolve);
  });
  clearTimeout(timer);

  const fail = async (what: string, cause?: unknown): Promise<never> => {
    await stop().catch(() => undefined);
    const lastLines = tail.toString();
    if (logSaysPortTaken(lastLines)) throw portTakenWhileStarting(port, host, 'NATS', lastLines, cause);
    throw new InfraError(
      'infra.start_failed',
      `nats-server ${what} (port ${port}, store ${opts.storeDir}): see its last log lines below or run it by hand: ${binary} ${args.join(' ')}` +
        (lastLines === '' ? '' : `\n${lastLines}`),
      { cause, details: lastLines },
    );
  };

  if (outcome instanceof Error) return fail(`could not be started (${outcome.message})`, outcome);
  if (outcome === 'timeout') return fail(`was not ready within ${readyTimeoutMs}ms`);
  if (outcome !== 'ready') {
    return fail(
      `exited before it was ready (code ${outcome.exit.code ?? 'none'}, signal ${outcome.exit.signal ?? 'none'})`,
    );
  }
  const pid = child.pid;
  if (pid === undefined) return fail('has no pid');
  // "Server is ready" is printed after the client listener is up; confirm anyway.
  if (!(await canConnect(host, port)))
    return fail(`logged ready but does not accept TCP connections on ${host}:${port}`);

  return {
    url: `nats://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    pid,
    exited,
    stop,
  };
}
