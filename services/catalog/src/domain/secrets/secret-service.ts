import { GLOBAL_SCOPE } from '@latchkey/events';
import { authorize, type Authorizer } from '@latchkey/authz';
import { MIN_REDACTABLE_BYTES } from '@latchkey/logger';
import type { Dependents, SecretStore } from '../ports.js';
import { parseRotateEvery } from '../rotation/rotation-policy.js';
import type { ValueBackend } from '../value-backend.js';
import {
  descriptionTooLong,
  emptyValue,
  kekNotApplicable,
  secretNotFound,
  valueTooLarge,
  valueTooShort,
} from './secret-errors.js';
import { SecretRecovery, type DeleteResult } from './secret-recovery.js';
import type { SecretRetention } from './secret-retention.js';
import { SecretVersions } from './secret-versions.js';
import { holdingValues, mayManageSecret, type ValueMasker } from './secret-access.js';
import { scopeOf, validateKey, type ScopeInput } from './secret-scope.js';
import type { KeyAnswer, PutResult, ScopeName, SecretMeta, ValueAnswer, ValueQuery } from './secret-types.js';
import { SecretValueReads, type SecretValueReadsDeps, type ValueReader } from './secret-value-reads.js';

export { scopeOf, validateKey, type ScopeInput } from './secret-scope.js';
export type { ValueReader } from './secret-value-reads.js';

/**
 * Managed values shorter than the redactor's minimum are refused: it replaces
 * every occurrence of a resolved value in workload output, and a 1-3 byte
 * value would mask ordinary text while telling readers where it appears.
 */
const MIN_VALUE_BYTES = MIN_REDACTABLE_BYTES;
const MAX_DESCRIPTION = 1000;

export interface SecretServiceDeps {
  store: SecretStore;
  authorizer: Authorizer;
  /** The one managed backend configured for this deployment of Latchkey. */
  backend: ValueBackend;
  /** Database backend only: re-wraps every data key with a new KEK. */
  rotateKek?: () => Promise<{ newKekId: string; rewrapped: number; retired: string[] }>;
  logger?: { warn(msg: string, fields?: Record<string, unknown>): void };
  /**
   * The service logger's redactor: a value being stored or read is masked in
   * the catalog's log lines (whatever logs them: a backend's error, a driver)
   * while the call handles it.
   */
  masker?: ValueMasker;
  /** Called after a change committed (kicks the outbox relay). */
  onChange: () => void;
  /** Which workloads reference a secret (the deployer's index); without it deletes are not checked. */
  dependents?: Dependents;
  /** Read-only Vault integrations, for VAULT references (and the leases of their dynamic credentials). */
  vault?: SecretValueReadsDeps['vault'];
  /**
   * audit.failClosed: an internal value read whose audit record cannot be
   * written is refused (audit.unavailable) instead of served unaudited.
   */
  auditFailClosed?: boolean;
  /** Versions kept per secret (LATCHKEY_SECRET_KEEP_VERSIONS; the store prunes to it). */
  keepVersions?: number;
  /** A delete's recovery window when it names none (LATCHKEY_SECRET_RECOVERY_DAYS). */
  defaultRecoveryDays?: number;
  /** Destroys queued values (a put's pruned versions, a delete without a window) at once. */
  retention?: Pick<SecretRetention, 'destroyPending'>;
}

export class SecretService {
  readonly #reads: SecretValueReads;
  /** Recoverable delete: delete, restore, the deleted list. */
  readonly recovery: SecretRecovery;
  /** Versions: the listing, rollback, disable and enable. */
  readonly versions: SecretVersions;

  constructor(private readonly deps: SecretServiceDeps) {
    this.#reads = new SecretValueReads(deps);
    this.recovery = new SecretRecovery(deps);
    this.versions = new SecretVersions(deps);
  }

  async put(
    principal: string,
    input: {
      scope: ScopeInput | undefined;
      key: string;
      value: Buffer;
      description: string;
      /** `90d`, `36h` or `never` (removes it); undefined keeps the secret's rotation policy. */
      rotateEvery?: string;
      /** The request that asked: in ras's decision record and in the change's audit record. */
      requestId?: string;
    },
  ): Promise<PutResult> {
    const scope = scopeOf(input.scope);
    validateKey(input.key);
    const rotateEverySeconds = input.rotateEvery === undefined ? undefined : parseRotateEvery(input.rotateEvery);
    if (input.value.length === 0) throw emptyValue();
    if (input.value.length < MIN_VALUE_BYTES) throw valueTooShort(input.value.length, MIN_VALUE_BYTES);
    const limit = this.deps.backend.valueLimit;
    if (limit && input.value.length > limit.bytes)
      throw valueTooLarge(this.deps.backend.kind, input.value.length, limit);
    if (input.description.length > MAX_DESCRIPTION) throw descriptionTooLong(MAX_DESCRIPTION);
    return holdingValues(this.deps.masker, [input.value], () => this.#put(principal, scope, input, rotateEverySeconds));
  }

  async #put(
    principal: string,
    scope: ScopeName,
    input: { key: string; value: Buffer; description: string; requestId?: string },
    rotateEverySeconds: number | null | undefined,
  ): Promise<PutResult> {
    await mayManageSecret(this.deps.authorizer, principal, scope, input.key, input.requestId);
    const { backend } = this.deps;
    const result = await this.deps.store.put({
      scope,
      key: input.key,
      description: input.description || undefined,
      by: principal,
      ...(input.requestId === undefined ? {} : { requestId: input.requestId }),
      ...(rotateEverySeconds === undefined ? {} : { rotateEverySeconds }),
      writeValue: async (version, txn) => {
        const { ref } = await backend.write({ scope, key: input.key, version, value: input.value, txn });
        return { backend: backend.kind, ref };
      },
    });
    this.deps.onChange();
    if ((result.pruned ?? 0) > 0) await this.deps.retention?.destroyPending({ scope, key: input.key });
    return result;
  }

  /** Sets (`90d`, `36h`) or removes (`never`) a secret's rotation policy; the value and its version stay. */
  async setRotationPolicy(
    principal: string,
    input: { scope: ScopeInput | undefined; key: string; rotateEvery: string; requestId?: string },
  ): Promise<SecretMeta> {
    const scope = scopeOf(input.scope);
    validateKey(input.key);
    const rotateEverySeconds = parseRotateEvery(input.rotateEvery);
    await mayManageSecret(this.deps.authorizer, principal, scope, input.key, input.requestId);
    const meta = await this.deps.store.setRotationPolicy({
      scope,
      key: input.key,
      rotateEverySeconds,
      by: principal,
      ...(input.requestId === undefined ? {} : { requestId: input.requestId }),
    });
    if (!meta) {
      const where = scope === GLOBAL_SCOPE ? '--global' : `--domain ${scope}`;
      const hint = `put it with its policy (latchkey secret put ${input.key} ${where} --rotate-every ${input.rotateEvery})`;
      throw secretNotFound(input.key, scope, hint);
    }
    this.deps.onChange();
    return meta;
  }

  async list(principal: string, scopeInput: ScopeInput | undefined): Promise<SecretMeta[]> {
    const scope = scopeOf(scopeInput);
    await authorize(this.deps.authorizer, { principal, action: 'secret.list', domain: scope });
    return this.deps.store.list(scope);
  }

  /** Deletes a secret, recoverable for `recoveryDays` (default: the installation's); see SecretRecovery. */
  delete(
    principal: string,
    scopeInput: ScopeInput | undefined,
    key: string,
    force = false,
    requestId?: string,
    recoveryDays?: number,
  ): Promise<DeleteResult> {
    return this.recovery.delete(principal, {
      scope: scopeInput,
      key,
      force,
      ...(recoveryDays === undefined ? {} : { recoveryDays }),
      ...(requestId === undefined ? {} : { requestId }),
    });
  }

  async rotateKek(principal: string): Promise<{ newKekId: string; rewrapped: number; retired: string[] }> {
    await authorize(this.deps.authorizer, { principal, action: 'kek.rotate', domain: GLOBAL_SCOPE });
    if (!this.deps.rotateKek) {
      throw kekNotApplicable(this.deps.backend.kind);
    }
    return this.deps.rotateKek();
  }

  /**
   * The internal value read (resolver only). Authorization of the deploying
   * principal is the resolver's job, done through ras before it asks. With
   * `reader`, what was read (scopes, keys, versions; never a value) is
   * recorded in the outbox before any value is returned; with
   * audit.failClosed a read whose record cannot be written is refused.
   */
  readValues(queries: ValueQuery[], reader?: ValueReader): Promise<ValueAnswer[]> {
    return this.#reads.readValues(queries, reader);
  }

  /**
   * Which referenced keys exist and their current version, without reading
   * any value (the check when a workload is applied). Same answers as
   * readValues, minus the value; a Vault key's version is 0.
   */
  findKeys(queries: ValueQuery[]): Promise<KeyAnswer[]> {
    return this.#reads.findKeys(queries);
  }
}
