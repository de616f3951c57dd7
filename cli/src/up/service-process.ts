import { fork, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { terminateChild } from '@latchkey/embedded';
import { CliError } from '../output/cli-errors.js';
import type { LaunchedService } from './up-config.js';
import { forEachLine, lastErrorMessage, LineTail } from './line-tail.js';
import { describeMainThread, LIVENESS_TIMEOUT_MS, sampleMainThread, type MainThreadSample } from './liveness.js';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Why the launcher killed it, when it did (its event loop was blocked). */
  reason?: string;
}

export function describeExit(exit: ExitInfo): string {
  const how = exit.signal !== null ? `signal ${exit.signal}` : `exit code ${exit.code ?? 'unknown'}`;
  return exit.reason === undefined ? how : `${how}, ${exit.reason}`;
}

export interface StartServiceOptions {
  service: LaunchedService;
  replica: number;
  /** The service's compiled main.js. */
  entry: string;
  env: NodeJS.ProcessEnv;
  /** stdout and stderr are appended here. */
  logFile: string;
  readyTimeoutMs?: number;
  /** Grace period between SIGTERM and SIGKILL when stopping. */
  stopGraceMs?: number;
  /** Aborting stops the process and rejects (the launcher is shutting down). */
  signal?: AbortSignal;
  /**
   * A ready process that has sent heartbeats (`{type:'alive'}`) and then sends
   * none for this long is killed (SIGKILL), so that its supervisor starts it
   * again. Default LIVENESS_TIMEOUT_MS; 0: never. A process that never sends
   * one is never judged.
   */
  livenessTimeoutMs?: number;
}

export interface ServiceProcess {
  readonly service: LaunchedService;
  /** `<service>-<replica>` */
  readonly id: string;
  readonly pid: number | undefined;
  readonly port: number;
  readonly address: string;
  /** Its other ports by name, as it reported them (the gateway's `http`). */
  readonly ports: Readonly<Record<string, number>>;
  readonly logFile: string;
  /** Resolves when the process exits, whether asked to or not. */
  readonly exited: Promise<ExitInfo>;
  /** True once stop() was called: an exit after that is expected. */
  readonly stopping: boolean;
  /** SIGTERM, wait for exit, SIGKILL after the grace period. Safe to call more than once. */
  stop(): Promise<void>;
}

interface ReadyMessage {
  type: 'ready';
  service?: string;
  port: number;
  ports?: Record<string, unknown>;
}

/** The other ports of a ready message, those that are port numbers. */
function otherPorts(msg: ReadyMessage): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, p] of Object.entries(msg.ports ?? {})) {
    if (typeof p === 'number' && Number.isInteger(p) && p > 0 && p < 65536) out[name] = p;
  }
  return out;
}

function isAliveMessage(msg: unknown): boolean {
  return typeof msg === 'object' && msg !== null && (msg as { type?: unknown }).type === 'alive';
}

function isReadyMessage(msg: unknown): msg is ReadyMessage {
  const m = msg as { type?: unknown; port?: unknown } | null;
  return typeof m === 'object' && m !== null && m.type === 'ready' && typeof m.port === 'number' && m.port > 0;
}

/** Children still running, killed as a last resort if the launcher exits without stopping them. */
const liveChildren = new Set<ChildProcess>();
let exitHooked = false;

function ensureExitHook(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', () => {
    for (const child of liveChildren) child.kill('SIGKILL');
  });
}

/** Why a service did not start, with its last log lines (never more than 20). */
export class ServiceStartError extends CliError {
  readonly logTail: string[];
  constructor(message: string, logTail: string[]) {
    super(message, { code: 'cli.service_start_failed' });
    this.name = 'ServiceStartError';
    this.logTail = logTail;
  }
}

/**
 * Forks one service process and resolves once it reports
 * `{type: 'ready', port}` over IPC. Rejects with ServiceStartError (after
 * making sure the process is gone) if it exits first or misses the deadline.
 */
export async function startServiceProcess(opts: StartServiceOptions): Promise<ServiceProcess> {
  const id = `${opts.service}-${opts.replica}`;
  const readyTimeoutMs = opts.readyTimeoutMs ?? 60_000;
  const stopGraceMs = opts.stopGraceMs ?? 10_000;
  const log = createWriteStream(opts.logFile, { flags: 'a', mode: 0o600 });
  log.on('error', () => undefined); // a full disk must not crash the launcher
  const tail = new LineTail(20);

  const child: ChildProcess = fork(opts.entry, [], {
    env: opts.env,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    // Its own process group: a terminal's Ctrl-C reaches the launcher only,
    // which then stops the services in reverse order of start.
    detached: true,
  });
  liveChildren.add(child);
  ensureExitHook();
  const onLine = (line: string): void => {
    tail.push(line);
    log.write(line + '\n');
  };
  forEachLine(child.stdout, onLine);
  forEachLine(child.stderr, onLine);

  let streamsDone = 0;
  const outputDone = new Promise<void>((resolve) => {
    const done = (): void => {
      if (++streamsDone === 2) resolve();
    };
    if (child.stdout) child.stdout.once('close', done);
    else done();
    if (child.stderr) child.stderr.once('close', done);
    else done();
  });
  let killedFor: string | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => {
      liveChildren.delete(child);
      // Let the last lines reach the tail and the log file before anyone reports.
      const finish = (): void => {
        log.end();
        resolve(killedFor === undefined ? { code, signal } : { code, signal, reason: killedFor });
      };
      const t = setTimeout(finish, 1000);
      void outputDone.then(() => {
        clearTimeout(t);
        finish();
      });
    });
  });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));

  let stopping = false;
  const stop = (): Promise<void> => {
    stopping = true;
    return terminateChild(child, exited, stopGraceMs);
  };

  /**
   * Kills the process once its heartbeats stop for `timeoutMs`: a blocked
   * event loop neither serves nor drains, and only a restart frees the events
   * it holds. The line it writes says whether the main thread was busy or
   * waiting (and in what), from /proc; /proc is read only in the last two
   * checks before the kill (the first read is the baseline of the CPU share),
   * never while the heartbeats come.
   */
  function watchLiveness(timeoutMs: number): void {
    if (timeoutMs <= 0) return;
    let lastAlive: number | undefined;
    let sample: MainThreadSample | undefined;
    let checking = false;
    const everyMs = Math.min(5_000, Math.max(100, Math.floor(timeoutMs / 4)));
    // /proc is read from two checks before the kill on: a late timer still leaves one baseline sample.
    const sampleFromMs = timeoutMs - 2 * everyMs;
    let lastCheck = Date.now();
    child.on('message', (msg: unknown) => {
      if (isAliveMessage(msg)) lastAlive = Date.now();
    });
    const check = async (): Promise<void> => {
      if (checking || lastAlive === undefined || stopping || killedFor !== undefined || child.pid === undefined) return;
      checking = true;
      try {
        const now = Date.now();
        // A check that comes late means the launcher itself was held (the machine suspended, its own
        // loop busy): the heartbeats may be waiting unread, so the silence restarts from now.
        if (now - lastCheck > 2 * everyMs) lastAlive = Math.max(lastAlive, now - everyMs);
        lastCheck = now;
        if (now - lastAlive < sampleFromMs) {
          sample = undefined;
          return;
        }
        const latest = await sampleMainThread(child.pid);
        // A heartbeat read while /proc was read counts.
        const silentMs = now - lastAlive;
        if (silentMs < timeoutMs || stopping || child.exitCode !== null || child.signalCode !== null) {
          sample = silentMs < sampleFromMs ? undefined : latest;
          return;
        }
        killedFor =
          `killed by latchkey up: no heartbeat for ${(silentMs / 1000).toFixed(1)} s, its event loop is blocked ` +
          `(${describeMainThread(sample, latest)}); it is started again`;
        const line = JSON.stringify({ level: 50, time: now, service: 'latchkey-up', msg: `${id} ${killedFor}` });
        tail.push(line);
        log.write(line + '\n');
        child.kill('SIGKILL');
      } finally {
        checking = false;
      }
    };
    const timer = setInterval(() => void check(), everyMs);
    timer.unref();
    void exited.then(() => clearInterval(timer));
  }

  let timer: NodeJS.Timeout | undefined;
  const outcome = await new Promise<
    { ready: ReadyMessage } | { exit: ExitInfo } | { error: Error } | 'timeout' | 'aborted'
  >((resolve) => {
    if (opts.signal?.aborted === true) resolve('aborted');
    opts.signal?.addEventListener('abort', () => resolve('aborted'), { once: true });
    const onMessage = (msg: unknown): void => {
      if (isReadyMessage(msg)) {
        child.off('message', onMessage);
        resolve({ ready: msg });
      }
    };
    child.on('message', onMessage);
    timer = setTimeout(() => resolve('timeout'), readyTimeoutMs);
    void exited.then((exit) => resolve({ exit }));
    void spawnError.then((error) => resolve({ error }));
  });
  clearTimeout(timer);

  if (typeof outcome === 'object' && 'ready' in outcome) {
    const port = outcome.ready.port;
    watchLiveness(opts.livenessTimeoutMs ?? LIVENESS_TIMEOUT_MS);
    return {
      service: opts.service,
      id,
      pid: child.pid,
      port,
      address: `127.0.0.1:${port}`,
      ports: otherPorts(outcome.ready),
      logFile: opts.logFile,
      exited,
      get stopping() {
        return stopping;
      },
      stop,
    };
  }

  await stop().catch(() => undefined);
  if (outcome === 'aborted') throw new CliError(`start of service ${id} was cancelled`, { code: 'cli.cancelled' });
  const lines = tail.all();
  let why: string;
  if (outcome === 'timeout') {
    why = `did not report ready within ${Math.round(readyTimeoutMs / 1000)}s`;
  } else if ('error' in outcome) {
    why = `could not be started (${outcome.error.message})`;
  } else {
    why = `exited before it was ready (${describeExit(outcome.exit)})`;
  }
  const msg = lastErrorMessage(lines);
  throw new ServiceStartError(
    `service ${id} ${why}${msg === undefined ? '' : `: ${msg}`} (log: ${opts.logFile})`,
    lines,
  );
}
