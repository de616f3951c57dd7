import { LatchkeyError } from '@latchkey/errors';
import type { Dependents, Exclusive, VaultIntegrationRepo, VaultSources } from '../ports.js';

export interface VaultVersionWatchDeps {
  repo: Pick<VaultIntegrationRepo, 'byIds' | 'recordVersions'>;
  sources: VaultSources;
  dependents: Pick<Dependents, 'deployedVaultKeys'>;
  exclusive: Exclusive;
  logger: {
    info(msg: string, fields?: Record<string, unknown>): void;
    warn(msg: string, fields?: Record<string, unknown>): void;
  };
  /** Called after a change was recorded (kicks the outbox relay). */
  onChange: () => void;
}

export interface WatchRound {
  /** Integrations asked. */
  integrations: number;
  keys: number;
  /** `secret.changed` events written. */
  announced: number;
  /** Integrations that could not be asked this round (they are asked again next round). */
  failed: number;
}

/**
 * Vault-side rotation: for every Vault key a live deployment holds, asks its
 * integration for the key's current KV version (metadata only, batched per
 * integration) and announces `secret.changed` when it moved past the oldest
 * version a live deployment holds (not the newest: one dependent redeployed
 * onto the new version before the round must not hide it from the others),
 * so dependents become stale exactly as after a managed update.
 * The catalog runs a round every LATCHKEY_VAULT_WATCH_INTERVAL_S (a
 * PeriodicTask in main.ts). One replica polls at a time (the others skip the
 * round); each version is announced once, whichever replica sees it first.
 */
export class VaultVersionWatch {
  constructor(private readonly deps: VaultVersionWatchDeps) {}

  /** One round; undefined when another replica is polling. */
  pollOnce(): Promise<WatchRound | undefined> {
    return this.deps.exclusive('latchkey.vault_watch', () => this.#round());
  }

  async #round(): Promise<WatchRound> {
    const deployed = await this.deps.dependents.deployedVaultKeys();
    const byIntegration = new Map<string, Map<string, number>>();
    for (const k of deployed) {
      const keys = byIntegration.get(k.integrationId) ?? new Map<string, number>();
      keys.set(k.key, Math.min(k.version, keys.get(k.key) ?? k.version));
      byIntegration.set(k.integrationId, keys);
    }
    const records = await this.deps.repo.byIds([...byIntegration.keys()]);
    const round: WatchRound = { integrations: records.length, keys: deployed.length, announced: 0, failed: 0 };
    await Promise.all(
      records.map(async (record) => {
        const keys = byIntegration.get(record.id)!;
        try {
          const source = await this.deps.sources.forIntegration(record);
          const current = await source.currentVersions([...keys.keys()]);
          const seen = [...current].map(([key, version]) => ({
            key,
            version,
            deployedVersion: keys.get(key) ?? 0,
          }));
          round.announced += await this.deps.repo.recordVersions(record, seen);
        } catch (err) {
          round.failed += 1;
          this.deps.logger.warn('Vault version watch could not ask an integration', {
            integration: record.id,
            domain: record.domain,
            code: err instanceof LatchkeyError ? err.code : 'error',
          });
        }
      }),
    );
    if (round.announced > 0) {
      this.deps.onChange();
      this.deps.logger.info('Vault versions moved', { announced: round.announced });
    }
    return round;
  }
}
