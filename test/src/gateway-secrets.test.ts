import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startVaultEmulator } from '@latchkey/testing';
import { assertNowhere, findLeak } from './canary-scan.js';
import { ok, problemOf, systemGatewayApi, type Answer, type ApiCall } from './gateway-client.js';
import { recordedCli } from './recorded-cli.js';
import { startSystem, type CliResult, type RunningSystem } from './system-harness.js';
import { applyWorkload, computeWorkload, managedRef } from './workload-files.js';

// Issue 15 §1: the gateway's secret, Vault, access, view and audit routes over HTTPS,
// against the real embedded system, each call made with the caller's own token.

let sys: RunningSystem;
let vault: Awaited<ReturnType<typeof startVaultEmulator>>;
let api: ApiCall;
let work = '';
let vaultToken = '';
const answers: Answer[] = [];
const cliOutputs: CliResult[] = [];
const tokens = { admin: '', alice: '', mallory: '' };
const canary = (name: string) => `${name}-canary-${randomBytes(12).toString('hex')}`;
const values = {
  db: canary('db'),
  db2: canary('db2'),
  shared: canary('shared'),
  finance: canary('finance'),
  vaultValue: canary('vault'),
};

before(async () => {
  vault = await startVaultEmulator();
  vaultToken = await vault.addToken(['secret/data/team', 'secret/metadata/team']);
  await vault.putSecret('secret', 'team/vault_password', { value: values.vaultValue });
  // The Vault emulator listens on 127.0.0.1, which integrations may use only when allowed.
  sys = await startSystem({ env: { LATCHKEY_VAULT_ALLOWED_HOSTS: '127.0.0.1' } });
  work = await mkdtemp(join(tmpdir(), 'latchkey-gw-secrets-'));
  const { ok: cli, outputs } = recordedCli(sys);
  api = await systemGatewayApi(sys, answers, tokens);
  await Promise.all([cli(['domain', 'create', 'analytics']), cli(['domain', 'create', 'finance'])]);
  await Promise.all([
    cli(['domain', 'grant', 'analytics', '--user', 'alice', '--role', 'owner']),
    cli(['domain', 'grant', 'finance', '--user', 'mallory', '--role', 'owner']),
  ]);
  cliOutputs.push(...outputs);
});
after(async () => {
  await sys?.cleanup();
  await vault?.stop();
  if (work !== '') await rm(work, { recursive: true, force: true });
});

test('a domain secret over HTTP: put, list, new version, delete refused while in use and then forced', async () => {
  const put = ok(await api('PUT', '/api/v1/domains/analytics/secrets/db_password', tokens.alice, { value: values.db }));
  assert.deepEqual([put['key'], put['version'], put['updatedBy']], ['db_password', 1, 'alice']);
  const again = ok(
    await api('PUT', '/api/v1/domains/analytics/secrets/db_password', tokens.alice, {
      value: values.db2,
      rotateEvery: '90d',
    }),
  );
  assert.deepEqual([again['version'], again['rotateEvery']], [2, '90d']);
  const list = ok(await api('GET', '/api/v1/domains/analytics/secrets', tokens.alice)) as {
    secrets: { key: string; version: number }[];
  };
  assert.deepEqual(
    list.secrets.map((s) => [s.key, s.version]),
    [['db_password', 2]],
  );
  const policy = ok(
    await api('PUT', '/api/v1/domains/analytics/secrets/db_password/rotation-policy', tokens.alice, {
      rotateEvery: 'never',
    }),
  );
  assert.deepEqual([policy['version'], policy['rotateEvery']], [2, '']);

  const { ok: cli, outputs } = recordedCli(sys);
  await applyWorkload(cli, work, 'analytics', computeWorkload('etl', { DB: managedRef('db_password', 'analytics') }));
  cliOutputs.push(...outputs);
  const refused = await api('DELETE', '/api/v1/domains/analytics/secrets/db_password', tokens.alice);
  assert.equal(refused.status, 409, refused.text);
  const p = problemOf(refused);
  assert.equal(p.code, 'secret.in_use');
  assert.match(p.detail, /analytics\/etl/);
  const forced = ok(await api('DELETE', '/api/v1/domains/analytics/secrets/db_password?force=true', tokens.alice));
  assert.deepEqual(forced['dependents'], ['analytics/etl']);
  assert.deepEqual(
    (ok(await api('GET', '/api/v1/domains/analytics/secrets', tokens.alice)) as { secrets: [] }).secrets,
    [],
  );
});

test('a global secret is refused for a domain user and allowed for the admin; another domain’s secret, existing or not, is the same refusal', async () => {
  const refused = await api('PUT', '/api/v1/global/secrets/shared_token', tokens.alice, { value: values.shared });
  assert.equal(refused.status, 403, refused.text);
  assert.equal(problemOf(refused).code, 'ras.permission_denied');
  const put = ok(await api('PUT', '/api/v1/global/secrets/shared_token', tokens.admin, { value: values.shared }));
  assert.deepEqual(put['scope'], { domain: '', global: true });
  // Global metadata is listed by platform admins; a domain sees global keys through its selector.
  const adminList = ok(await api('GET', '/api/v1/global/secrets', tokens.admin)) as { secrets: { key: string }[] };
  assert.ok(adminList.secrets.some((s) => s.key === 'shared_token'));
  const userList = await api('GET', '/api/v1/global/secrets', tokens.alice);
  assert.equal(userList.status, 403, userList.text);
  assert.match(problemOf(userList).detail, /global secrets are managed by platform admins/);

  ok(await api('PUT', '/api/v1/domains/finance/secrets/ledger_key', tokens.mallory, { value: values.finance }));
  const existing = await api('DELETE', '/api/v1/domains/finance/secrets/ledger_key', tokens.alice);
  const missing = await api('DELETE', '/api/v1/domains/finance/secrets/no_such_key', tokens.alice);
  assert.equal(existing.status, missing.status);
  const [pe, pm] = [problemOf(existing), problemOf(missing)];
  assert.equal(pe.code, pm.code);
  assert.equal(pe.detail.replace('ledger_key', 'KEY'), pm.detail.replace('no_such_key', 'KEY'));
  const stranger = await api('GET', '/api/v1/domains/finance/secrets', tokens.alice);
  assert.equal(stranger.status, 403);
  assert.equal(stranger.text.includes('ledger_key'), false);
});

test('a Vault integration over HTTP against the emulator: test unsaved (precise failure, then ok), create, test saved, foreign id the same as a missing one', async () => {
  ok(await api('POST', '/api/v1/domains/analytics/bundles', tokens.alice, { name: 'team-vault' }), 201);
  const settings = { host: vault.url, path: '/v1/secret/data/team', authMethod: 'token' };
  const bad = ok(
    await api('POST', '/api/v1/domains/analytics/vault-integrations/test', tokens.alice, {
      ...settings,
      credential: 'hvs.wrong-token',
    }),
  );
  assert.deepEqual([bad['ok'], bad['outcome']], [false, 'bad_credentials']);
  assert.match(String(bad['message']), /the token is invalid or expired/);
  const good = ok(
    await api('POST', '/api/v1/domains/analytics/vault-integrations/test', tokens.alice, {
      ...settings,
      credential: vaultToken,
    }),
  );
  assert.deepEqual([good['ok'], good['outcome'], good['keys']], [true, 'ok', 1]);
  const created = ok(
    await api('POST', '/api/v1/domains/analytics/vault-integrations', tokens.alice, {
      name: 'team',
      bundle: 'team-vault',
      ...settings,
      credential: vaultToken,
    }),
    201,
  );
  assert.equal(created['bundle'], 'team-vault');
  assert.equal(JSON.stringify(created).includes(vaultToken), false);
  const id = String(created['id']);
  const saved = ok(await api('POST', `/api/v1/domains/analytics/vault-integrations/${id}/test`, tokens.alice));
  assert.deepEqual([saved['ok'], saved['keys']], [true, 1]);
  const got = ok(await api('GET', `/api/v1/domains/analytics/vault-integrations/team`, tokens.alice));
  assert.equal(got['id'], id);
  const bundle = await api('PUT', `/api/v1/domains/analytics/vault-integrations/${id}`, tokens.alice, {
    bundle: 'other',
  });
  assert.equal(bundle.status, 409, bundle.text);
  assert.equal(problemOf(bundle).code, 'vault.bundle_fixed');
  assert.match(problemOf(bundle).detail, /fixed at creation/);

  // Mallory (finance) asks for analytics' integration by its real id and by a made-up one.
  const foreign = await api('GET', `/api/v1/domains/analytics/vault-integrations/${id}`, tokens.mallory);
  const made = await api(
    'GET',
    '/api/v1/domains/analytics/vault-integrations/00000000-0000-4000-8000-000000000000',
    tokens.mallory,
  );
  assert.equal(foreign.status, made.status);
  assert.equal(problemOf(foreign).code, problemOf(made).code);
  assert.equal(
    problemOf(foreign).detail.replace(id, 'ID'),
    problemOf(made).detail.replace('00000000-0000-4000-8000-000000000000', 'ID'),
  );
  // In her own domain, the id of analytics' integration is as unknown as a made-up one.
  const own = await api('GET', `/api/v1/domains/finance/vault-integrations/${id}`, tokens.mallory);
  const ownMade = await api(
    'GET',
    '/api/v1/domains/finance/vault-integrations/00000000-0000-4000-8000-000000000000',
    tokens.mallory,
  );
  assert.equal(own.status, 404, own.text);
  assert.equal(problemOf(own).code, problemOf(ownMade).code);
  assert.equal(
    problemOf(own).detail.replace(id, 'ID'),
    problemOf(ownMade).detail.replace('00000000-0000-4000-8000-000000000000', 'ID'),
  );
});

test('selector, inventory and audit over HTTP show keys and records, never a value', async () => {
  ok(await api('PUT', '/api/v1/domains/analytics/secrets/api_key', tokens.alice, { value: values.db }));
  const selector = ok(await api('GET', '/api/v1/domains/analytics/selector', tokens.alice)) as {
    entries: { key: string; sourceType: string; readOnly: boolean }[];
  };
  const keys = selector.entries.map(
    (e) => `${e.sourceType}:${e.key}${e.readOnly && e.sourceType === 'MANAGED' ? ':ro' : ''}`,
  );
  for (const k of ['MANAGED:api_key', 'MANAGED:shared_token:ro', 'VAULT:vault_password']) {
    assert.ok(keys.includes(k), `${k} in ${keys.join(', ')}`);
  }
  const inventory = ok(await api('GET', '/api/v1/domains/analytics/inventory', tokens.alice)) as {
    entries: { secret: { key: string }; unreferenced: boolean }[];
  };
  assert.deepEqual(
    inventory.entries.map((e) => [e.secret.key, e.unreferenced]),
    [['api_key', true]],
  );
  const audit = ok(await api('GET', '/api/v1/audit?domain=analytics&actor=alice&limit=200', tokens.alice)) as {
    records: { action: string; outcome: string; actor: string }[];
  };
  assert.ok(audit.records.length > 0);
  assert.ok(audit.records.every((r) => r.actor === 'alice'));
  const actions = new Set(audit.records.map((r) => r.action));
  assert.ok(
    [...actions].some((a) => a.startsWith('secret.')),
    [...actions].join(', '),
  );
  const since = await api('GET', '/api/v1/audit?domain=analytics&since=yesterday', tokens.alice);
  assert.equal(since.status, 400);
  assert.equal(problemOf(since).code, 'audit.invalid_since');
  const foreign = await api('GET', '/api/v1/audit?domain=finance', tokens.alice);
  assert.equal(foreign.status, 403, foreign.text);
});

test('no answer, log, row, message or file holds a planted value or the Vault token', async () => {
  const planted = [...Object.values(values), vaultToken];
  assert.ok(answers.length > 20, 'the answers were kept');
  for (const c of planted) {
    for (const a of answers) assert.equal(findLeak(a.text, c), undefined, `an HTTP answer holds ${c}: ${a.text}`);
  }
  await assertNowhere(sys, planted, cliOutputs);
});
