import type { Logger } from '@latchkey/logger';

/**
 * The stages of a service's graceful drain, in the order they run: stop
 * taking calls, stop hearing events, stop periodic work, let the durable
 * consumers finish what they hold, let the service end its own work, publish
 * what is left in the outbox, close clients, then the bus and the pool, and
 * last export the spans still buffered.
 */
export const DRAIN_STAGES = [
  'server',
  'subscriptions',
  'tasks',
  'consumers',
  'service',
  'relay',
  'clients',
  'bus',
  'pool',
  'telemetry',
] as const;

export type DrainStage = (typeof DRAIN_STAGES)[number];

/**
 * What a service must undo when it stops, registered stage by stage while it
 * starts. run() goes through the stages in DRAIN_STAGES order (within a
 * stage, in the order registered), once: a second call waits for the first.
 * A step that fails is logged and the drain goes on, so that the bus and the
 * pool are closed whatever happened before.
 */
export class Drain {
  readonly #steps = new Map<DrainStage, (() => Promise<void> | void)[]>();
  #running: Promise<void> | undefined;

  constructor(private readonly logger: Logger) {}

  add(stage: DrainStage, step: () => Promise<void> | void): void {
    const steps = this.#steps.get(stage) ?? [];
    steps.push(step);
    this.#steps.set(stage, steps);
  }

  run(): Promise<void> {
    this.#running ??= (async () => {
      for (const stage of DRAIN_STAGES) {
        for (const step of this.#steps.get(stage) ?? []) {
          try {
            await step();
          } catch (err) {
            this.logger.warn('a drain step failed; draining goes on', { stage, err });
          }
        }
      }
    })();
    return this.#running;
  }
}
