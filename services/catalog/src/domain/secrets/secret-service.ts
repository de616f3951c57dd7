import { invalidArgument, notFound, LatchkeyError } from '@latchkey/errors';
import { auditRecord } from '@latchkey/events';
import { authorize, type Authorizer } from '@latchkey/authz';
import { MIN_REDACTABLE_BYTES } from '@latchkey/logger';
import { storeKey, type Dependents, type SecretStore, type VaultIntegrationRepo, type VaultSources } from '../ports.js';
import { parseRotateEvery } from '../rotation/rotation-policy.js';
import { findVaultKeys, readVaultValues } from '../vault/vault-value-reader.js';
import type { ValueBackend } from '../value-backend.js';
import {
  DOMAIN_NAME,
  GLOBAL,
  SECRET_KEY,
  type KeyAnswer,
  type PutResult,
  type ScopeName,
  type SecretMeta,
  type ValueAnswer,
  type ValueQuery,
} from './secret-types.js';

export interface ScopeInput {
  domain: string;
  global: boolean;
}

export function scopeOf(input: ScopeInput | undefined): ScopeName {
  const domain = input?.domain ?? '';
  const global = input?.global ?? false;
  if (global && domain) throw invalidArgument('scope.ambiguous', 'give either a domain or global scope, not both');
  if (global) return GLOBAL;
  if (!domain)
    throw invalidArgument('scope.missing', 'no scope: give a domain (--domain D) or global scope (--global)');
  if (!DOMAIN_NAME.test(domain)) {
    throw invalidArgument(
      'domain.invalid_name',
      `invalid domain name ${JSON.stringify(domain.slice(0, 80))}: lowercase letters, digits and hyphens`,
    );
  }
  return domain;
}

export function validateKey(key: string): void {
  if (!SECRET_KEY.test(key)) {
    throw invalidArgument(
      'secret.invalid_key',
      `invalid secret key ${JSON.stringify(key.slice(0, 80))}: use 1-253 letters, digits, '.', '_' or '-', other than . and ..`,
    );
  }
}

/**
 * Managed values shorter than the redactor's minimum are refused: it replaces
 * every occurrence of a resolved value in workload output, and a 1-3 byte
 * value would mask ordinary text while telling readers where it appears.
 */
const MIN_VALUE_BYTES = MIN_REDACTABLE_BYTES;

export interface SecretServiceDeps {
  store: SecretStore;
  authorizer: Authorizer;
  /** The one managed backend configured for this deployment of Latchkey. */
  backend: ValueBackend;
  maxValueBytes: number;
  /** Database backend only: re-wraps every data key with a new KEK. */
  rotateKek?: () => Promise<{ newKekId: string; rewrapped: number; retired: string[] }>;
  logger?: { warn(msg: string, fields?: Record<string, unknown>): void };
  /**
   * The service logger's redactor: a value being stored or read is masked in
   * the catalog's log lines (whatever logs them: a backend's error, a driver)
   * while the call handles it.
   */
  masker?: { add(values: Iterable<string>): void; remove(values: Iterable<string>): void };
  /** Called after a change committed (kicks the outbox relay). */
  onChange: () => void;
  /** Which workloads reference a secret (the deployer's index); without it deletes are not checked. */
  dependents?: Dependents;
  /** Read-only Vault integrations, for VAULT references. */
  vault?: { repo: Pick<VaultIntegrationRepo, 'byIds'>; sources: VaultSources };
  /**
   * audit.failClosed: an internal value read whose audit record cannot be
   * written is refused (audit.unavailable) instead of served unaudited.
   */
  auditFailClosed?: boolean;
}

/** Who asked for an internal value read: the calling service, and its request. */
export interface ValueReader {
  actor: string;
  requestId: string;
}

export class SecretService {
  constructor(private readonly deps: SecretServiceDeps) {}

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
    if (input.value.length === 0) {
      throw invalidArgument('secret.empty_value', 'the value is empty: pass it on standard input or with --value-file');
    }
    if (input.value.length < MIN_VALUE_BYTES) {
      throw invalidArgument(
        'secret.value_too_short',
        `the value is ${input.value.length} byte(s); managed values need at least ${MIN_VALUE_BYTES}, because a shorter one cannot be redacted from workload output without masking ordinary text: use a longer value`,
      );
    }
    if (input.value.length > this.deps.maxValueBytes) {
      throw invalidArgument(
        'secret.value_too_large',
        `the value is ${input.value.length} bytes; at most ${this.deps.maxValueBytes} bytes are allowed`,
      );
    }
    if (input.description.length > 1000) {
      throw invalidArgument('secret.description_too_long', 'the description is longer than 1000 characters');
    }
    return this.#holding([input.value], () => this.#put(principal, scope, input, rotateEverySeconds));
  }

  async #put(
    principal: string,
    scope: ScopeName,
    input: { key: string; value: Buffer; description: string; requestId?: string },
    rotateEverySeconds: number | null | undefined,
  ): Promise<PutResult> {
    await authorize(this.deps.authorizer, {
      principal,
      action: 'secret.manage',
      domain: scope,
      resource: input.key,
      ...(input.requestId === undefined ? {} : { requestId: input.requestId }),
    });
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
    await authorize(this.deps.authorizer, {
      principal,
      action: 'secret.manage',
      domain: scope,
      resource: input.key,
      ...(input.requestId === undefined ? {} : { requestId: input.requestId }),
    });
    const meta = await this.deps.store.setRotationPolicy({
      scope,
      key: input.key,
      rotateEverySeconds,
      by: principal,
      ...(input.requestId === undefined ? {} : { requestId: input.requestId }),
    });
    if (!meta) {
      throw notFound(
        'secret.not_found',
        `secret ${input.key} not found in ${scope === GLOBAL ? 'global scope' : `domain ${scope}`}: ` +
          `put it with its policy (latchkey secret put ${input.key} ${scope === GLOBAL ? '--global' : `--domain ${scope}`} --rotate-every ${input.rotateEvery})`,
      );
    }
    this.deps.onChange();
    return meta;
  }

  async list(principal: string, scopeInput: ScopeInput | undefined): Promise<SecretMeta[]> {
    const scope = scopeOf(scopeInput);
    await authorize(this.deps.authorizer, { principal, action: 'secret.list', domain: scope });
    return this.deps.store.list(scope);
  }

  async delete(
    principal: string,
    scopeInput: ScopeInput | undefined,
    key: string,
    force = false,
    requestId?: string,
  ): Promise<{ deleted: SecretMeta; dependents: string[] }> {
    const scope = scopeOf(scopeInput);
    validateKey(key);
    await authorize(this.deps.authorizer, {
      principal,
      action: 'secret.manage',
      domain: scope,
      resource: key,
      ...(requestId === undefined ? {} : { requestId }),
    });
    // The check and the delete are one decision: the deployer fences the key
    // against new references until the delete is over (see Dependents.beginDeletion).
    const check = this.deps.dependents
      ? await this.deps.dependents.beginDeletion('MANAGED', scope, [key], force)
      : undefined;
    const dependents = check?.dependents.get(key) ?? [];
    if (check && check.deletionId === undefined) {
      throw new LatchkeyError(
        'secret.in_use',
        `secret ${key} is referenced by ${dependents.length} workload(s): ${dependents.join(', ')}; ` +
          'change them first, or delete anyway with --force (they become stale and their next deployment fails)',
        { kind: 'failed_precondition', details: { dependents: dependents.join(',') } },
      );
    }
    let deleted: SecretMeta | undefined;
    try {
      deleted = await this.deps.store.delete(scope, key, principal, requestId);
    } finally {
      if (check?.deletionId !== undefined) await this.#endDeletion(check.deletionId, scope, key);
    }
    if (!deleted)
      throw notFound(
        'secret.not_found',
        `secret ${key} not found in ${scope === GLOBAL ? 'global scope' : `domain ${scope}`}`,
      );
    this.deps.onChange();
    // The metadata is gone; now the values. A failure here leaves unreachable
    // values behind (logged), never a secret that looks present but is not.
    await this.deps.backend.remove({ scope, key }).catch((err: unknown) => {
      this.deps.logger?.warn('deleted secret values could not be removed from the backend', {
        scope,
        key,
        code: err instanceof LatchkeyError ? err.code : 'error',
      });
    });
    return { deleted, dependents };
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

  async rotateKek(principal: string): Promise<{ newKekId: string; rewrapped: number; retired: string[] }> {
    await authorize(this.deps.authorizer, { principal, action: 'kek.rotate', domain: GLOBAL });
    if (!this.deps.rotateKek) {
      throw new LatchkeyError(
        'kek.not_applicable',
        `the ${this.deps.backend.kind} backend does not use Latchkey's key-encryption key: rotate keys in that system`,
        { kind: 'failed_precondition' },
      );
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
  async readValues(queries: ValueQuery[], reader?: ValueReader): Promise<ValueAnswer[]> {
    const answers = await this.#readValues(queries);
    if (reader) await this.#recordRead(queries, answers, reader);
    return answers;
  }

  async #recordRead(queries: ValueQuery[], answers: ValueAnswer[], reader: ValueReader): Promise<void> {
    const byRef = new Map(queries.map((q) => [q.refId, q]));
    // One record per domain read from (global scope on its own), all in one insert.
    const read = new Map<string, string[]>();
    for (const a of answers) {
      if (!a.found) continue;
      const q = byRef.get(a.refId);
      const domain = a.scope === GLOBAL ? GLOBAL : (q?.scope ?? GLOBAL);
      const list = read.get(domain) ?? [];
      list.push(`${q?.sourceType ?? 'MANAGED'}:${a.scope}/${q?.key ?? a.refId}@v${a.version}`);
      read.set(domain, list);
    }
    if (read.size === 0) return;
    const records = [...read].map(([domain, items]) =>
      auditRecord({
        service: 'catalog',
        actor: reader.actor,
        action: 'secret.read',
        domain,
        resource: items.join(', '),
        outcome: 'ok',
        reason: 'internal value read (CatalogInternal.ReadValues)',
        requestId: reader.requestId,
      }),
    );
    try {
      await this.deps.store.recordReads(records);
      this.deps.onChange();
    } catch (err) {
      const code = err instanceof LatchkeyError ? err.code : 'error';
      this.deps.logger?.warn(
        this.deps.auditFailClosed
          ? 'audit record of a value read not written: read refused (audit.failClosed)'
          : 'audit record of a value read not written: values served unaudited (audit.failClosed is off)',
        { code, requestId: reader.requestId },
      );
      if (!this.deps.auditFailClosed) return;
      for (const a of answers) if (a.found) a.value.fill(0);
      throw new LatchkeyError(
        'audit.unavailable',
        "values not served: the audit record of this read could not be written and audit.failClosed is on; deploy again once the catalog's database is back",
        { kind: 'failed_precondition', cause: err },
      );
    }
  }

  async #readValues(queries: ValueQuery[]): Promise<ValueAnswer[]> {
    const vaultQueries = queries.filter((q) => q.sourceType === 'VAULT');
    const managed = queries.filter((q) => q.sourceType !== 'VAULT');
    const [vaultAnswers, managedAnswers] = await Promise.all([
      vaultQueries.length === 0
        ? []
        : this.deps.vault
          ? readVaultValues(this.deps.vault, vaultQueries)
          : vaultQueries.map((q): ValueAnswer => SecretService.#noVault(q)),
      this.#readManaged(managed),
    ]);
    return [...managedAnswers, ...vaultAnswers];
  }

  /** Runs `fn` with `values` held by the masker (see SecretServiceDeps.masker). */
  async #holding<T>(values: readonly Buffer[], fn: () => Promise<T>): Promise<T> {
    const held = values.map((v) => v.toString('utf8'));
    this.deps.masker?.add(held);
    try {
      return await fn();
    } finally {
      this.deps.masker?.remove(held);
    }
  }

  /**
   * Which referenced keys exist and their current version, without reading
   * any value (the check when a workload is applied). Same answers as
   * readValues, minus the value; a Vault key's version is 0.
   */
  async findKeys(queries: ValueQuery[]): Promise<KeyAnswer[]> {
    const vaultQueries = queries.filter((q) => q.sourceType === 'VAULT');
    const managed = queries.filter((q) => q.sourceType !== 'VAULT');
    const found = await this.#currentMetadata(managed);
    const managedAnswers = managed.map((q): KeyAnswer => {
      const hit = SecretService.#answering(q, found);
      if (!hit) return SecretService.#notFound(q);
      const shadowed = SecretService.#shadowsGlobal(q, hit.scope, found);
      return {
        refId: q.refId,
        found: true,
        scope: hit.scope,
        version: hit.version,
        ...(shadowed ? { shadowedGlobal: true } : {}),
      };
    });
    const vaultAnswers =
      vaultQueries.length === 0
        ? []
        : this.deps.vault
          ? await findVaultKeys(this.deps.vault, vaultQueries)
          : vaultQueries.map((q): KeyAnswer => SecretService.#noVault(q));
    return [...managedAnswers, ...vaultAnswers];
  }

  static #noVault(q: ValueQuery): { refId: string; found: false; code: string; message: string } {
    return {
      refId: q.refId,
      found: false,
      code: 'source.unsupported',
      message: `reference ${q.key}: this catalog has no Vault integrations configured`,
    };
  }

  static #scopesOf(q: ValueQuery): ScopeName[] {
    return q.fallbackToGlobal && q.scope !== GLOBAL ? [q.scope, GLOBAL] : [q.scope];
  }

  /** The first scope of the query that holds the key. */
  static #answering<T>(q: ValueQuery, found: Map<string, T>): (T & { scope: ScopeName }) | undefined {
    for (const scope of SecretService.#scopesOf(q)) {
      const stored = found.get(storeKey(scope, q.key));
      if (stored) return { ...stored, scope };
    }
    return undefined;
  }

  /** A legacy read the domain answers while global scope has the key too. */
  static #shadowsGlobal(q: ValueQuery, answered: ScopeName, found: Map<string, unknown>): boolean {
    return q.fallbackToGlobal && answered !== GLOBAL && found.has(storeKey(GLOBAL, q.key));
  }

  static #notFound(q: ValueQuery): { refId: string; found: false; code: string; message: string } {
    const where = SecretService.#scopesOf(q)
      .map((s) => (s === GLOBAL ? 'global scope' : `domain ${s}`))
      .join(' or ');
    return { refId: q.refId, found: false, code: 'secret.not_found', message: `secret ${q.key} not found in ${where}` };
  }

  #currentMetadata(queries: ValueQuery[]) {
    const wanted: { scope: ScopeName; key: string }[] = [];
    for (const q of queries) {
      if (!SECRET_KEY.test(q.key) || (q.scope !== GLOBAL && !DOMAIN_NAME.test(q.scope))) continue;
      wanted.push({ scope: q.scope, key: q.key });
      if (q.fallbackToGlobal && q.scope !== GLOBAL) wanted.push({ scope: GLOBAL, key: q.key });
    }
    return this.deps.store.readCurrent(wanted);
  }

  async #readManaged(queries: ValueQuery[]): Promise<ValueAnswer[]> {
    if (queries.length === 0) return [];
    const found = await this.#currentMetadata(queries);
    // One read per distinct (scope, key); a backend that is unavailable fails
    // the whole call as retryable, so the resolver tries again later.
    const values = new Map<string, Promise<Buffer | undefined>>();
    const readOnce = (scope: ScopeName, key: string, version: number, ref: string) => {
      const k = storeKey(scope, key);
      let p = values.get(k);
      if (!p) {
        p = this.deps.backend.read({ scope, key, version, ref });
        values.set(k, p);
      }
      return p;
    };
    return Promise.all(
      queries.map(async (q): Promise<ValueAnswer> => {
        for (const scope of SecretService.#scopesOf(q)) {
          const stored = found.get(storeKey(scope, q.key));
          if (!stored) continue;
          if (stored.backend !== this.deps.backend.kind) {
            // The installation changed backends: this version's value is in another system.
            return {
              refId: q.refId,
              found: false,
              code: 'secret.backend_mismatch',
              message: `secret ${q.key} in ${scope} version ${stored.version} lives in the ${stored.backend} backend, but this catalog uses ${this.deps.backend.kind}: put the secret again`,
            };
          }
          try {
            const value = await readOnce(scope, q.key, stored.version, stored.ref);
            if (!value) {
              return {
                refId: q.refId,
                found: false,
                code: 'secret.value_missing',
                message: `secret ${q.key} in ${scope} version ${stored.version} has no value in the ${this.deps.backend.kind} backend`,
              };
            }
            const shadowed = SecretService.#shadowsGlobal(q, scope, found);
            return {
              refId: q.refId,
              found: true,
              scope,
              version: stored.version,
              value,
              ...(shadowed ? { shadowedGlobal: true } : {}),
            };
          } catch (err) {
            if (err instanceof LatchkeyError && err.retryable) throw err;
            const code = err instanceof LatchkeyError ? err.code : 'crypto.error';
            return {
              refId: q.refId,
              found: false,
              code,
              message: `secret ${q.key} in ${scope} cannot be decrypted (${code})`,
            };
          }
        }
        return SecretService.#notFound(q);
      }),
    );
  }
}
