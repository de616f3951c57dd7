import { LatchkeyError } from '@latchkey/errors';
import { GLOBAL_SCOPE } from '@latchkey/events';
import { authorize, type Authorizer } from '@latchkey/authz';
import type { Dependents, SecretStore, VaultIntegrationRepo, VaultSources } from '../ports.js';
import { rotationDueAt } from '../rotation/rotation-policy.js';
import { secretNotFound } from '../secrets/secret-errors.js';
import { scopeOf, validateKey, type ScopeInput } from '../secrets/secret-scope.js';
import type { SecretMeta } from '../secrets/secret-types.js';
import type { VaultIntegrationRecord } from '../vault/vault-integration-types.js';
import { invalidPageSize, listingTimedOut } from './selector-errors.js';
import { decodePageToken, encodePageToken, Part, type Cursor } from './selector-page-token.js';
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
    timer = setTimeout(() => reject(listingTimedOut(what, ms)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** A page being filled: `want` entries at most (one more than the page, to tell whether a next one exists). */
interface PageFill {
  cursor: Cursor | undefined;
  want: number;
  entries: { entry: SelectorEntry; part: Part }[];
}

const vaultEntry = (i: VaultIntegrationRecord, key: string): SelectorEntry => ({
  key,
  sourceType: 'VAULT',
  backend: '',
  sourceId: i.id,
  integrationName: i.name,
  readOnly: true,
});

/** Adds one integration's keys (those after the cursor) to the page. */
function addVaultKeys(page: PageFill, i: VaultIntegrationRecord, keys: readonly string[]): void {
  if (page.entries.length >= page.want) return;
  let start = 0;
  const { cursor } = page;
  if (cursor?.part === Part.Vault) {
    const c = compareIntegrations(i, { name: cursor.integrationName, id: cursor.integrationId });
    if (c < 0) return;
    if (c === 0) start = indexAfter(keys, cursor.key);
  }
  const end = Math.min(keys.length, start + (page.want - page.entries.length));
  for (let k = start; k < end; k++) page.entries.push({ part: Part.Vault, entry: vaultEntry(i, keys[k]!) });
}

/** The token of the page after `size` entries; '' when there is none. */
function nextPageToken(page: PageFill, domain: string, size: number): string {
  const last = page.entries.length > size ? page.entries[size - 1] : undefined;
  if (!last) return '';
  const vault = last.part === Part.Vault;
  return encodePageToken({
    domain,
    part: last.part,
    integrationName: vault ? last.entry.integrationName : '',
    integrationId: vault ? last.entry.sourceId : '',
    key: last.entry.key,
  });
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
    if (pageSize < 0 || pageSize > MAX_PAGE) throw invalidPageSize(DEFAULT_PAGE, MAX_PAGE);
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
    // (#vaultKeys never rejects: a failing integration is a source that says why.)
    const listings = Promise.all(visible.map((i) => this.#vaultKeys(i, cursor !== undefined)));

    const size = pageSize === 0 ? DEFAULT_PAGE : pageSize;
    const page: PageFill = { cursor, want: size + 1, entries: [] };
    await this.#addManagedKeys(page, Part.Own, scope);
    await this.#addManagedKeys(page, Part.Global, GLOBAL_SCOPE);

    const sources: SelectorSourceStatus[] = [
      { source: `managed:${scope}`, available: true, reason: '' },
      { source: 'managed:global', available: true, reason: '' },
    ];
    const lists = await listings;
    visible.forEach((i, n) => {
      const listing = lists[n]!;
      sources.push({ source: `vault:${i.name}`, available: listing.ok, reason: listing.ok ? '' : listing.reason });
      if (listing.ok) addVaultKeys(page, i, listing.keys);
    });
    return {
      entries: page.entries.slice(0, size).map((p) => p.entry),
      sources: sources.sort((a, b) => a.source.localeCompare(b.source)),
      nextPageToken: nextPageToken(page, scope, size),
    };
  }

  /** Adds the keys of a managed scope (those after the cursor) to the page. */
  async #addManagedKeys(page: PageFill, part: typeof Part.Own | typeof Part.Global, from: string): Promise<void> {
    const { cursor } = page;
    if (page.entries.length >= page.want || (cursor !== undefined && cursor.part > part)) return;
    const after = cursor?.part === part ? cursor.key : undefined;
    for (const key of await this.deps.store.listKeys(from, after, page.want - page.entries.length)) {
      page.entries.push({
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
      if (secrets.length === 0) throw secretNotFound(usedByKey, scope);
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
