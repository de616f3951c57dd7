import { LatchkeyError } from '@latchkey/errors';
import type { Logger } from '@latchkey/logger';

/**
 * Runs `run` every `intervalMs` (the first time after one interval), one run
 * at a time; `kick(ms)` brings the next run forward to at most `ms` from now.
 * A failing run is logged (its code, never more) and the task goes on.
 */
export class PeriodicTask {
  #timer: NodeJS.Timeout | undefined;
  #dueAt = Infinity;
  #running: Promise<void> | undefined;
  #stopped = true;

  constructor(
    private readonly opts: { name: string; intervalMs: number; run: () => Promise<unknown>; logger: Logger },
  ) {}

  start(): void {
    this.#stopped = false;
    this.kick(this.opts.intervalMs);
  }

  /** Runs within `inMs` (default: now), unless a run is already due sooner. */
  kick(inMs = 0): void {
    if (this.#stopped) return;
    const at = Date.now() + Math.max(0, inMs);
    if (at >= this.#dueAt) return;
    clearTimeout(this.#timer);
    this.#dueAt = at;
    this.#timer = setTimeout(() => this.#fire(), at - Date.now());
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
    this.#running = this.opts
      .run()
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
