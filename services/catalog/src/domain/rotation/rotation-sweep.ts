import type { Exclusive, SecretStore } from '../ports.js';
import type { RotationDue } from '../secrets/secret-types.js';

export interface RotationSweepDeps {
  store: Pick<SecretStore, 'announceRotationDue'>;
  exclusive: Exclusive;
  /** The time a sweep compares versions' ages against (default: the clock); tests inject one. */
  now?: () => Date;
  logger: { info(msg: string, fields?: Record<string, unknown>): void };
  /** Called after events were recorded (kicks the outbox relay). */
  onChange: () => void;
}

/**
 * Rotation policies: finds managed secrets whose current version is at least
 * as old as their policy (`--rotate-every 90d`) and announces each such
 * version once with `secret.rotation_due`. The catalog runs a sweep when it
 * starts and then every LATCHKEY_ROTATION_SWEEP_INTERVAL_S (a PeriodicTask in
 * main.ts); one replica sweeps at a time (the others skip the round), and a
 * version already announced is never announced again, by any replica. The inventory shows the due state itself, at read time.
 */
export class RotationSweep {
  constructor(private readonly deps: RotationSweepDeps) {}

  /** One sweep: the versions it announced; undefined when another replica is sweeping. */
  async sweepOnce(): Promise<RotationDue[] | undefined> {
    const due = await this.deps.exclusive('latchkey.rotation_sweep', () =>
      this.deps.store.announceRotationDue(this.deps.now?.() ?? new Date()),
    );
    if (due !== undefined && due.length > 0) {
      this.deps.onChange();
      this.deps.logger.info('secrets due for rotation announced', { announced: due.length });
    }
    return due;
  }
}
