import { LatchkeyError } from '@latchkey/errors';
import { authorize, type Authorizer } from '@latchkey/authz';
import type { Dependents, SecretLifecycleStore } from '../ports.js';
import {
  invalidRecoveryDays,
  scopeFlag,
  secretDeleted,
  secretInUse,
  secretNotDeleted,
  secretNotFound,
} from './secret-errors.js';
import type { SecretRetention } from './secret-retention.js';
import { mayManageSecret } from './secret-access.js';
import { scopeOf, validateKey, type ScopeInput } from './secret-scope.js';
import type { DeletedSecret, SecretMeta } from './secret-types.js';

/** The longest recovery window a delete may ask for (AWS Secrets Manager's bound). */
export const MAX_RECOVERY_DAYS = 30;

export interface SecretRecoveryDeps {
  store: Pick<SecretLifecycleStore, 'delete' | 'restore' | 'listDeleted'>;
  authorizer: Authorizer;
  /** The window of a delete that names none (LATCHKEY_SECRET_RECOVERY_DAYS, default 7). */
  defaultRecoveryDays?: number;
  dependents?: Dependents;
  /** Destroys what a delete queued, at once (the sweep retries what fails). */
  retention?: Pick<SecretRetention, 'destroyPending'>;
  logger?: { warn(msg: string, fields?: Record<string, unknown>): void };
  onChange: () => void;
}

export interface DeleteResult {
  deleted: SecretMeta;
  dependents: string[];
  /** Until when it can be restored; null when its values were destroyed now. */
  recoverUntil: Date | null;
}

/**
 * Recoverable delete (AWS Secrets Manager's model): a deleted secret keeps
 * its versions for a recovery window (default 7 days, 0..30 per delete),
 * during which `restore` brings it back as it was and a deployment that
 * references it fails with `secret.deleted` and the window's end; after it,
 * the retention sweep destroys the values in their backend. A window of 0
 * destroys them now, also those of a secret deleted before.
 */
export class SecretRecovery {
  constructor(private readonly deps: SecretRecoveryDeps) {}

  async delete(
    principal: string,
    input: { scope: ScopeInput | undefined; key: string; force?: boolean; recoveryDays?: number; requestId?: string },
  ): Promise<DeleteResult> {
    const scope = scopeOf(input.scope);
    validateKey(input.key);
    const days = input.recoveryDays ?? this.deps.defaultRecoveryDays ?? 7;
    if (!Number.isInteger(days) || days < 0 || days > MAX_RECOVERY_DAYS) {
      throw invalidRecoveryDays(days, MAX_RECOVERY_DAYS);
    }
    await mayManageSecret(this.deps.authorizer, principal, scope, input.key, input.requestId);
    // The check and the delete are one decision: the deployer fences the key
    // against new references until the delete is over (see Dependents.beginDeletion).
    const check = this.deps.dependents
      ? await this.deps.dependents.beginDeletion('MANAGED', scope, [input.key], input.force ?? false)
      : undefined;
    const dependents = check?.dependents.get(input.key) ?? [];
    if (check && check.deletionId === undefined) throw secretInUse(input.key, dependents);
    let outcome: Awaited<ReturnType<SecretRecoveryDeps['store']['delete']>> | undefined;
    try {
      outcome = await this.deps.store.delete({
        scope,
        key: input.key,
        by: principal,
        recoveryDays: days,
        ...(input.requestId === undefined ? {} : { requestId: input.requestId }),
      });
    } finally {
      if (check?.deletionId !== undefined) await this.#endDeletion(check.deletionId, scope, input.key);
    }
    if (outcome.kind === 'missing') throw secretNotFound(input.key, scope);
    if (outcome.kind === 'pending') {
      throw secretDeleted(
        input.key,
        scope,
        outcome.recoverUntil,
        `to destroy its values now, delete it with --recovery-days 0 (latchkey secret delete ${input.key} ${scopeFlag(scope)} --recovery-days 0)`,
      );
    }
    this.deps.onChange();
    const recoverUntil = outcome.kind === 'deleted' ? outcome.recoverUntil : null;
    // No window: the values were queued with the delete; destroy them now.
    if (recoverUntil === null) await this.deps.retention?.destroyPending({ scope, key: input.key });
    return { deleted: outcome.meta, dependents, recoverUntil };
  }

  /** A deleted secret back, as it was (same versions, same current one), while its window lasts. */
  async restore(
    principal: string,
    input: { scope: ScopeInput | undefined; key: string; requestId?: string },
  ): Promise<SecretMeta> {
    const scope = scopeOf(input.scope);
    validateKey(input.key);
    await mayManageSecret(this.deps.authorizer, principal, scope, input.key, input.requestId);
    const r = await this.deps.store.restore({
      scope,
      key: input.key,
      by: principal,
      ...(input.requestId === undefined ? {} : { requestId: input.requestId }),
    });
    if (r.kind === 'present') throw secretNotDeleted(input.key, scope);
    if (r.kind === 'missing') {
      throw secretNotFound(
        input.key,
        scope,
        `nothing to restore: it was never there, or its recovery window ended and its values were destroyed (latchkey secret list ${scopeFlag(scope)} --deleted lists what can be restored)`,
      );
    }
    this.deps.onChange();
    return r.meta;
  }

  async listDeleted(principal: string, scopeInput: ScopeInput | undefined): Promise<DeletedSecret[]> {
    const scope = scopeOf(scopeInput);
    await authorize(this.deps.authorizer, { principal, action: 'secret.list', domain: scope });
    return this.deps.store.listDeleted(scope);
  }

  /** Lifts a delete's fence; one that cannot be lifted now lapses by itself in the deployer. */
  async #endDeletion(deletionId: string, scope: string, key: string): Promise<void> {
    await this.deps.dependents?.endDeletion(deletionId).catch((err: unknown) => {
      this.deps.logger?.warn('the deployer was not told a secret delete is over; its fence lapses by itself', {
        scope,
        key,
        code: err instanceof LatchkeyError ? err.code : 'error',
      });
    });
  }
}
