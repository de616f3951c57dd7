import { LatchkeyError } from '@latchkey/errors';
import type { Logger } from '@latchkey/logger';

/**
 * Runs `run` every `intervalMs`, one run at a time; `kick(ms)` brings the
 * next run forward to at most `ms` from now. A failing run is logged (its
 * code, never more) and the task goes on. The background jobs of the services
 * (the catalog's Vault version watch and rotation sweep, the deployer's
 * redeploy scan and stop check) are each one of these around a one-round
 * method, which their tests call directly.
 */
/** The longest delay setTimeout keeps (a longer one fires at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class PeriodicTask {
  #timer: NodeJS.Timeout | undefined;
  #dueAt = Infinity;
  #running: Promise<void> | undefined;
  #stopped = true;

  constructor(
    private readonly opts: { name: string; intervalMs: number; run: () => Promise<unknown>; logger: Logger },
  ) {}

  /** The first run after `firstInMs` (default: one interval), then every interval. */
  start(firstInMs = this.opts.intervalMs): void {
    this.#stopped = false;
    this.kick(firstInMs);
  }

  /** Runs within `inMs` (default: now), unless a run is already due sooner. */
  kick(inMs = 0): void {
    if (this.#stopped) return;
    const at = Date.now() + Math.max(0, inMs);
    if (at >= this.#dueAt) return;
    clearTimeout(this.#timer);
    this.#dueAt = at;
    this.#timer = setTimeout(() => this.#fire(), Math.min(MAX_TIMER_MS, at - Date.now()));
    this.#timer.unref();
  }

  #fire(): void {
    this.#dueAt = Infinity;
    this.#timer = undefined;
    if (this.#running) {
      // One run at a time: try again when this one is over.
      void this.#running.then(() => this.kick(0));
      return;
    }
    // Through a promise: a run that throws before it returns one is a failed run too.
    this.#running = Promise.resolve()
      .then(() => this.opts.run())
      .then(() => undefined)
      .catch((err: unknown) =>
        this.opts.logger.warn(`${this.opts.name} failed; it runs again at the next interval`, {
          code: err instanceof LatchkeyError ? err.code : 'error',
        }),
      )
      .finally(() => {
        this.#running = undefined;
        if (this.#timer === undefined) this.kick(this.opts.intervalMs);
      });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#dueAt = Infinity;
    await this.#running;
  }
}
