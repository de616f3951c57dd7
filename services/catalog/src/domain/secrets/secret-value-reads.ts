import { invalidArgument, LatchkeyError } from '@latchkey/errors';
import { auditRecord, DOMAIN_NAME, GLOBAL_SCOPE, SECRET_KEY } from '@latchkey/events';
import {
  storeKey,
  type SecretStore,
  type StoredValue,
  type VaultIntegrationRepo,
  type VaultSources,
} from '../ports.js';
import type { ValueBackend } from '../value-backend.js';
import type { LeaseIssueDeps } from '../vault/vault-lease-issue.js';
import { findVaultKeys, readVaultValues } from '../vault/vault-value-reader.js';
import {
  auditUnavailable,
  backendMismatchAnswer,
  noVaultAnswer,
  secretDeletedAnswer,
  secretNotFoundAnswer,
  undecryptableAnswer,
  valueMissingAnswer,
  versionDisabledAnswer,
  type MissingAnswer,
} from './secret-errors.js';
import type { KeyAnswer, ScopeName, ValueAnswer, ValueQuery } from './secret-types.js';

export interface SecretValueReadsDeps {
  store: Pick<SecretStore, 'readCurrent' | 'recordReads'>;
  backend: ValueBackend;
  logger?: { warn(msg: string, fields?: Record<string, unknown>): void };
  /** Called after the read's audit records were written (kicks the outbox relay). */
  onChange: () => void;
  vault?: { repo: Pick<VaultIntegrationRepo, 'byIds'>; sources: VaultSources; leases?: LeaseIssueDeps };
  auditFailClosed?: boolean;
}

/** Who asked for an internal value read: the calling service, and its request. */
export interface ValueReader {
  actor: string;
  requestId: string;
  /** The deployment the values are for: Vault dynamic credentials are leased to it. */
  deploymentId?: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const scopesOf = (q: ValueQuery): ScopeName[] =>
  q.fallbackToGlobal && q.scope !== GLOBAL_SCOPE ? [q.scope, GLOBAL_SCOPE] : [q.scope];

/** The first scope of the query that holds the key (a deleted secret holds nothing). */
function answering(q: ValueQuery, found: Map<string, StoredValue>): (StoredValue & { scope: ScopeName }) | undefined {
  for (const scope of scopesOf(q)) {
    const stored = found.get(storeKey(scope, q.key));
    if (stored && stored.recoverUntil === undefined) return { ...stored, scope };
  }
  return undefined;
}

/** A legacy read the domain answers while global scope has the key too. */
const shadowsGlobal = (q: ValueQuery, answered: ScopeName, found: Map<string, StoredValue>): boolean =>
  q.fallbackToGlobal &&
  answered !== GLOBAL_SCOPE &&
  found.get(storeKey(GLOBAL_SCOPE, q.key))?.recoverUntil === undefined &&
  found.has(storeKey(GLOBAL_SCOPE, q.key));

/**
 * Why no scope answers: a deleted secret still in its window (`secret.deleted`
 * and when its values are destroyed), else not found.
 */
function notFoundAnswer(q: ValueQuery, found: Map<string, StoredValue>): MissingAnswer {
  for (const scope of scopesOf(q)) {
    const until = found.get(storeKey(scope, q.key))?.recoverUntil;
    if (until !== undefined) return secretDeletedAnswer(q.refId, q.key, scope, until);
  }
  return secretNotFoundAnswer(q.refId, q.key, scopesOf(q));
}

/**
 * Reads of referenced values and keys (the resolver's internal calls), from
 * the managed backend and read-only Vault integrations alike, and the audit
 * record of each value read.
 */
export class SecretValueReads {
  constructor(private readonly deps: SecretValueReadsDeps) {}

  async readValues(queries: ValueQuery[], reader?: ValueReader): Promise<ValueAnswer[]> {
    const deploymentId = reader?.deploymentId;
    if (deploymentId !== undefined && !UUID.test(deploymentId)) {
      throw invalidArgument(
        'secret.invalid_deployment_id',
        `deployment_id ${JSON.stringify(deploymentId.slice(0, 60))} is not a deployment id (a UUID); leave it empty outside a deployment`,
      );
    }
    const vaultQueries = queries.filter((q) => q.sourceType === 'VAULT');
    const managed = queries.filter((q) => q.sourceType !== 'VAULT');
    const [vaultAnswers, managedAnswers] = await Promise.all([
      vaultQueries.length === 0
        ? []
        : this.deps.vault
          ? readVaultValues(this.deps.vault, vaultQueries, deploymentId)
          : vaultQueries.map((q): ValueAnswer => noVaultAnswer(q.refId, q.key)),
      this.#readManaged(managed),
    ]);
    const answers = [...managedAnswers, ...vaultAnswers];
    if (reader) await this.#recordRead(queries, answers, reader);
    return answers;
  }

  async findKeys(queries: ValueQuery[]): Promise<KeyAnswer[]> {
    const vaultQueries = queries.filter((q) => q.sourceType === 'VAULT');
    const managed = queries.filter((q) => q.sourceType !== 'VAULT');
    const found = await this.#currentMetadata(managed);
    const managedAnswers = managed.map((q): KeyAnswer => {
      const hit = answering(q, found);
      if (!hit) return notFoundAnswer(q, found);
      if (hit.disabled) return versionDisabledAnswer(q.refId, q.key, hit.scope, hit.version);
      const shadowed = shadowsGlobal(q, hit.scope, found);
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
          : vaultQueries.map((q): KeyAnswer => noVaultAnswer(q.refId, q.key));
    return [...managedAnswers, ...vaultAnswers];
  }

  async #recordRead(queries: ValueQuery[], answers: ValueAnswer[], reader: ValueReader): Promise<void> {
    const byRef = new Map(queries.map((q) => [q.refId, q]));
    // One record per domain read from (global scope on its own), all in one insert.
    const read = new Map<string, string[]>();
    for (const a of answers) {
      if (!a.found) continue;
      const q = byRef.get(a.refId);
      const domain = a.scope === GLOBAL_SCOPE ? GLOBAL_SCOPE : (q?.scope ?? GLOBAL_SCOPE);
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
      throw auditUnavailable(err);
    }
  }

  #currentMetadata(queries: ValueQuery[]) {
    const wanted: { scope: ScopeName; key: string }[] = [];
    for (const q of queries) {
      if (!SECRET_KEY.test(q.key) || (q.scope !== GLOBAL_SCOPE && !DOMAIN_NAME.test(q.scope))) continue;
      wanted.push({ scope: q.scope, key: q.key });
      if (q.fallbackToGlobal && q.scope !== GLOBAL_SCOPE) wanted.push({ scope: GLOBAL_SCOPE, key: q.key });
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
        const hit = answering(q, found);
        if (!hit) return notFoundAnswer(q, found);
        const { scope, version } = hit;
        // A disabled version is never read.
        if (hit.disabled) return versionDisabledAnswer(q.refId, q.key, scope, version);
        const kind = this.deps.backend.kind;
        if (hit.backend !== kind) return backendMismatchAnswer(q.refId, { ...hit, key: q.key }, kind);
        try {
          const value = await readOnce(scope, q.key, version, hit.ref);
          if (!value) return valueMissingAnswer(q.refId, { key: q.key, scope, version }, kind);
          const shadowed = shadowsGlobal(q, scope, found);
          return { refId: q.refId, found: true, scope, version, value, ...(shadowed ? { shadowedGlobal: true } : {}) };
        } catch (err) {
          if (err instanceof LatchkeyError && err.retryable) throw err;
          return undecryptableAnswer(q.refId, q.key, scope, err instanceof LatchkeyError ? err.code : 'crypto.error');
        }
      }),
    );
  }
}
