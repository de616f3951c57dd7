import { LatchkeyError } from '@latchkey/errors';
import { authorize, type Authorizer } from '@latchkey/authz';
import type { Dependents, SecretStore } from '../ports.js';
import type { ValueBackend } from '../value-backend.js';
import {
  invalidVersion,
  rollbackToCurrent,
  secretDeleted,
  secretNotFound,
  versionDisabled,
  versionNotFound,
} from './secret-errors.js';
import type { SecretRetention } from './secret-retention.js';
import { holdingValues, mayManageSecret, type ValueMasker } from './secret-access.js';
import { scopeOf, validateKey, type ScopeInput } from './secret-scope.js';
import type { ScopeName, SecretMeta, VersionInfo } from './secret-types.js';

export interface SecretVersionsDeps {
  store: Pick<SecretStore, 'versions' | 'setVersionDisabled' | 'put'>;
  authorizer: Authorizer;
  backend: ValueBackend;
  /** Versions kept per secret (shown with the listing). */
  keepVersions?: number;
  dependents?: Dependents;
  retention?: Pick<SecretRetention, 'destroyPending'>;
  masker?: ValueMasker;
  logger?: { warn(msg: string, fields?: Record<string, unknown>): void };
  onChange: () => void;
}

/** A kept version as listed: its state and the workloads whose live deployment holds it. */
export interface ListedVersion extends VersionInfo {
  current: boolean;
  heldBy: string[];
}

export interface VersionListing {
  meta: SecretMeta;
  versions: ListedVersion[];
  kept: number;
  /** False when the deployer could not be asked: heldBy is then empty. */
  holdersKnown: boolean;
}

const checkVersion = (v: number): void => {
  if (!Number.isSafeInteger(v) || v < 1) throw invalidVersion(v);
};

/**
 * Versions of managed secrets: the listing (`secret versions`), rollback
 * (a new version with an older one's value, copied inside the catalog: the
 * value never leaves it) and disabling a version (kept, but no deployment
 * may resolve it). A rollback is a put: the same transaction, the same
 * `secret.changed` (updated) that makes workloads holding other versions
 * stale, and its audit record names the version it copied.
 */
export class SecretVersions {
  constructor(private readonly deps: SecretVersionsDeps) {}

  async list(principal: string, scopeInput: ScopeInput | undefined, key: string): Promise<VersionListing> {
    const scope = scopeOf(scopeInput);
    validateKey(key);
    await authorize(this.deps.authorizer, { principal, action: 'secret.list', domain: scope });
    const { meta, versions } = await this.#present(scope, key, 'restore it to see its versions');
    let held: { workload: string; version: number }[] = [];
    let holdersKnown = this.deps.dependents?.heldVersions !== undefined;
    if (this.deps.dependents?.heldVersions) {
      held = await this.deps.dependents.heldVersions('MANAGED', scope, key).catch((err: unknown) => {
        holdersKnown = false;
        this.deps.logger?.warn('the deployer could not say which deployments hold which version', {
          scope,
          key,
          code: err instanceof LatchkeyError ? err.code : 'error',
        });
        return [];
      });
    }
    return {
      meta,
      versions: versions.map((v) => ({
        ...v,
        current: v.version === meta.version,
        heldBy: held.filter((h) => h.version === v.version).map((h) => h.workload),
      })),
      kept: this.deps.keepVersions ?? 10,
      holdersKnown,
    };
  }

  async rollback(
    principal: string,
    input: { scope: ScopeInput | undefined; key: string; toVersion: number; requestId?: string },
  ): Promise<SecretMeta> {
    const scope = scopeOf(input.scope);
    validateKey(input.key);
    checkVersion(input.toVersion);
    await mayManageSecret(this.deps.authorizer, principal, scope, input.key, input.requestId);
    const { meta, versions } = await this.#present(scope, input.key, 'restore it first');
    const target = versions.find((v) => v.version === input.toVersion);
    if (!target) {
      throw versionNotFound(
        input.key,
        scope,
        input.toVersion,
        versions.map((v) => v.version),
      );
    }
    if (target.version === meta.version) throw rollbackToCurrent(input.key, scope, target.version);
    if (target.disabledAt !== null) throw versionDisabled(input.key, scope, target.version);
    const { backend } = this.deps;
    if (target.backend !== backend.kind) {
      throw new LatchkeyError(
        'secret.backend_mismatch',
        `secret ${input.key} version ${target.version} lives in the ${target.backend} backend, but this catalog uses ${backend.kind}: put the value again instead`,
        { kind: 'failed_precondition' },
      );
    }
    const value = await backend.read({ scope, key: input.key, version: target.version, ref: target.ref });
    if (!value) {
      throw new LatchkeyError(
        'secret.value_missing',
        `secret ${input.key} version ${target.version} has no value in the ${backend.kind} backend any more: put the value again instead`,
        { kind: 'failed_precondition' },
      );
    }
    try {
      return await holdingValues(this.deps.masker, [value], () =>
        this.#copy(principal, scope, input, target.version, value),
      );
    } finally {
      value.fill(0);
    }
  }

  /** The rollback's put: `value` (version `from`'s) written as the key's next version. */
  async #copy(
    principal: string,
    scope: ScopeName,
    input: { key: string; requestId?: string },
    from: number,
    value: Buffer,
  ): Promise<SecretMeta> {
    const { backend } = this.deps;
    const result = await this.deps.store.put({
      scope,
      key: input.key,
      description: undefined,
      by: principal,
      rolledBackFrom: from,
      ...(input.requestId === undefined ? {} : { requestId: input.requestId }),
      writeValue: async (version, txn) => {
        const { ref } = await backend.write({ scope, key: input.key, version, value, txn });
        return { backend: backend.kind, ref };
      },
    });
    this.deps.onChange();
    if ((result.pruned ?? 0) > 0) await this.deps.retention?.destroyPending({ scope, key: input.key });
    return result.meta;
  }

  async setDisabled(
    principal: string,
    input: { scope: ScopeInput | undefined; key: string; version: number; disabled: boolean; requestId?: string },
  ): Promise<VersionInfo & { current: boolean }> {
    const scope = scopeOf(input.scope);
    validateKey(input.key);
    checkVersion(input.version);
    await mayManageSecret(this.deps.authorizer, principal, scope, input.key, input.requestId);
    const r = await this.deps.store.setVersionDisabled({
      scope,
      key: input.key,
      version: input.version,
      disabled: input.disabled,
      by: principal,
      ...(input.requestId === undefined ? {} : { requestId: input.requestId }),
    });
    if (r.kind === 'missing') throw secretNotFound(input.key, scope);
    if (r.kind === 'deleted') throw secretDeleted(input.key, scope, r.recoverUntil, 'restore it first');
    if (r.kind === 'no_version') throw versionNotFound(input.key, scope, input.version, r.kept);
    this.deps.onChange();
    return { ...r.version, current: r.current };
  }

  async #present(scope: ScopeName, key: string, whenDeleted: string) {
    const got = await this.deps.store.versions(scope, key);
    if (!got) throw secretNotFound(key, scope);
    if (got.recoverUntil !== undefined) throw secretDeleted(key, scope, got.recoverUntil, whenDeleted);
    return got;
  }
}
