/**
 * The world the Vault integration suites share: a test PostgreSQL and a Vault
 * emulator per file, and per test a fresh catalog database with the
 * integration repository, connections to the emulator, a faked deployer
 * index and the services over them.
 */
import { randomUUID } from 'node:crypto';
import { after, before, type TestContext } from 'node:test';
import type { Pool } from '@latchkey/db';
import type { SecretChanged } from '@latchkey/events';
import type { Authorizer, Decision } from '@latchkey/authz';
import {
  ALLOW,
  deny,
  FakeAuthorizer,
  acquireTestPostgres,
  startVaultEmulator,
  type TestPostgres,
  type VaultEmulator,
} from '@latchkey/testing';
import type { KekRing } from '../src/adapters/kek-ring.js';
import { postgresExclusive } from '../src/adapters/postgres-exclusive.js';
import { PostgresVaultIntegrationRepo } from '../src/adapters/postgres-vault-integration-repo.js';
import { PostgresVaultLeaseRepo } from '../src/adapters/postgres-vault-lease-repo.js';
import { CachedVaultSources } from '../src/adapters/vault-sources.js';
import { VaultHostPolicy } from '../src/adapters/vault-host-policy.js';
import type { Bundles, Dependents } from '../src/domain/ports.js';
import { SecretService } from '../src/domain/secrets/secret-service.js';
import { CatalogViewService } from '../src/domain/views/catalog-view-service.js';
import { VaultIntegrationService, type RawVaultSettings } from '../src/domain/vault/vault-integration-service.js';
import { VaultVersionWatch } from '../src/domain/vault/vault-version-watch.js';
import { databaseCatalog, outboxRows, quiet } from './support.js';

export { ALLOW } from '@latchkey/testing';
export const DENY: Decision = deny('bob may not do that here');

let postgres: TestPostgres;
/** The file's Vault emulator (a live binding: set once its suite started). */
export let vault: VaultEmulator;
let unique = 0;

/**
 * Starts the file's PostgreSQL and Vault emulator before its tests, stops them
 * after. `tls`: the emulator serves https, and the world's connections trust its CA only.
 */
export function useVaultWorld(opts: { tls?: boolean } = {}): void {
  before(async () => {
    [postgres, vault] = await Promise.all([
      acquireTestPostgres(),
      startVaultEmulator(opts.tls === true ? { tls: true } : {}),
    ]);
  });
  after(async () => {
    await Promise.all([postgres?.stop(), vault?.stop()]);
  });
}

/** The deployer's index, faked: tests set what references what. */
export class FakeDependents implements Dependents {
  refs = new Map<string, string[]>();
  deployed: { integrationId: string; key: string; version: number }[] = [];
  async of(sourceType: string, sourceId: string, keys: string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    for (const [k, w] of this.refs) {
      const [t, id, key] = k.split('|') as [string, string, string];
      if (t === sourceType && id === sourceId && (keys.length === 0 || keys.includes(key))) out.set(key, w);
    }
    return out;
  }
  /** What the delete protocol asked, in order: `begin <type>|<id>|<keys> force=<f>`, `end <id>`. */
  readonly calls: string[] = [];
  /** Runs right after a check fenced its keys: what happens between the check and the delete. */
  betweenCheckAndDelete: (() => Promise<void>) | undefined;
  /** Fences that stand, by id: the deployer's refusal of a new reference to what they cover. */
  readonly fences = new Map<string, { sourceType: string; sourceId: string; keys: string[] }>();
  async beginDeletion(sourceType: string, sourceId: string, keys: string[], force: boolean) {
    this.calls.push(`begin ${sourceType}|${sourceId}|${keys.join(',')} force=${force}`);
    const dependents = await this.of(sourceType, sourceId, keys);
    if (dependents.size > 0 && !force) return { deletionId: undefined, dependents };
    const deletionId = randomUUID();
    this.fences.set(deletionId, { sourceType, sourceId, keys });
    await this.betweenCheckAndDelete?.();
    return { deletionId, dependents };
  }
  async endDeletion(deletionId: string) {
    this.calls.push(`end ${deletionId}`);
    this.fences.delete(deletionId);
  }
  async deployedVaultKeys() {
    return this.deployed;
  }
}

export const bundlesIn = (names: string[]): Bundles => ({ exists: async (d, n) => names.includes(`${d}/${n}`) });

/**
 * ras, as far as integrations go: everyone named in `roles` holds a role in
 * analytics (LIST_SECRETS); `grants` says who holds which permission on which
 * bundle ("vic": ["VIEW team-vault"]). Denials read like ras's, from the question alone.
 */
export function bundleGrants(roles: string[], grants: Record<string, string[]>): FakeAuthorizer {
  const needs: Record<string, string[]> = {
    'bundle.view': ['VIEW', 'UPDATE'],
    'bundle.update': ['UPDATE'],
    'bundle.use': ['USE'],
  };
  return new FakeAuthorizer((q) => {
    const where = `in domain ${q.domain}`;
    if (!roles.includes(q.principal) || q.domain !== 'analytics') {
      return { allowed: false, code: 'ras.permission_denied', reason: `${q.principal} may not ${q.action} ${where}` };
    }
    const anyOf = needs[q.action];
    // alice creates the integrations (MANAGE_VAULT).
    if (anyOf === undefined)
      return q.action === 'secret.list' || (q.action === 'vault.manage' && q.principal === 'alice') ? ALLOW : DENY;
    const held = grants[q.principal] ?? [];
    return anyOf.some((p) => held.includes(`${p} ${q.resource ?? ''}`))
      ? ALLOW
      : {
          allowed: false,
          code: 'ras.permission_denied',
          reason: `${q.principal} may not ${q.action} on bundle ${q.resource ?? ''}`,
        };
  });
}

export interface World {
  pool: Pool;
  keks: KekRing;
  kekFile: string;
  repo: PostgresVaultIntegrationRepo;
  /** The leases of dynamic credentials that `secrets` records. */
  leases: PostgresVaultLeaseRepo;
  sources: CachedVaultSources;
  dependents: FakeDependents;
  integrations: VaultIntegrationService;
  secrets: SecretService;
  views: CatalogViewService;
  watch: () => VaultVersionWatch;
  base: string;
  token: string;
}

export async function world(t: TestContext, authorizer: Authorizer = new FakeAuthorizer()): Promise<World> {
  const { pool, keks, kekFile, store, backend } = await databaseCatalog(t, postgres, { prefix: 'vault_it' });
  const repo = new PostgresVaultIntegrationRepo(pool, keks);
  // The emulator runs on 127.0.0.1, which integrations may use only when the operator allows it.
  const sources = new CachedVaultSources({
    repo,
    timeoutMs: 3000,
    hostPolicy: new VaultHostPolicy({ allowed: '127.0.0.1' }),
    ...(vault.ca === undefined ? {} : { ca: vault.ca }),
  });
  const dependents = new FakeDependents();
  const leases = new PostgresVaultLeaseRepo(pool);
  const base = `team${++unique}`;
  const token = await vault.addToken([`secret/data/${base}`, `secret/metadata/${base}`]);
  return {
    pool,
    keks,
    kekFile,
    repo,
    leases,
    sources,
    dependents,
    base,
    token,
    integrations: new VaultIntegrationService({
      repo,
      sources,
      authorizer,
      bundles: bundlesIn(['analytics/team-vault', 'analytics/ops-vault', 'finance/fin-vault']),
      dependents,
      onChange: () => undefined,
    }),
    secrets: new SecretService({
      store,
      authorizer,
      backend,
      onChange: () => undefined,
      dependents,
      vault: { repo, sources, leases: { leases, logger: quiet } },
    }),
    views: new CatalogViewService({
      store,
      integrations: repo,
      sources,
      dependents,
      authorizer,
      backend: 'database',
      listTimeoutMs: 1000,
    }),
    watch: () =>
      new VaultVersionWatch({
        repo,
        sources,
        dependents,
        exclusive: postgresExclusive(pool),
        logger: quiet,
        onChange: () => undefined,
      }),
  };
}

export const settings = (w: World, over: Partial<RawVaultSettings> = {}): RawVaultSettings => ({
  host: vault.url,
  path: `/v1/secret/data/${w.base}`,
  namespace: '',
  authMethod: 'token',
  roleId: '',
  layout: '',
  credential: Buffer.from(w.token),
  ...over,
});

export async function create(w: World, name = 'team-vault', over: Partial<RawVaultSettings> = {}) {
  return w.integrations.create('alice', {
    domain: 'analytics',
    name,
    bundle: 'team-vault',
    settings: settings(w, over),
  });
}

/** Writes each value in turn as the next Vault version of `<base>/<key>` (key-value v2 {"value"}). */
export async function putVersions(w: World, key: string, ...values: string[]): Promise<void> {
  for (const value of values) await vault.putSecret('secret', `${w.base}/${key}`, { value });
}

export async function dump(pool: Pool): Promise<string> {
  const { rows } = await pool.query<{ t: string }>(
    `SELECT string_agg(row_to_json(x)::text, E'\\n') AS t FROM (
       SELECT 'vi' AS tbl, to_jsonb(v) AS r FROM vault_integrations v
       UNION ALL SELECT 'w', to_jsonb(w) FROM vault_watch w
       UNION ALL SELECT 'o', to_jsonb(o) FROM outbox o) x`,
  );
  return rows[0]?.t ?? '';
}

export const outboxEvents = (pool: Pool) => outboxRows<SecretChanged>(pool, 'latchkey.secret.changed.');

export const integrationCount = async (pool: Pool) =>
  (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM vault_integrations')).rows[0]?.n;
