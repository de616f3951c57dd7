import { invalidArgument, LatchkeyError, notFound } from '@latchkey/errors';
import { authorize, type Authorizer } from '@latchkey/grpc';
import type { Dependents, SecretStore, VaultIntegrationRepo, VaultSources } from './ports.js';
import { scopeOf, validateKey, type ScopeInput } from './secret-service.js';
import { GLOBAL, type SecretMeta } from './secret-types.js';

export interface SelectorEntry {
  key: string;
  sourceType: 'MANAGED' | 'VAULT';
  /** MANAGED: the backend (database | kubernetes | vault); VAULT: ''. */
  backend: string;
  /** MANAGED: the domain or `global`; VAULT: the integration id. */
  sourceId: string;
  integrationName: string;
  readOnly: boolean;
}

export interface SelectorSourceStatus {
  source: string;
  available: boolean;
  reason: string;
}

export interface SelectorPage {
  entries: SelectorEntry[];
  sources: SelectorSourceStatus[];
  nextPageToken: string;
}

export interface InventoryEntry {
  secret: SecretMeta;
  workloadCount: number;
  /** Filled only when asked for one key (`--used-by`). */
  workloads: string[];
  unreferenced: boolean;
}

export interface CatalogViewDeps {
  store: Pick<SecretStore, 'list'>;
  integrations: Pick<VaultIntegrationRepo, 'list'>;
  sources: VaultSources;
  dependents: Dependents;
  authorizer: Authorizer;
  /** The managed backend's kind, shown on managed entries. */
  backend: string;
  /** How long one integration may take to list its keys; default 5000 ms. */
  listTimeoutMs?: number;
}

const DEFAULT_PAGE = 1000;
const MAX_PAGE = 5000;

function decodePageToken(token: string): number {
  if (token === '') return 0;
  const m = /^o(\d{1,9})$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
  if (!m) {
    throw invalidArgument(
      'selector.invalid_page_token',
      'the page token is not one this selector gave out: start again without it',
    );
  }
  return Number(m[1]);
}

const encodePageToken = (offset: number) => Buffer.from(`o${offset}`, 'utf8').toString('base64url');

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new LatchkeyError('vault.timeout', `${what} did not answer within ${Math.round(ms / 100) / 10} s`, {
            kind: 'unavailable',
          }),
        ),
      ms,
    );
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * What a person sees when choosing or reviewing secrets: the selector (every
 * key a workload of the domain could reference, from every backend) and the
 * inventory (metadata with who references what). Never a value.
 */
export class CatalogViewService {
  constructor(private readonly deps: CatalogViewDeps) {}

  async selector(principal: string, domain: string, pageSize: number, pageToken: string): Promise<SelectorPage> {
    const scope = scopeOf({ domain, global: false });
    if (pageSize < 0 || pageSize > MAX_PAGE) {
      throw invalidArgument(
        'selector.invalid_page_size',
        `page size must be 0 (default ${DEFAULT_PAGE}) to ${MAX_PAGE}`,
      );
    }
    const offset = decodePageToken(pageToken);
    await authorize(this.deps.authorizer, { principal, action: 'secret.list', domain: scope });
    const sources: SelectorSourceStatus[] = [];
    const managed = (metas: SecretMeta[], readOnly: boolean): SelectorEntry[] =>
      metas.map((m) => ({
        key: m.key,
        sourceType: 'MANAGED',
        backend: this.deps.backend,
        sourceId: m.scope,
        integrationName: '',
        readOnly,
      }));
    const [own, global, integrations] = await Promise.all([
      this.deps.store.list(scope),
      this.deps.store.list(GLOBAL),
      this.deps.integrations.list(scope),
    ]);
    // A Vault integration's keys are listed only to those with USE on its bundle.
    const usable = await this.deps.authorizer.checkBatch(
      integrations.map((i) => ({ principal, action: 'bundle.use', domain: scope, resource: i.bundle })),
    );
    const visible = integrations.filter((_, n) => usable[n]?.allowed === true);
    sources.push({ source: `managed:${scope}`, available: true, reason: '' });
    sources.push({ source: 'managed:global', available: true, reason: '' });
    const timeout = this.deps.listTimeoutMs ?? 5000;
    const vaultLists = await Promise.all(
      visible.map(async (i): Promise<SelectorEntry[]> => {
        const label = `vault:${i.name}`;
        try {
          const source = await this.deps.sources.forIntegration(i);
          const keys = await withTimeout(source.listKeys(), timeout, `Vault integration ${i.name}`);
          sources.push({ source: label, available: true, reason: '' });
          return keys.sort().map((key) => ({
            key,
            sourceType: 'VAULT',
            backend: '',
            sourceId: i.id,
            integrationName: i.name,
            readOnly: true,
          }));
        } catch (err) {
          const reason =
            err instanceof LatchkeyError ? `${err.code}: ${err.message}` : 'unexpected failure listing keys';
          sources.push({ source: label, available: false, reason });
          return [];
        }
      }),
    );
    const all = [...managed(own, false), ...managed(global, true), ...vaultLists.flat()];
    const size = pageSize === 0 ? DEFAULT_PAGE : pageSize;
    const entries = all.slice(offset, offset + size);
    return {
      entries,
      sources: sources.sort((a, b) => a.source.localeCompare(b.source)),
      nextPageToken: offset + size < all.length ? encodePageToken(offset + size) : '',
    };
  }

  async inventory(principal: string, scopeInput: ScopeInput | undefined, usedByKey: string): Promise<InventoryEntry[]> {
    const scope = scopeOf(scopeInput);
    if (usedByKey !== '') validateKey(usedByKey);
    await authorize(this.deps.authorizer, { principal, action: 'secret.list', domain: scope });
    let secrets = await this.deps.store.list(scope);
    if (usedByKey !== '') {
      secrets = secrets.filter((s) => s.key === usedByKey);
      if (secrets.length === 0) {
        throw notFound(
          'secret.not_found',
          `secret ${usedByKey} not found in ${scope === GLOBAL ? 'global scope' : `domain ${scope}`}`,
        );
      }
    }
    const used = await this.deps.dependents.of('MANAGED', scope, usedByKey === '' ? [] : [usedByKey]);
    return secrets.map((secret) => {
      const workloads = used.get(secret.key) ?? [];
      return {
        secret,
        workloadCount: workloads.length,
        workloads: usedByKey === '' ? [] : workloads,
        unreferenced: workloads.length === 0,
      };
    });
  }
}
