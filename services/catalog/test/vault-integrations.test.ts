import { randomUUID } from 'node:crypto';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { after, before, describe, test, type TestContext } from 'node:test';
import { ensureKekFile } from '@latchkey/crypto';
import { createPool, migrate, type Pool } from '@latchkey/db';
import { LatchkeyError } from '@latchkey/errors';
import { ensureEventTables, type AuditRecord, type SecretChanged } from '@latchkey/events';
import type { AuthorizationQuestion, Authorizer, Decision } from '@latchkey/authz';
import {
  createTestDatabase,
  startTestPostgres,
  startVaultEmulator,
  type TestPostgres,
  type VaultEmulator,
} from '@latchkey/testing';
import { DatabaseValueBackend } from '../src/adapters/database-value-backend.js';
import { KekRing } from '../src/adapters/kek-ring.js';
import { rotateKek } from '../src/adapters/kek-rotation.js';
import { postgresExclusive } from '../src/adapters/postgres-exclusive.js';
import { PostgresSecretStore } from '../src/adapters/postgres-secret-store.js';
import { PostgresVaultIntegrationRepo } from '../src/adapters/postgres-vault-integration-repo.js';
import { CachedVaultSources } from '../src/adapters/vault-sources.js';
import { VaultHostPolicy } from '../src/adapters/vault-host-policy.js';
import type { Bundles, Dependents } from '../src/domain/ports.js';
import { SecretService } from '../src/domain/secrets/secret-service.js';
import { CatalogViewService } from '../src/domain/views/catalog-view-service.js';
import { VaultIntegrationService, type RawVaultSettings } from '../src/domain/vault/vault-integration-service.js';
import { VaultVersionWatch } from '../src/domain/vault/vault-version-watch.js';

const MIGRATIONS = fileURLToPath(new URL('../../migrations', import.meta.url));
const quiet = { info: () => undefined, warn: () => undefined };

let postgres: TestPostgres;
let vault: VaultEmulator;
let dbCount = 0;
let unique = 0;

before(async () => {
  [postgres, vault] = await Promise.all([startTestPostgres([]), startVaultEmulator()]);
});
after(async () => {
  await Promise.all([postgres?.stop(), vault?.stop()]);
});

class FakeAuthorizer implements Authorizer {
  readonly asked: AuthorizationQuestion[] = [];
  constructor(private readonly decide: (q: AuthorizationQuestion) => Decision) {}
  async check(q: AuthorizationQuestion): Promise<Decision> {
    this.asked.push(q);
    return this.decide(q);
  }
  async checkBatch(qs: AuthorizationQuestion[]): Promise<Decision[]> {
    return Promise.all(qs.map((q) => this.check(q)));
  }
}
const ALLOW: Decision = { allowed: true, code: '', reason: '' };
const DENY: Decision = { allowed: false, code: 'ras.permission_denied', reason: 'bob may not do that here' };

/** The deployer's index, faked: tests set what references what. */
class FakeDependents implements Dependents {
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

const bundlesIn = (names: string[]): Bundles => ({ exists: async (d, n) => names.includes(`${d}/${n}`) });

/**
 * ras, as far as integrations go: everyone named in `roles` holds a role in
 * analytics (LIST_SECRETS); `grants` says who holds which permission on which
 * bundle ("vic": ["VIEW team-vault"]). Denials read like ras's, from the question alone.
 */
function bundleGrants(roles: string[], grants: Record<string, string[]>): FakeAuthorizer {
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

interface World {
  pool: Pool;
  keks: KekRing;
  kekFile: string;
  repo: PostgresVaultIntegrationRepo;
  sources: CachedVaultSources;
  dependents: FakeDependents;
  integrations: VaultIntegrationService;
  secrets: SecretService;
  views: CatalogViewService;
  watch: () => VaultVersionWatch;
  base: string;
  token: string;
}

async function world(t: TestContext, authorizer: Authorizer = new FakeAuthorizer(() => ALLOW)): Promise<World> {
  const url = await createTestDatabase(postgres, `vault_it_${++dbCount}`);
  const pool = createPool(url, undefined, 10);
  t.after(() => pool.end());
  await ensureEventTables(pool);
  await migrate(pool, MIGRATIONS);
  const dir = await mkdtemp(join(tmpdir(), 'latchkey-vault-it-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const kekFile = join(dir, 'kek.json');
  await ensureKekFile(kekFile);
  const keks = await KekRing.load(kekFile);
  const repo = new PostgresVaultIntegrationRepo(pool, keks);
  // The emulator runs on 127.0.0.1, which integrations may use only when the operator allows it.
  const sources = new CachedVaultSources({
    repo,
    timeoutMs: 3000,
    hostPolicy: new VaultHostPolicy({ allowed: '127.0.0.1' }),
  });
  const dependents = new FakeDependents();
  const store = new PostgresSecretStore(pool);
  const backend = new DatabaseValueBackend(pool, keks);
  const base = `team${++unique}`;
  const token = await vault.addToken([`secret/data/${base}`, `secret/metadata/${base}`]);
  return {
    pool,
    keks,
    kekFile,
    repo,
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
      maxValueBytes: 65536,
      onChange: () => undefined,
      dependents,
      vault: { repo, sources },
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

const settings = (w: World, over: Partial<RawVaultSettings> = {}): RawVaultSettings => ({
  host: vault.url,
  path: `/v1/secret/data/${w.base}`,
  namespace: '',
  authMethod: 'token',
  roleId: '',
  layout: '',
  credential: Buffer.from(w.token),
  ...over,
});

async function create(w: World, name = 'team-vault', over: Partial<RawVaultSettings> = {}) {
  return w.integrations.create('alice', {
    domain: 'analytics',
    name,
    bundle: 'team-vault',
    settings: settings(w, over),
  });
}

async function rejection(p: Promise<unknown>): Promise<LatchkeyError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof LatchkeyError, `expected a LatchkeyError, got ${inspect(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}

async function dump(pool: Pool): Promise<string> {
  const { rows } = await pool.query<{ t: string }>(
    `SELECT string_agg(row_to_json(x)::text, E'\\n') AS t FROM (
       SELECT 'vi' AS tbl, to_jsonb(v) AS r FROM vault_integrations v
       UNION ALL SELECT 'w', to_jsonb(w) FROM vault_watch w
       UNION ALL SELECT 'o', to_jsonb(o) FROM outbox o) x`,
  );
  return rows[0]?.t ?? '';
}

async function outboxEvents(pool: Pool): Promise<{ id: string; subject: string; data: SecretChanged }[]> {
  const { rows } = await pool.query<{ id: string; subject: string; data: SecretChanged }>(
    "SELECT id, subject, data FROM outbox WHERE subject LIKE 'latchkey.secret.changed.%' ORDER BY seq",
  );
  return rows;
}

const integrationCount = async (pool: Pool) =>
  (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM vault_integrations')).rows[0]?.n;

describe('vault integrations: happy paths', () => {
  test('create stores the credential only encrypted; get and list never carry it', async (t) => {
    const w = await world(t);
    const created = await create(w);
    assert.match(created.id, /^[0-9a-f-]{36}$/);
    assert.equal(created.bundle, 'team-vault');
    assert.equal(created.layout, 'children');
    const got = await w.integrations.get('alice', 'analytics', 'team-vault');
    assert.deepEqual(await w.integrations.get('alice', 'analytics', created.id), got);
    const listed = await w.integrations.list('alice', 'analytics');
    assert.deepEqual(
      listed.map((i) => i.name),
      ['team-vault'],
    );
    for (const view of [JSON.stringify(created), JSON.stringify(got), JSON.stringify(listed), inspect(got)]) {
      assert.ok(!view.includes(w.token), 'the token is never returned');
    }
    const rows = await dump(w.pool);
    assert.ok(!rows.includes(w.token), 'the token is not in any row');
    assert.ok(!rows.includes(Buffer.from(w.token).toString('hex')), 'nor in hex');
    assert.equal((await w.repo.credential(created.id))?.toString(), w.token);
  });

  test('a VAULT reference reads the value and Vault version, one GET per distinct key', async (t) => {
    const w = await world(t);
    const i = await create(w);
    await vault.putSecret('secret', `${w.base}/db_password`, { value: 'canary-vault-1' });
    await vault.putSecret('secret', `${w.base}/db_password`, { value: 'canary-vault-2' });
    vault.clearRequests();
    const answers = await w.secrets.readValues([
      {
        refId: 'a',
        key: 'db_password',
        scope: 'analytics',
        fallbackToGlobal: false,
        sourceType: 'VAULT',
        integrationId: i.id,
      },
      {
        refId: 'b',
        key: 'db_password',
        scope: 'analytics',
        fallbackToGlobal: false,
        sourceType: 'VAULT',
        integrationId: i.id,
      },
      {
        refId: 'c',
        key: 'missing',
        scope: 'analytics',
        fallbackToGlobal: false,
        sourceType: 'VAULT',
        integrationId: i.id,
      },
    ]);
    const byRef = new Map(answers.map((a) => [a.refId, a]));
    const a = byRef.get('a');
    assert.ok(a?.found);
    assert.equal(a.value.toString(), 'canary-vault-2');
    assert.equal(a.version, 2);
    assert.equal(a.scope, i.id);
    assert.ok(byRef.get('b')?.found);
    const c = byRef.get('c');
    assert.ok(c && !c.found);
    assert.equal(c.code, 'vault.not_found');
    const gets = vault.requests().filter((r) => r.path.includes(`/data/${w.base}/db_password`));
    assert.equal(gets.length, 1, 'one read per distinct key');
  });

  test('findKeys answers whether Vault keys exist from one listing, without reading any value', async (t) => {
    const w = await world(t);
    const i = await create(w);
    await vault.putSecret('secret', `${w.base}/db_password`, { value: 'canary-vault-find' });
    await vault.putSecret('secret', `${w.base}/api_key`, { value: 'canary-vault-find-2' });
    vault.clearRequests();
    const q = (refId: string, key: string, scope = 'analytics', integrationId = i.id) => ({
      refId,
      key,
      scope,
      fallbackToGlobal: false,
      sourceType: 'VAULT' as const,
      integrationId,
    });
    const answers = await w.secrets.findKeys([
      q('a', 'db_password'),
      q('b', 'api_key'),
      q('c', 'missing'),
      q('d', 'k', 'finance'),
    ]);
    const byRef = new Map(answers.map((a) => [a.refId, a]));
    assert.deepEqual(byRef.get('a'), { refId: 'a', found: true, scope: i.id, version: 0 });
    assert.deepEqual(byRef.get('b'), { refId: 'b', found: true, scope: i.id, version: 0 });
    const c = byRef.get('c');
    assert.ok(c && !c.found);
    assert.equal(c.code, 'vault.not_found');
    assert.match(c.message, /has no key missing/);
    const d = byRef.get('d');
    assert.ok(d && !d.found);
    assert.equal(d.code, 'vault.integration_not_found', 'another domain learns nothing about the integration');
    const reads = vault.requests().filter((r) => r.path.includes('/data/'));
    assert.deepEqual(reads, [], 'no value was read');
    assert.ok(!JSON.stringify(answers).includes('canary-vault-find'));

    vault.seal(true);
    try {
      const [sealed] = await w.secrets.findKeys([q('e', 'db_password')]);
      assert.ok(sealed && !sealed.found);
      assert.equal(sealed.code, 'vault.sealed');
    } finally {
      vault.seal(false);
    }
  });

  test('an integration answers only for its own domain, the same way as a missing one', async (t) => {
    const w = await world(t);
    const i = await create(w);
    const [other, missing] = await w.secrets.readValues([
      { refId: 'x', key: 'k', scope: 'finance', fallbackToGlobal: false, sourceType: 'VAULT', integrationId: i.id },
      {
        refId: 'y',
        key: 'k',
        scope: 'finance',
        fallbackToGlobal: false,
        sourceType: 'VAULT',
        integrationId: '00000000-0000-4000-8000-000000000000',
      },
    ]);
    assert.ok(other && !other.found && missing && !missing.found);
    assert.equal(other.code, 'vault.integration_not_found');
    assert.equal(other.code, missing.code);
    assert.equal(
      other.message.replace(i.id, 'ID'),
      missing.message.replace('00000000-0000-4000-8000-000000000000', 'ID'),
    );
  });

  test('AppRole: concurrent and repeated reads share one login', async (t) => {
    const w = await world(t);
    const roleId = `role-${w.base}`;
    const secretId = `approle-secret-canary-${w.base}`;
    await vault.addAppRole(roleId, secretId, [`secret/data/${w.base}`, `secret/metadata/${w.base}`]);
    const i = await create(w, 'approle-vault', { authMethod: 'approle', roleId, credential: Buffer.from(secretId) });
    await vault.putSecret('secret', `${w.base}/k1`, { value: 'v1-value' });
    await vault.putSecret('secret', `${w.base}/k2`, { value: 'v2-value' });
    vault.clearRequests();
    const q = (refId: string, key: string) => ({
      refId,
      key,
      scope: 'analytics',
      fallbackToGlobal: false,
      sourceType: 'VAULT' as const,
      integrationId: i.id,
    });
    await Promise.all([w.secrets.readValues([q('a', 'k1')]), w.secrets.readValues([q('b', 'k2')])]);
    await w.secrets.readValues([q('a', 'k1'), q('b', 'k2')]);
    const logins = vault.requests().filter((r) => r.path.endsWith('/auth/approle/login'));
    assert.equal(logins.length, 1);
    assert.ok(!(await dump(w.pool)).includes(secretId));
  });

  test('Latchkey sends no write to an integration: only GETs and the AppRole login reach it', async (t) => {
    const w = await world(t);
    const roleId = `role-w-${w.base}`;
    await vault.addAppRole(roleId, 'sid-write-check', [`secret/data/${w.base}`, `secret/metadata/${w.base}`]);
    vault.clearRequests();
    const i = await create(w, 'rw-check', {
      authMethod: 'approle',
      roleId,
      credential: Buffer.from('sid-write-check'),
    });
    await vault.putSecret('secret', `${w.base}/k`, { value: 'some-value' });
    await w.integrations.test('alice', 'analytics', { integration: i.id });
    await w.views.selector('alice', 'analytics', 0, '');
    await w.secrets.readValues([
      { refId: 'a', key: 'k', scope: 'analytics', fallbackToGlobal: false, sourceType: 'VAULT', integrationId: i.id },
    ]);
    w.dependents.deployed = [{ integrationId: i.id, key: 'k', version: 1 }];
    await w.watch().pollOnce();
    await w.integrations.update('alice', 'analytics', i.id, { name: 'rw-check-2' });
    await w.integrations.delete('alice', 'analytics', i.id, true);
    const verbs = vault.requests().map((r) => `${r.method} ${r.path}`);
    assert.ok(verbs.length >= 4, `requests were made: ${verbs.join(', ')}`);
    for (const v of verbs) {
      assert.ok(v.startsWith('GET ') || v === 'POST /v1/auth/approle/login', `unexpected request ${v}`);
    }
  });

  test('update renames, moves the path and replaces the credential; the connection is rebuilt', async (t) => {
    const w = await world(t);
    const i = await create(w);
    const other = `${w.base}-b`;
    const token2 = await vault.addToken([`secret/data/${other}`, `secret/metadata/${other}`]);
    await vault.putSecret('secret', `${other}/k`, { value: 'moved-value' });
    const u = await w.integrations.update('alice', 'analytics', 'team-vault', {
      name: 'renamed',
      path: `/v1/secret/data/${other}`,
      credential: Buffer.from(token2),
    });
    assert.equal(u.name, 'renamed');
    assert.equal(u.id, i.id);
    assert.equal(u.updatedBy, 'alice');
    const [a] = await w.secrets.readValues([
      { refId: 'a', key: 'k', scope: 'analytics', fallbackToGlobal: false, sourceType: 'VAULT', integrationId: i.id },
    ]);
    assert.ok(a?.found);
    assert.equal(a.value.toString(), 'moved-value');
  });

  test('test reports ok with the number of keys, for saved and unsaved settings', async (t) => {
    const w = await world(t);
    await vault.putSecret('secret', `${w.base}/a`, { value: 'x1x1' });
    await vault.putSecret('secret', `${w.base}/b`, { value: 'x2x2' });
    await create(w);
    assert.deepEqual(await w.integrations.test('alice', 'analytics', { integration: 'team-vault' }), {
      outcome: 'ok',
      keys: 2,
    });
    assert.deepEqual(await w.integrations.test('alice', 'analytics', { settings: settings(w) }), {
      outcome: 'ok',
      keys: 2,
    });
    assert.equal(await integrationCount(w.pool), 1, 'testing unsaved settings saves nothing');
  });

  test('the fields layout reads each field of one secret as a key', async (t) => {
    const w = await world(t);
    await vault.putSecret('secret', `${w.base}/app`, { user: 'etl', password: 'fields-canary' });
    const i = await create(w, 'fields', { path: `/v1/secret/data/${w.base}/app`, layout: 'fields' });
    const page = await w.views.selector('alice', 'analytics', 0, '');
    assert.deepEqual(
      page.entries.filter((e) => e.sourceType === 'VAULT').map((e) => e.key),
      ['password', 'user'],
    );
    const [a] = await w.secrets.readValues([
      {
        refId: 'a',
        key: 'password',
        scope: 'analytics',
        fallbackToGlobal: false,
        sourceType: 'VAULT',
        integrationId: i.id,
      },
    ]);
    assert.ok(a?.found);
    assert.equal(a.value.toString(), 'fields-canary');
  });
});

describe('vault integrations: bad input changes nothing', () => {
  const cases: [string, (w: World) => Promise<unknown>, string, RegExp][] = [
    ['a bad name', (w) => create(w, 'bad name!'), 'vault.invalid_name', /1-63 letters/],
    [
      'a path that is not KV v2',
      (w) => create(w, 'x', { path: '/v1/secret/team' }),
      'vault.not_kv2',
      /KV v2 path looks like \/v1\/secret\/data\/team\/app/,
    ],
    ['a host that is not a URL', (w) => create(w, 'x', { host: 'vault:8200' }), 'vault.invalid_host', /http\(s\) URL/],
    [
      'an unknown auth method',
      (w) => create(w, 'x', { authMethod: 'ldap' }),
      'vault.invalid_auth_method',
      /token or approle/,
    ],
    [
      'AppRole without a role id',
      (w) => create(w, 'x', { authMethod: 'approle' }),
      'vault.role_id_required',
      /--role-id/,
    ],
    [
      'no credential',
      (w) => create(w, 'x', { credential: Buffer.alloc(0) }),
      'vault.credential_missing',
      /standard input/,
    ],
    [
      'a credential with a line break',
      (w) => create(w, 'x', { credential: Buffer.from('tok\nen') }),
      'vault.credential_invalid',
      /not shown here/,
    ],
    ['an unknown layout', (w) => create(w, 'x', { layout: 'tree' }), 'vault.invalid_layout', /children .* or fields/],
    [
      'a bundle that does not exist',
      (w) => w.integrations.create('alice', { domain: 'analytics', name: 'x', bundle: 'nope', settings: settings(w) }),
      'bundle.not_found',
      /latchkey bundle create nope --domain analytics/,
    ],
  ];
  for (const [what, act, code, message] of cases) {
    test(`create with ${what} is refused with ${code}`, async (t) => {
      const w = await world(t);
      const err = await rejection(act(w));
      assert.equal(err.code, code);
      assert.match(err.message, message);
      assert.ok(!err.message.includes(w.token));
      assert.equal(await integrationCount(w.pool), 0);
    });
  }

  test('a second integration of the same name is refused; the first is untouched', async (t) => {
    const w = await world(t);
    const first = await create(w);
    const err = await rejection(create(w, 'team-vault', { path: '/v1/secret/data/elsewhere' }));
    assert.equal(err.code, 'vault.integration_exists');
    assert.equal((await w.integrations.get('alice', 'analytics', 'team-vault')).path, first.path);
  });

  test('seed rule: an integration’s bundle is fixed at creation (changing it is refused, saying how to move)', async (t) => {
    const w = await world(t);
    await create(w);
    const err = await rejection(w.integrations.update('alice', 'analytics', 'team-vault', { bundle: 'other' }));
    assert.equal(err.code, 'vault.bundle_fixed');
    assert.match(err.message, /create a new integration with --bundle other and delete this one/);
    assert.equal((await w.integrations.get('alice', 'analytics', 'team-vault')).bundle, 'team-vault');
  });

  test('switching to AppRole without its secret id is refused', async (t) => {
    const w = await world(t);
    await create(w);
    const err = await rejection(
      w.integrations.update('alice', 'analytics', 'team-vault', { authMethod: 'approle', roleId: 'r1' }),
    );
    assert.equal(err.code, 'vault.credential_missing');
    assert.equal((await w.integrations.get('alice', 'analytics', 'team-vault')).authMethod, 'token');
  });

  test('moving an integration to another host without its credential is refused: the stored one never goes to a new host', async (t) => {
    const w = await world(t);
    const i = await create(w);
    const err = await rejection(
      w.integrations.update('alice', 'analytics', 'team-vault', { host: 'https://attacker.example:8200' }),
    );
    assert.equal(err.code, 'vault.credential_missing');
    assert.match(err.message, /changing the host needs the credential again/);
    assert.equal((await w.integrations.get('alice', 'analytics', 'team-vault')).host, i.host);
    // The same host, or a new one with its credential, is accepted.
    await w.integrations.update('alice', 'analytics', 'team-vault', { host: i.host, namespace: '' });
    const moved = await w.integrations.update('alice', 'analytics', 'team-vault', {
      host: 'http://127.0.0.1:1',
      credential: Buffer.from('another-token'),
    });
    assert.equal(moved.host, 'http://127.0.0.1:1');
  });

  test('an update that read the integration before someone moved it to another host cannot keep the new credential for the old host', async (t) => {
    const w = await world(t);
    const i = await create(w);
    // Admin A moved it with the new host's credential...
    await w.integrations.update('alice', 'analytics', 'team-vault', {
      host: 'http://127.0.0.1:1',
      credential: Buffer.from('new-host-token'),
    });
    // ...while update B, which had read the old host, writes its settings without a credential.
    const res = await w.repo.update(
      i.id,
      {
        name: i.name,
        host: i.host,
        path: 'elsewhere',
        namespace: i.namespace,
        authMethod: i.authMethod,
        roleId: i.roleId,
        layout: i.layout,
      },
      undefined,
      'bob',
    );
    assert.equal(res, 'credential_needed');
    const now = await w.integrations.get('alice', 'analytics', 'team-vault');
    assert.deepEqual([now.host, now.path], ['http://127.0.0.1:1', i.path], 'nothing was written');
    assert.equal(await w.repo.update(randomUUID(), { ...now, name: now.name }, undefined, 'bob'), undefined);
  });

  test('delete is refused while workloads reference the integration, and lists them', async (t) => {
    const w = await world(t);
    const i = await create(w);
    w.dependents.refs.set(`VAULT|${i.id}|db_password`, ['analytics/etl', 'analytics/nightly']);
    const err = await rejection(w.integrations.delete('alice', 'analytics', 'team-vault', false));
    assert.equal(err.code, 'vault.integration_in_use');
    assert.match(err.message, /analytics\/etl, analytics\/nightly/);
    assert.match(err.message, /--force/);
    assert.equal(await integrationCount(w.pool), 1);
  });

  test('delete checks its dependents and fences the integration in one call to the deployer, deletes, then lifts the fence', async (t) => {
    const w = await world(t);
    const i = await create(w);
    let seenBetween: number | undefined;
    w.dependents.betweenCheckAndDelete = async () => {
      // Between the check and the delete: the integration is still here, and fenced.
      seenBetween = await integrationCount(w.pool);
      assert.equal(w.dependents.fences.size, 1);
    };
    await w.integrations.delete('alice', 'analytics', 'team-vault', false);
    assert.equal(seenBetween, 1);
    assert.equal(w.dependents.calls.length, 2);
    assert.equal(w.dependents.calls[0], `begin VAULT|${i.id}| force=false`);
    assert.match(w.dependents.calls[1] ?? '', /^end [0-9a-f-]{36}$/);
    assert.equal(w.dependents.fences.size, 0, 'the fence was lifted');
    assert.equal(await integrationCount(w.pool), 0);
  });

  test('an unknown integration is not found, naming how to list them', async (t) => {
    const w = await world(t);
    const err = await rejection(w.integrations.get('alice', 'analytics', 'ghost'));
    assert.equal(err.code, 'vault.integration_not_found');
    assert.match(err.message, /latchkey vault list --domain analytics/);
  });

  test('a denied principal changes nothing and learns nothing', async (t) => {
    const w = await world(t, new FakeAuthorizer(() => DENY));
    const err = await rejection(create(w));
    assert.equal(err.code, 'ras.permission_denied');
    assert.equal(await integrationCount(w.pool), 0);
    assert.equal((await rejection(w.integrations.list('bob', 'analytics'))).code, 'ras.permission_denied');
  });
});

describe('vault integrations: who may see and change them (the bundle decides)', () => {
  test('VIEW on its bundle shows an integration’s configuration; without it get is refused and list leaves it out', async (t) => {
    // vic: VIEW on team-vault; ursula: UPDATE on ops-vault (implies VIEW); una: USE on both; bob: a role, no grant.
    const authorizer = bundleGrants(['alice', 'vic', 'ursula', 'una', 'bob'], {
      alice: ['UPDATE team-vault', 'UPDATE ops-vault'],
      vic: ['VIEW team-vault'],
      ursula: ['UPDATE ops-vault'],
      una: ['USE team-vault', 'USE ops-vault'],
    });
    const w = await world(t, authorizer);
    await create(w);
    await w.integrations.create('alice', {
      domain: 'analytics',
      name: 'ops',
      bundle: 'ops-vault',
      settings: settings(w),
    });
    const names = async (who: string) => (await w.integrations.list(who, 'analytics')).map((i) => i.name).sort();
    assert.deepEqual(await names('alice'), ['ops', 'team-vault']);
    assert.deepEqual(await names('vic'), ['team-vault']);
    assert.deepEqual(await names('ursula'), ['ops']);
    assert.deepEqual(await names('una'), [], 'USE lists keys in the selector, it does not show configurations');
    assert.deepEqual(await names('bob'), []);
    assert.equal((await w.integrations.get('vic', 'analytics', 'team-vault')).bundle, 'team-vault');
    assert.equal((await w.integrations.get('ursula', 'analytics', 'ops')).bundle, 'ops-vault');
    for (const [who, name] of [
      ['vic', 'ops'],
      ['una', 'team-vault'],
      ['bob', 'team-vault'],
    ] as const) {
      const err = await rejection(w.integrations.get(who, 'analytics', name));
      assert.equal(err.code, 'ras.permission_denied', `${who} get ${name}`);
      assert.match(err.message, new RegExp(`^${who} may not bundle\\.view on bundle`));
    }
  });

  test('UPDATE on its bundle modifies, tests and deletes an integration; VIEW or USE alone does not', async (t) => {
    const authorizer = bundleGrants(['alice', 'vic', 'una', 'ursula'], {
      alice: ['UPDATE team-vault'],
      vic: ['VIEW team-vault'],
      una: ['USE team-vault'],
      ursula: ['UPDATE team-vault'],
    });
    const w = await world(t, authorizer);
    await create(w);
    for (const who of ['vic', 'una']) {
      const refused = [
        await rejection(w.integrations.update(who, 'analytics', 'team-vault', { namespace: 'x' })),
        await rejection(w.integrations.test(who, 'analytics', { integration: 'team-vault' })),
        await rejection(w.integrations.delete(who, 'analytics', 'team-vault', false)),
      ];
      for (const err of refused) {
        assert.equal(err.code, 'ras.permission_denied', who);
        assert.match(err.message, new RegExp(`^${who} may not bundle\\.update on bundle team-vault`));
      }
    }
    assert.equal((await w.integrations.get('alice', 'analytics', 'team-vault')).namespace, '', 'nothing changed');
    const updated = await w.integrations.update('ursula', 'analytics', 'team-vault', { name: 'renamed' });
    assert.deepEqual([updated.name, updated.updatedBy], ['renamed', 'ursula']);
    assert.equal((await w.integrations.test('ursula', 'analytics', { integration: 'renamed' })).outcome, 'ok');
    await w.integrations.delete('ursula', 'analytics', 'renamed', false);
    assert.equal(await integrationCount(w.pool), 0);
  });

  test('without a role in the domain, every integration call is refused alike whether the integration exists or not', async (t) => {
    const w = await world(t, bundleGrants(['alice'], { alice: ['UPDATE team-vault'] }));
    await create(w);
    const calls = (name: string) => ({
      get: () => w.integrations.get('mallory', 'analytics', name),
      update: () => w.integrations.update('mallory', 'analytics', name, { namespace: 'x' }),
      delete: () => w.integrations.delete('mallory', 'analytics', name, true),
      test: () => w.integrations.test('mallory', 'analytics', { integration: name }),
    });
    const existing = calls('team-vault');
    const missing = calls('ghost');
    for (const k of ['get', 'update', 'delete', 'test'] as const) {
      const a = await rejection(existing[k]());
      const b = await rejection(missing[k]());
      assert.deepEqual([a.code, a.message], [b.code, b.message], k);
      assert.equal(a.code, 'ras.permission_denied', k);
    }
    assert.equal((await rejection(w.integrations.list('mallory', 'analytics'))).code, 'ras.permission_denied');
    assert.equal(await integrationCount(w.pool), 1);
  });

  test('"global" is no domain: integrations are refused there before anything is asked', async (t) => {
    const authorizer = new FakeAuthorizer(() => ALLOW);
    const w = await world(t, authorizer);
    const refusals = [
      await rejection(
        w.integrations.create('admin', { domain: 'global', name: 'g', bundle: 'team-vault', settings: settings(w) }),
      ),
      await rejection(w.integrations.list('admin', 'global')),
      await rejection(w.integrations.get('admin', 'global', 'g')),
      await rejection(w.integrations.update('admin', 'global', 'g', { namespace: 'x' })),
      await rejection(w.integrations.delete('admin', 'global', 'g', false)),
      await rejection(w.integrations.test('admin', 'global', { integration: 'g' })),
    ];
    assert.deepEqual(
      refusals.map((e) => [e.code, e.kind]),
      refusals.map(() => ['domain.reserved', 'invalid_argument']),
    );
    assert.deepEqual(authorizer.asked, []);
  });

  test('the resolver learns the bundle of its domain’s integrations only, an id of another domain reads as missing', async (t) => {
    const w = await world(t);
    const i = await create(w);
    const ghost = '00000000-0000-4000-8000-000000000000';
    assert.deepEqual(await w.integrations.bundlesOf('analytics', [i.id, ghost, 'not-an-id']), [
      { id: i.id, bundle: 'team-vault' },
      { id: ghost, bundle: undefined },
      { id: 'not-an-id', bundle: undefined },
    ]);
    assert.deepEqual(await w.integrations.bundlesOf('finance', [i.id]), [{ id: i.id, bundle: undefined }]);
  });
});

describe('vault integrations: failures', () => {
  test('test names each failure: bad credentials, no permission, sealed, unreachable, not KV v2', async (t) => {
    const w = await world(t);
    const outcome = async (over: Partial<RawVaultSettings>) =>
      w.integrations.test('alice', 'analytics', { settings: settings(w, over) });
    const bad = await outcome({ credential: Buffer.from('hvs.not-a-real-token') });
    assert.equal(bad.outcome, 'bad_credentials');
    const narrow = await vault.addToken(['secret/data/elsewhere']);
    assert.equal((await outcome({ credential: Buffer.from(narrow) })).outcome, 'no_permission');
    assert.equal(
      (await outcome({ path: '/v1/nomount/data/x', credential: Buffer.from(vault.rootToken) })).outcome,
      'not_kv2',
    );
    vault.seal(true);
    try {
      assert.equal((await outcome({})).outcome, 'sealed');
    } finally {
      vault.seal(false);
    }
    const unreachable = await outcome({ host: 'http://127.0.0.1:1' });
    assert.equal(unreachable.outcome, 'unreachable');
    for (const o of [bad, unreachable]) {
      assert.ok(!JSON.stringify(o).includes('hvs.not-a-real-token'));
      assert.ok(!JSON.stringify(o).includes(w.token));
    }
  });

  test('a sealed Vault fails its references with vault.sealed, never a value or token', async (t) => {
    const w = await world(t);
    const i = await create(w);
    await vault.putSecret('secret', `${w.base}/k`, { value: 'sealed-canary' });
    vault.seal(true);
    let answers;
    try {
      answers = await w.secrets.readValues([
        { refId: 'a', key: 'k', scope: 'analytics', fallbackToGlobal: false, sourceType: 'VAULT', integrationId: i.id },
      ]);
    } finally {
      vault.seal(false);
    }
    const [a] = answers;
    assert.ok(a && !a.found);
    assert.equal(a.code, 'vault.sealed');
    assert.ok(!a.message.includes(w.token));
  });
});

describe('version watch', () => {
  test('a Vault-side rotation is announced once as secret.changed; a second round announces nothing', async (t) => {
    const w = await world(t);
    const i = await create(w);
    await vault.putSecret('secret', `${w.base}/k`, { value: 'one-1' });
    w.dependents.deployed = [{ integrationId: i.id, key: 'k', version: 1 }];
    const watch = w.watch();
    assert.equal((await watch.pollOnce())?.announced, 0, 'nothing moved yet');
    await vault.putSecret('secret', `${w.base}/k`, { value: 'two-2' });
    assert.equal((await watch.pollOnce())?.announced, 1);
    assert.equal((await watch.pollOnce())?.announced, 0, 'announced once');
    const events = await outboxEvents(w.pool);
    assert.equal(events.length, 1);
    const [ev] = events;
    assert.equal(ev?.subject, 'latchkey.secret.changed.analytics');
    assert.deepEqual(ev?.data, {
      scope: i.id,
      domain: 'analytics',
      key: 'k',
      source: 'VAULT',
      version: 2,
      change: 'updated',
      by: 'vault-watch',
    });
  });

  test('two replicas polling at once announce a change once', async (t) => {
    const w = await world(t);
    const i = await create(w);
    await vault.putSecret('secret', `${w.base}/k`, { value: 'one-1' });
    await vault.putSecret('secret', `${w.base}/k`, { value: 'two-2' });
    w.dependents.deployed = [{ integrationId: i.id, key: 'k', version: 1 }];
    await Promise.all([w.watch().pollOnce(), w.watch().pollOnce(), w.watch().pollOnce()]);
    assert.equal((await outboxEvents(w.pool)).length, 1);
  });

  test('an unavailable integration is skipped this round and asked again the next', async (t) => {
    const w = await world(t);
    const i = await create(w);
    await vault.putSecret('secret', `${w.base}/k`, { value: 'one-1' });
    await vault.putSecret('secret', `${w.base}/k`, { value: 'two-2' });
    w.dependents.deployed = [{ integrationId: i.id, key: 'k', version: 1 }];
    vault.seal(true);
    let round;
    try {
      round = await w.watch().pollOnce();
    } finally {
      vault.seal(false);
    }
    assert.deepEqual({ failed: round?.failed, announced: round?.announced }, { failed: 1, announced: 0 });
    assert.equal((await w.watch().pollOnce())?.announced, 1);
  });
});

describe('selector and inventory', () => {
  test('the selector lists managed, global (read-only) and Vault keys, each with its source', async (t) => {
    const w = await world(t);
    await w.secrets.put('alice', {
      scope: { domain: 'analytics', global: false },
      key: 'own',
      value: Buffer.from('own-value'),
      description: '',
    });
    await w.secrets.put('admin', {
      scope: { domain: '', global: true },
      key: 'shared',
      value: Buffer.from('shared-value'),
      description: '',
    });
    await w.secrets.put('alice', {
      scope: { domain: 'finance', global: false },
      key: 'theirs',
      value: Buffer.from('their-value'),
      description: '',
    });
    await vault.putSecret('secret', `${w.base}/vk`, { value: 'vault-value' });
    const i = await create(w);
    const page = await w.views.selector('alice', 'analytics', 0, '');
    assert.deepEqual(
      page.entries.map((e) => [e.key, e.sourceType, e.backend, e.sourceId, e.integrationName, e.readOnly]),
      [
        ['own', 'MANAGED', 'database', 'analytics', '', false],
        ['shared', 'MANAGED', 'database', 'global', '', true],
        ['vk', 'VAULT', '', i.id, 'team-vault', true],
      ],
    );
    assert.ok(page.sources.every((s) => s.available));
    assert.equal(page.nextPageToken, '');
  });

  test('seed rule: listing Vault keys in the selector needs USE on the bundle and LIST_SECRETS', async (t) => {
    // bob lists the domain (LIST_SECRETS) without USE; carol holds USE but no LIST_SECRETS.
    const noUse = new FakeAuthorizer((q) =>
      (q.action === 'bundle.use' && q.resource === 'team-vault' && q.principal === 'bob') ||
      (q.action === 'secret.list' && q.principal === 'carol')
        ? DENY
        : ALLOW,
    );
    const w = await world(t, noUse);
    await vault.putSecret('secret', `${w.base}/vk`, { value: 'vault-value' });
    await create(w);
    const forBob = await w.views.selector('bob', 'analytics', 0, '');
    assert.deepEqual(forBob.entries, []);
    assert.ok(!forBob.sources.some((s) => s.source.startsWith('vault:')), 'not even its name');
    const forAlice = await w.views.selector('alice', 'analytics', 0, '');
    assert.deepEqual(
      forAlice.entries.map((e) => e.key),
      ['vk'],
    );
    assert.equal((await rejection(w.views.selector('carol', 'analytics', 0, ''))).code, 'ras.permission_denied');
  });

  test('one failing integration does not fail the selector: its source says why', async (t) => {
    const w = await world(t);
    await vault.putSecret('secret', `${w.base}/vk`, { value: 'vault-value' });
    await create(w);
    await create(w, 'broken', { credential: Buffer.from('hvs.revoked-token') });
    const page = await w.views.selector('alice', 'analytics', 0, '');
    assert.deepEqual(
      page.entries.map((e) => `${e.integrationName}:${e.key}`),
      ['team-vault:vk'],
    );
    const broken = page.sources.find((s) => s.source === 'vault:broken');
    assert.equal(broken?.available, false);
    assert.match(broken?.reason ?? '', /vault\.(auth_failed|permission_denied)/);
    assert.ok(!JSON.stringify(page).includes('hvs.revoked-token'));
  });

  test('a slow integration times out into an unavailable source', async (t) => {
    const w = await world(t);
    await create(w);
    vault.setLatency(1500);
    let page;
    try {
      page = await w.views.selector('alice', 'analytics', 0, '');
    } finally {
      vault.setLatency(0);
    }
    const s = page.sources.find((x) => x.source === 'vault:team-vault');
    assert.equal(s?.available, false);
    assert.match(s?.reason ?? '', /did not answer within 1 s/);
  });

  test('the selector pages through a long list and refuses a forged page token', async (t) => {
    const w = await world(t);
    for (let n = 0; n < 5; n++) {
      await w.secrets.put('alice', {
        scope: { domain: 'analytics', global: false },
        key: `k${n}`,
        value: Buffer.from(`value-${n}`),
        description: '',
      });
    }
    const keys: string[] = [];
    let token = '';
    let pages = 0;
    do {
      const page = await w.views.selector('alice', 'analytics', 2, token);
      keys.push(...page.entries.map((e) => e.key));
      token = page.nextPageToken;
      pages += 1;
    } while (token !== '');
    assert.deepEqual(keys, ['k0', 'k1', 'k2', 'k3', 'k4']);
    assert.equal(pages, 3);
    assert.equal(
      (await rejection(w.views.selector('alice', 'analytics', 2, 'forged'))).code,
      'selector.invalid_page_token',
    );
    assert.equal(
      (await rejection(w.views.selector('alice', 'analytics', 99999, ''))).code,
      'selector.invalid_page_size',
    );
  });

  test('paging through a large listing gives each key exactly once, lists each Vault once, and survives keys added behind it', async (t) => {
    const w = await world(t);
    const seed = (scope: string, prefix: string, n: number, deleted = false) =>
      w.pool.query(
        `INSERT INTO secrets (scope, key, current_version, updated_by, deleted_at)
         SELECT $1, $2 || lpad(i::text, 5, '0'), 1, 'seed', CASE WHEN $4 THEN now() END FROM generate_series(1, $3) i`,
        [scope, prefix, n, deleted],
      );
    await seed('analytics', 'own_', 2500);
    await seed('analytics', 'gone_', 3, true);
    await seed('global', 'shared_', 300);
    await seed('finance', 'theirs_', 10);
    for (let n = 0; n < 700; n++) {
      await vault.putSecret('secret', `${w.base}/va_${String(n).padStart(4, '0')}`, { value: 'vault-value' });
      await vault.putSecret('secret', `${w.base}/b/vb_${String(n).padStart(4, '0')}`, { value: 'vault-value' });
    }
    // The same key in two sources is two entries.
    await vault.putSecret('secret', `${w.base}/own_00001`, { value: 'vault-value' });
    const a = await create(w, 'vault-a');
    const b = await create(w, 'vault-b', { path: `/v1/secret/data/${w.base}/b` });
    const expected = 2500 + 300 + 701 + 700;
    const id = (e: { sourceId: string; key: string }) => `${e.sourceId}/${e.key}`;
    const lists = () =>
      vault
        .requests()
        .filter((r) => r.path.includes(`/metadata/${w.base}`) && (r.method === 'LIST' || r.query['list'] !== undefined))
        .length;

    const whole = await w.views.selector('alice', 'analytics', 5000, '');
    assert.equal(whole.entries.length, expected);
    assert.equal(whole.nextPageToken, '');
    assert.deepEqual(
      [...new Set(whole.entries.map((e) => e.sourceId))],
      ['analytics', 'global', a.id, b.id],
      'the domain’s keys, then global, then each integration (by name)',
    );

    // Another replica (no listings of its own) may answer any page.
    const other = new CatalogViewService({
      store: new PostgresSecretStore(w.pool),
      integrations: w.repo,
      sources: w.sources,
      dependents: w.dependents,
      authorizer: new FakeAuthorizer(() => ALLOW),
      backend: 'database',
    });
    for (const [size, replicas] of [
      [997, [w.views]],
      [0, [w.views]],
      [613, [w.views, other]],
    ] as const) {
      vault.clearRequests();
      const seen: string[] = [];
      let token = '';
      let pages = 0;
      do {
        const page = await replicas[pages % replicas.length]!.selector('alice', 'analytics', size, token);
        assert.ok(page.entries.length <= (size || 1000));
        seen.push(...page.entries.map(id));
        token = page.nextPageToken;
        pages += 1;
      } while (token !== '');
      assert.equal(pages, Math.ceil(expected / (size || 1000)), `page size ${size}`);
      assert.deepEqual(seen, whole.entries.map(id), `page size ${size}: each key once, in order`);
      if (replicas.length === 1)
        assert.equal(lists(), 2, `page size ${size}: each Vault listed once, on the first page`);
    }

    // A key added behind the position of the next page neither shifts nor repeats what follows.
    const first = await w.views.selector('alice', 'analytics', 1000, '');
    await w.secrets.put('alice', {
      scope: { domain: 'analytics', global: false },
      key: 'aaa_late',
      value: Buffer.from('late-value'),
      description: '',
    });
    const rest: string[] = [];
    let token = first.nextPageToken;
    while (token !== '') {
      const page = await w.views.selector('alice', 'analytics', 1000, token);
      rest.push(...page.entries.map(id));
      token = page.nextPageToken;
    }
    const all = [...first.entries.map(id), ...rest];
    assert.equal(new Set(all).size, all.length, 'no key twice');
    assert.deepEqual(all, whole.entries.map(id));

    // A token continues only the domain it was given for.
    const err = await rejection(w.views.selector('alice', 'finance', 1000, first.nextPageToken));
    assert.equal(err.code, 'selector.invalid_page_token');
    assert.match(err.message, /continues the selector of domain "analytics", not finance/);
  });

  test('the inventory counts each secret’s workloads, flags unreferenced ones, and lists users of one key', async (t) => {
    const w = await world(t);
    const scope = { domain: 'analytics', global: false };
    await w.secrets.put('alice', { scope, key: 'used', value: Buffer.from('used-value'), description: '' });
    await w.secrets.put('alice', { scope, key: 'idle', value: Buffer.from('idle-value'), description: '' });
    w.dependents.refs.set('MANAGED|analytics|used', ['analytics/a', 'analytics/b']);
    const all = await w.views.inventory('alice', scope, '');
    assert.deepEqual(
      all.map((e) => [
        e.secret.key,
        e.secret.version,
        e.secret.updatedBy,
        e.workloadCount,
        e.unreferenced,
        e.workloads,
      ]),
      [
        ['idle', 1, 'alice', 0, true, []],
        ['used', 1, 'alice', 2, false, []],
      ],
    );
    const one = await w.views.inventory('alice', scope, 'used');
    assert.deepEqual(one[0]?.workloads, ['analytics/a', 'analytics/b']);
    assert.equal((await rejection(w.views.inventory('alice', scope, 'ghost'))).code, 'secret.not_found');
  });

  test('deleting a managed secret checks and fences the key in one call to the deployer, deletes, then lifts the fence, also when there was nothing to delete', async (t) => {
    const w = await world(t);
    const scope = { domain: 'analytics', global: false };
    await w.secrets.put('alice', { scope, key: 'gone', value: Buffer.from('gone-value'), description: '' });
    let listedBetween: string[] | undefined;
    w.dependents.betweenCheckAndDelete = async () => {
      listedBetween = (await w.secrets.list('alice', scope)).map((m) => m.key);
    };
    await w.secrets.delete('alice', scope, 'gone');
    assert.deepEqual(listedBetween, ['gone'], 'the check came before the delete');
    assert.equal(w.dependents.calls[0], 'begin MANAGED|analytics|gone force=false');
    assert.match(w.dependents.calls[1] ?? '', /^end [0-9a-f-]{36}$/);
    assert.equal(w.dependents.fences.size, 0);
    assert.equal((await rejection(w.secrets.delete('alice', scope, 'gone'))).code, 'secret.not_found');
    assert.equal(w.dependents.calls.length, 4);
    assert.equal(w.dependents.fences.size, 0, 'lifted after the failed delete too');
    // Refused for its dependents: nothing fenced, nothing to lift.
    await w.secrets.put('alice', { scope, key: 'used', value: Buffer.from('used-value'), description: '' });
    w.dependents.refs.set('MANAGED|analytics|used', ['analytics/etl']);
    assert.equal((await rejection(w.secrets.delete('alice', scope, 'used'))).code, 'secret.in_use');
    assert.deepEqual(w.dependents.calls.slice(4), ['begin MANAGED|analytics|used force=false']);
  });

  test('deleting a referenced managed secret is refused unless forced, and names the workloads', async (t) => {
    const w = await world(t);
    const scope = { domain: 'analytics', global: false };
    await w.secrets.put('alice', { scope, key: 'used', value: Buffer.from('used-value'), description: '' });
    w.dependents.refs.set('MANAGED|analytics|used', ['analytics/etl']);
    const err = await rejection(w.secrets.delete('alice', scope, 'used'));
    assert.equal(err.code, 'secret.in_use');
    assert.match(err.message, /analytics\/etl/);
    assert.equal((await w.secrets.list('alice', scope)).length, 1);
    const forced = await w.secrets.delete('alice', scope, 'used', true);
    assert.deepEqual(forced.dependents, ['analytics/etl']);
    assert.equal((await w.secrets.list('alice', scope)).length, 0);
  });
});

describe('KEK rotation', () => {
  test('rotating the KEK re-wraps integration credentials; the old KEK leaves the key file', async (t) => {
    const w = await world(t);
    const i = await create(w);
    const before = w.keks.current().id;
    const r = await rotateKek(w.pool, w.keks, [new DatabaseValueBackend(w.pool, w.keks), w.repo]);
    assert.equal(r.rewrapped, 1);
    assert.deepEqual(r.retired, [before]);
    assert.ok(!(await readFile(w.kekFile, 'utf8')).includes(before));
    assert.equal((await w.repo.credential(i.id))?.toString(), w.token);
  });
});

test('creating, updating and deleting an integration each write an audit record in the change transaction, never the credential', async (t) => {
  const authorizer = new FakeAuthorizer(() => ALLOW);
  const w = await world(t, authorizer);
  const created = await w.integrations.create('alice', {
    domain: 'analytics',
    name: 'team-vault',
    bundle: 'team-vault',
    settings: settings(w),
    requestId: 'req-create',
  });
  const newToken = await vault.addToken([`secret/data/${w.base}`, `secret/metadata/${w.base}`]);
  await w.integrations.update(
    'alice',
    'analytics',
    'team-vault',
    { name: 'renamed', credential: Buffer.from(newToken) },
    'req-update',
  );
  await w.integrations.delete('olive', 'analytics', 'renamed', false, 'req-delete');
  // A create that changes nothing (the name is taken) writes nothing.
  await create(w, 'other');
  await rejection(create(w, 'other'));

  const { rows } = await w.pool.query<{ subject: string; data: AuditRecord }>(
    "SELECT subject, data FROM outbox WHERE subject LIKE 'latchkey.audit.%' ORDER BY seq",
  );
  assert.deepEqual(
    rows.map((r) => [r.subject, r.data.actor, r.data.action, r.data.resource, r.data.outcome, r.data.requestId]),
    [
      ['latchkey.audit.catalog.analytics', 'alice', 'vault.create', 'vault:team-vault', 'ok', 'req-create'],
      ['latchkey.audit.catalog.analytics', 'alice', 'vault.update', 'vault:renamed', 'ok', 'req-update'],
      ['latchkey.audit.catalog.analytics', 'olive', 'vault.delete', 'vault:renamed', 'ok', 'req-delete'],
      ['latchkey.audit.catalog.analytics', 'alice', 'vault.create', 'vault:other', 'ok', ''],
    ],
  );
  assert.deepEqual(
    rows.slice(0, 3).map((r) => r.data.reason),
    [
      `integration ${created.id}, bundle team-vault, token auth`,
      `integration ${created.id}, credential replaced`,
      `integration ${created.id}`,
    ],
  );
  const text = JSON.stringify(rows);
  assert.ok(!text.includes(w.token) && !text.includes(newToken), 'no credential in an audit record');
  // Each change's decisions carry its request id: MANAGE_VAULT creates; a role in the domain, then UPDATE on the bundle, change.
  assert.deepEqual(
    authorizer.asked.filter((q) => q.requestId !== undefined).map((q) => [q.action, q.resource ?? '', q.requestId]),
    [
      ['vault.manage', '', 'req-create'],
      ['secret.list', '', 'req-update'],
      ['bundle.update', 'team-vault', 'req-update'],
      ['secret.list', '', 'req-delete'],
      ['bundle.update', 'team-vault', 'req-delete'],
    ],
  );
});
