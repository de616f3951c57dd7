import { LatchkeyError } from '@latchkey/errors';
import type { Exclusive, SecretLifecycleStore } from '../ports.js';
import type { ValueBackend } from '../value-backend.js';
import type { PendingDestruction, ScopeName } from './secret-types.js';

/** How many queued values one round reads at a time. */
const DESTROY_BATCH = 500;

export interface SecretRetentionDeps {
  store: Pick<
    SecretLifecycleStore,
    'queueDestructions' | 'pendingDestructions' | 'destructionsDone' | 'destructionsFailed'
  >;
  /** The backends values may live in, by kind (the configured one, and the database's for older versions). */
  backends: Partial<Record<string, Pick<ValueBackend, 'destroyVersions'>>>;
  /** Versions kept per secret (LATCHKEY_SECRET_KEEP_VERSIONS). */
  keepVersions: number;
  exclusive: Exclusive;
  /** The time recovery windows are compared against (default: the clock); tests inject one. */
  now?: () => Date;
  logger: {
    info(msg: string, fields?: Record<string, unknown>): void;
    warn(msg: string, fields?: Record<string, unknown>): void;
  };
  /** Called after audit records were written (kicks the outbox relay). */
  onChange: () => void;
}

export interface SweepResult {
  /** Deleted secrets whose recovery window ended this round. */
  expired: { scope: ScopeName; key: string }[];
  /** Versions queued this round (the expired secrets' and those beyond the kept count). */
  queued: number;
  /** Values destroyed in their backend, and those left for the next round. */
  destroyed: number;
  failed: number;
}

/**
 * Destruction of values: a deleted secret's after its recovery window, and
 * every version beyond the newest `keepVersions` of a secret, in whichever
 * backend holds them. The catalog runs `sweepOnce` every
 * LATCHKEY_RETENTION_SWEEP_INTERVAL_S (a PeriodicTask in main.ts; one
 * replica at a time, the others skip the round); a put or a delete that
 * queued values destroys that key's at once (`destroyPending`). The
 * metadata of a queued value is gone already, so nothing can read it while
 * it waits; a backend that refuses is tried again the next round.
 */
export class SecretRetention {
  constructor(private readonly deps: SecretRetentionDeps) {}

  /** One round; undefined when another replica is sweeping. */
  async sweepOnce(): Promise<SweepResult | undefined> {
    return this.deps.exclusive('latchkey.secret_retention_sweep', async () => {
      const now = this.deps.now?.() ?? new Date();
      const { expired, queued } = await this.deps.store.queueDestructions(now, this.deps.keepVersions);
      if (expired.length > 0) this.deps.onChange();
      const { destroyed, failed } = await this.destroyPending();
      if (expired.length > 0 || destroyed > 0 || failed > 0) {
        this.deps.logger.info('secret retention sweep', { expired: expired.length, queued, destroyed, failed });
      }
      return { expired, queued, destroyed, failed };
    });
  }

  /** Destroys queued values (only one key's when given); never throws. */
  async destroyPending(only?: { scope: ScopeName; key: string }): Promise<{ destroyed: number; failed: number }> {
    let destroyed = 0;
    let failed = 0;
    try {
      for (;;) {
        const batch = await this.deps.store.pendingDestructions(DESTROY_BATCH, only);
        const groups = new Map<string, PendingDestruction[]>();
        for (const item of batch) {
          const k = `${item.backend}\u0000${item.scope}\u0000${item.key}`;
          groups.set(k, [...(groups.get(k) ?? []), item]);
        }
        let batchFailed = 0;
        for (const items of groups.values()) {
          const ok = await this.#destroy(items);
          if (ok) destroyed += items.length;
          else batchFailed += items.length;
        }
        failed += batchFailed;
        // A round never reads again what it could not destroy: the next sweep tries.
        if (batch.length < DESTROY_BATCH || batchFailed > 0) break;
      }
    } catch (err) {
      this.deps.logger.warn(
        'values waiting for destruction could not be read or recorded; the next sweep tries again',
        {
          code: err instanceof LatchkeyError ? err.code : 'error',
        },
      );
    }
    return { destroyed, failed };
  }

  async #destroy(items: PendingDestruction[]): Promise<boolean> {
    const [first] = items;
    if (!first) return true;
    const backend = this.deps.backends[first.backend];
    const where = { scope: first.scope, key: first.key, backend: first.backend, versions: items.length };
    if (!backend) {
      this.deps.logger.warn(
        'values to destroy live in a backend this catalog is not configured for; remove them there',
        where,
      );
      await this.deps.store.destructionsFailed(items);
      return false;
    }
    try {
      await backend.destroyVersions({
        scope: first.scope,
        key: first.key,
        versions: items.map((i) => ({ version: i.version, ref: i.ref })),
      });
    } catch (err) {
      this.deps.logger.warn('values could not be destroyed in their backend; the next sweep tries again', {
        ...where,
        code: err instanceof LatchkeyError ? err.code : 'error',
      });
      await this.deps.store.destructionsFailed(items);
      return false;
    }
    await this.deps.store.destructionsDone(items);
    return true;
  }
}
