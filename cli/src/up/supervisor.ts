import { describeExit, type ExitInfo } from './service-process.js';

/** A process `latchkey up` watches: a service replica, a nats-server node or PostgreSQL. */
export interface Supervisable {
  readonly exited: Promise<ExitInfo>;
  stop(): Promise<void>;
}

export interface SupervisorOptions<P extends Supervisable> {
  /** What it is, in messages: `service ras-2`, `NATS node latchkey-1`. */
  name: string;
  /** The process as first started (by the launcher's start-up). */
  first: P;
  /** Starts it again, on the same ports and with the same settings. */
  restart: () => Promise<P>;
  /** One line per unexpected exit, restart and give-up. */
  report: (line: string) => void;
  /** False once the launcher is shutting down: an exit then is not restarted. */
  keepRunning: () => boolean;
  /** Called once when it keeps dying: the launcher then stops everything. */
  giveUp: (why: string) => void;
  /** Where its log is, named in the messages. */
  logFile?: string;
  /** Restarts in a row (each after a run shorter than `stableMs`) before giving up. Default 5. */
  maxRestarts?: number;
  /** A run this long resets the count. Default 30 s. */
  stableMs?: number;
  /** The first delay; doubled each time, up to `maxDelayMs`. Defaults 500 ms and 8 s. */
  firstDelayMs?: number;
  maxDelayMs?: number;
}

/** The delay before restart `n` (1-based): `first`, doubled each time, capped at `max`. */
export function restartDelayMs(n: number, first = 500, max = 8000): number {
  return Math.min(max, first * 2 ** Math.max(0, n - 1));
}

/**
 * Keeps a process running for the launcher: when it exits without having
 * been asked to (a crash, a SIGKILL, the OOM killer), it is started again
 * after a bounded backoff, each time logged; after `maxRestarts` quick
 * deaths in a row it gives up (and the launcher stops Latchkey, as before
 * supervision). `stop()` ends supervision and stops the current process:
 * an exit then, or during the launcher's shutdown, is never restarted.
 */
export class Supervisor<P extends Supervisable> {
  private proc: P;
  private stopped = false;
  private restarts = 0;
  private startedAt = Date.now();
  private wake: (() => void) | undefined;
  private pending: Promise<unknown> = Promise.resolve();
  private readonly opts: Required<Omit<SupervisorOptions<P>, 'logFile'>> & { logFile?: string };

  constructor(opts: SupervisorOptions<P>) {
    this.opts = { maxRestarts: 5, stableMs: 30_000, firstDelayMs: 500, maxDelayMs: 8000, ...opts };
    this.proc = opts.first;
    this.watch(this.proc);
  }

  /** The process now running (the first one, or its latest restart). */
  get current(): P {
    return this.proc;
  }

  /** How many times it was restarted. */
  get restartCount(): number {
    return this.restarts;
  }

  private watch(proc: P): void {
    this.pending = proc.exited.then((exit) => this.onExit(proc, exit));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private async onExit(proc: P, exit: ExitInfo): Promise<void> {
    if (this.stopped || proc !== this.proc || !this.opts.keepRunning()) return;
    const { name, report } = this.opts;
    const where = this.opts.logFile === undefined ? '' : `, see ${this.opts.logFile}`;
    let failures = Date.now() - this.startedAt >= this.opts.stableMs ? 1 : this.restarts + 1;
    let why = describeExit(exit);
    for (;;) {
      if (failures > this.opts.maxRestarts) {
        this.stopped = true;
        this.opts.giveUp(
          `${name} stopped unexpectedly (${why})${where}, ${failures - 1} restarts in a row did not keep it up`,
        );
        return;
      }
      const delay = restartDelayMs(failures, this.opts.firstDelayMs, this.opts.maxDelayMs);
      report(
        `latchkey: ${name} stopped unexpectedly (${why})${where}; restarting it in ${delay} ms (restart ${failures})`,
      );
      await this.sleep(delay);
      if (this.stopped || !this.opts.keepRunning()) return;
      try {
        const next = await this.opts.restart();
        if (this.stopped) {
          await next.stop().catch(() => undefined);
          return;
        }
        this.proc = next;
        this.restarts = failures;
        this.startedAt = Date.now();
        report(`latchkey: ${name} restarted`);
        this.watch(next);
        return;
      } catch (err) {
        if (this.stopped) return;
        why = `its restart failed: ${(err as Error).message}`;
        failures++;
      }
    }
  }

  /** Ends supervision and stops the process now running. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.proc.stop();
    await this.pending.catch(() => undefined);
    // A restart that was under way when stop() came has stopped what it started (see onExit).
  }
}
