import { invalidArgument, LatchkeyError, notFound } from '@latchkey/errors';
import { authorize, type Authorizer } from '@latchkey/authz';
import type { Dependents, SecretStore, VaultIntegrationRepo, VaultSources } from '../ports.js';
import { rotationDueAt } from '../rotation/rotation-policy.js';
import { scopeOf, validateKey, type ScopeInput } from '../secrets/secret-service.js';
import { GLOBAL, type SecretMeta } from '../secrets/secret-types.js';
import { INTEGRATION_ID, type VaultIntegrationRecord } from '../vault/vault-integration-types.js';
import { VaultKeyListings, type VaultKeyListing } from './vault-key-listings.js';

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
  /** The current version is at least as old as the rotation policy allows. */
  rotationDue: boolean;
  /** When the current version is (or was) due; undefined without a rotation policy. */
  rotationDueAt: Date | undefined;
}

export interface CatalogViewDeps {
  store: Pick<SecretStore, 'list' | 'listKeys'>;
  integrations: Pick<VaultIntegrationRepo, 'list'>;
  sources: VaultSources;
  dependents: Dependents;
  authorizer: Authorizer;
  /** The managed backend's kind, shown on managed entries. */
  backend: string;
  /** How long one integration may take to list its keys; default 5000 ms. */
  listTimeoutMs?: number;
  /** The Vault listings a selector's following pages reuse; default: a cache of its own. */
  listings?: VaultKeyListings;
  /** The time the inventory's due state is judged at; default: the clock. */
  now?: () => Date;
}

const DEFAULT_PAGE = 1000;
const MAX_PAGE = 5000;

/**
 * The selector's order: the domain's keys, then global keys (each in the
 * store's key order), then each visible Vault integration's keys (by
 * integration name, then id; keys in code-unit order).
 */
const Part = { Own: 0, Global: 1, Vault: 2 } as const;
type Part = (typeof Part)[keyof typeof Part];

/**
 * Where the next page starts: after this entry. A position, not an offset, so
 * that each page costs its own size and keys added or removed between pages
 * never make another key appear twice or not at all.
 */
interface Cursor {
  domain: string;
  part: Part;
  /** Part.Vault: the integration the key belongs to. */
  integrationName: string;
  integrationId: string;
  key: string;
}

const MAX_TOKEN_LENGTH = 4096;

function invalidToken(why: string): LatchkeyError {
  return invalidArgument(
    'selector.invalid_page_token',
    `the page token is not one this selector gave out (${why}): start again without it`,
  );
}

function decodePageToken(token: string, domain: string): Cursor | undefined {
  if (token === '') return undefined;
  if (token.length > MAX_TOKEN_LENGTH) throw invalidToken('too long');
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw invalidToken('not readable');
  }
  if (typeof raw !== 'object' || raw === null) throw invalidToken('not readable');
  const t = raw as Record<string, unknown>;
  const part = t['p'];
  const key = t['k'];
  const name = t['n'] ?? '';
  const id = t['i'] ?? '';
  if (
    t['v'] !== 1 ||
    typeof t['d'] !== 'string' ||
    (part !== Part.Own && part !== Part.Global && part !== Part.Vault) ||
    typeof key !== 'string' ||
    key === '' ||
    typeof name !== 'string' ||
    typeof id !== 'string' ||
    (part === Part.Vault ? name === '' || !INTEGRATION_ID.test(id) : name !== '' || id !== '')
  ) {
    throw invalidToken('not readable');
  }
  if (t['d'] !== domain) {
    throw invalidArgument(
      'selector.invalid_page_token',
      `the page token continues the selector of domain ${JSON.stringify(t['d'].slice(0, 80))}, not ${domain}: start again without it, or ask for that domain`,
    );
  }
  return { domain, part, integrationName: name, integrationId: id, key };
}

function encodePageToken(c: Cursor): string {
  const body =
    c.part === Part.Vault
      ? { v: 1, d: c.domain, p: c.part, n: c.integrationName, i: c.integrationId, k: c.key }
      : { v: 1, d: c.domain, p: c.part, k: c.key };
  return Buffer.from(JSON.stringify(body), 'utf8').toString('base64url');
}

/** Code-unit order, the order of Array.prototype.sort() (Vault keys, integration names). */
const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const compareIntegrations = (a: { name: string; id: string }, b: { name: string; id: string }): number =>
  compare(a.name, b.name) || compare(a.id, b.id);

/** The index of the first of the sorted `keys` after `key`. */
function indexAfter(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

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
  readonly #listings: VaultKeyListings;

  constructor(private readonly deps: CatalogViewDeps) {
    this.#listings = deps.listings ?? new VaultKeyListings();
  }

  async selector(principal: string, domain: string, pageSize: number, pageToken: string): Promise<SelectorPage> {
    const scope = scopeOf({ domain, global: false });
    if (pageSize < 0 || pageSize > MAX_PAGE) {
      throw invalidArgument(
        'selector.invalid_page_size',
        `page size must be 0 (default ${DEFAULT_PAGE}) to ${MAX_PAGE}`,
      );
    }
    const cursor = decodePageToken(pageToken, scope);
    await authorize(this.deps.authorizer, { principal, action: 'secret.list', domain: scope });
    const integrations = await this.deps.integrations.list(scope);
    // A Vault integration's keys are listed only to those with USE on its bundle.
    const usable = await this.deps.authorizer.checkBatch(
      integrations.map((i) => ({ principal, action: 'bundle.use', domain: scope, resource: i.bundle })),
    );
    const visible = integrations.filter((_, n) => usable[n]?.allowed === true).sort(compareIntegrations);
    // Vault lists a path's keys only all at once: the first page lists each
    // integration afresh, the following ones reuse that listing when this
    // replica still holds it. Meanwhile, the managed part of the page.
    const listings = Promise.all(visible.map((i) => this.#vaultKeys(i, cursor !== undefined)));

    const size = pageSize === 0 ? DEFAULT_PAGE : pageSize;
    // One entry more than the page: whether there is a next page.
    const want = size + 1;
    const page: { entry: SelectorEntry; part: Part }[] = [];
    const managedPart = async (part: typeof Part.Own | typeof Part.Global, from: string) => {
      if (page.length >= want || (cursor !== undefined && cursor.part > part)) return;
      const after = cursor?.part === part ? cursor.key : undefined;
      for (const key of await this.deps.store.listKeys(from, after, want - page.length)) {
        page.push({
          part,
          entry: {
            key,
            sourceType: 'MANAGED',
            backend: this.deps.backend,
            sourceId: from,
            integrationName: '',
            readOnly: part === Part.Global,
          },
        });
      }
    };
    // (#vaultKeys never rejects: a failing integration is a source that says why.)
    await managedPart(Part.Own, scope);
    await managedPart(Part.Global, GLOBAL);

    const sources: SelectorSourceStatus[] = [
      { source: `managed:${scope}`, available: true, reason: '' },
      { source: 'managed:global', available: true, reason: '' },
    ];
    const lists = await listings;
    visible.forEach((i, n) => {
      const listing = lists[n]!;
      sources.push({ source: `vault:${i.name}`, available: listing.ok, reason: listing.ok ? '' : listing.reason });
      if (!listing.ok || page.length >= want) return;
      let start = 0;
      if (cursor?.part === Part.Vault) {
        const c = compareIntegrations(i, { name: cursor.integrationName, id: cursor.integrationId });
        if (c < 0) return;
        if (c === 0) start = indexAfter(listing.keys, cursor.key);
      }
      const end = Math.min(listing.keys.length, start + (want - page.length));
      for (let k = start; k < end; k++) {
        page.push({
          part: Part.Vault,
          entry: {
            key: listing.keys[k]!,
            sourceType: 'VAULT',
            backend: '',
            sourceId: i.id,
            integrationName: i.name,
            readOnly: true,
          },
        });
      }
    });

    const last = page.length > size ? page[size - 1] : undefined;
    return {
      entries: page.slice(0, size).map((p) => p.entry),
      sources: sources.sort((a, b) => a.source.localeCompare(b.source)),
      nextPageToken: last
        ? encodePageToken({
            domain: scope,
            part: last.part,
            integrationName: last.part === Part.Vault ? last.entry.integrationName : '',
            integrationId: last.part === Part.Vault ? last.entry.sourceId : '',
            key: last.entry.key,
          })
        : '',
    };
  }

  /** One integration's keys, sorted: from the listing a previous page made, or listed now. */
  async #vaultKeys(i: VaultIntegrationRecord, continuing: boolean): Promise<VaultKeyListing> {
    if (continuing) {
      const held = this.#listings.get(i.id, i.updatedAt);
      if (held) return held;
    }
    let listing: VaultKeyListing;
    try {
      const source = await this.deps.sources.forIntegration(i);
      const keys = await withTimeout(source.listKeys(), this.deps.listTimeoutMs ?? 5000, `Vault integration ${i.name}`);
      listing = { ok: true, keys: [...new Set(keys)].sort() };
    } catch (err) {
      const reason = err instanceof LatchkeyError ? `${err.code}: ${err.message}` : 'unexpected failure listing keys';
      listing = { ok: false, reason };
    }
    this.#listings.set(i.id, i.updatedAt, listing);
    return listing;
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
    const now = (this.deps.now ?? (() => new Date()))();
    return secrets.map((secret) => {
      const workloads = used.get(secret.key) ?? [];
      const dueAt =
        secret.rotateEverySeconds === null
          ? undefined
          : rotationDueAt(secret.versionCreatedAt, secret.rotateEverySeconds);
      return {
        secret,
        workloadCount: workloads.length,
        workloads: usedByKey === '' ? [] : workloads,
        unreferenced: workloads.length === 0,
        rotationDue: dueAt !== undefined && dueAt.getTime() <= now.getTime(),
        rotationDueAt: dueAt,
      };
    });
  }
}
