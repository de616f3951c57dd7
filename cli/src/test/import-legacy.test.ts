// latchkey import-legacy (issue 19 §3) against the V1 stores of seed 002: a
// Vault KV v2 path and a Kubernetes Secret served by libs/testing's emulators,
// and a secret_store table in a real PostgreSQL (the run's shared one). The
// catalog is a fake that keeps what is put, so idempotency is the command's,
// not the fake's. Canary values are planted in every store and no output
// may hold one.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, beforeEach, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import pg from 'pg';
import type { CatalogServiceServer, PutSecretRequest } from '@latchkey/proto';
import {
  acquireTestPostgres,
  createTestDatabase,
  startKubernetesEmulator,
  startVaultEmulator,
  tempDir,
  type KubernetesEmulator,
  type TempDir,
  type TestPostgres,
  type VaultEmulator,
} from '@latchkey/testing';
import { fakeSecret } from '../testing/fake-records.js';
import type { FakeIo } from '../testing/fake-io.js';
import { fail, useFakeServices } from '../testing/fake-services.js';

const canary = (tag: string) => `${tag}-canary-${randomBytes(12).toString('hex')}`;
const CANARIES: string[] = [];
const planted = (tag: string) => {
  const c = canary(tag);
  CANARIES.push(c);
  return c;
};

// ---------------------------------------------------------------------------------------------
// The fake catalog: global scope's secrets, kept as the puts leave them.

const global = new Map<string, { version: number; value: string }>();
const deleted = new Map<string, string>();
/** permission.denied on list (a caller who may not see global secrets) or on put (who may not manage them). */
let refuse: 'none' | 'list' | 'put' = 'none';
/** Keys whose put the catalog refuses as too large for its backend. */
const tooLarge = new Set<string>();

const listSecrets: CatalogServiceServer['listSecrets'] = (call, cb) => {
  if (refuse === 'list')
    return fail(cb, status.PERMISSION_DENIED, 'permission.denied', 'mallory may not list global secrets');
  assert.equal(call.request.scope?.global, true, 'only global scope is looked at');
  if (call.request.deleted) {
    return cb(null, {
      secrets: [...deleted].map(([key, until]) => fakeSecret(key, 1, { recoverUntil: until, deletedAt: until })),
    });
  }
  return cb(null, { secrets: [...global].map(([key, s]) => fakeSecret(key, s.version)) });
};
const putSecret: CatalogServiceServer['putSecret'] = (call, cb) => {
  const { key, value, scope } = call.request;
  if (refuse === 'put')
    return fail(cb, status.PERMISSION_DENIED, 'permission.denied', 'mallory may not manage global secrets');
  if (tooLarge.has(key)) {
    return fail(
      cb,
      status.INVALID_ARGUMENT,
      'secret.value_too_large',
      'the value is larger than the database backend takes',
    );
  }
  assert.deepEqual(scope, { domain: '', global: true }, 'every put is to global scope');
  const version = (global.get(key)?.version ?? 0) + 1;
  global.set(key, { version, value: Buffer.from(value).toString('utf8') });
  cb(null, fakeSecret(key, version, { scope }));
};

const fake = useFakeServices({ catalog: { listSecrets, putSecret } });
const outputs: FakeIo[] = [];
const run = async (argv: string[], code: number, stdin?: string) => {
  const out = await fake.run(argv, code, stdin === undefined ? {} : { stdin });
  outputs.push(out);
  return out;
};
const putKeys = () => ((fake.seen.get('putSecret') ?? []) as PutSecretRequest[]).map((p) => p.key);
const stderr = (out: FakeIo) => out.stderrLines.join('\n');

beforeEach(() => {
  global.clear();
  deleted.clear();
  tooLarge.clear();
  refuse = 'none';
});

let vault: VaultEmulator;
let kube: KubernetesEmulator;
let postgres: TestPostgres;
let dir: TempDir;
/** A port on 127.0.0.1 that nothing listens on any more (a Vault emulator's, stopped). */
let closedPort: number;
before(async () => {
  const gone = await startVaultEmulator();
  await gone.stop();
  closedPort = gone.port;
  [vault, kube, postgres, dir] = await Promise.all([
    startVaultEmulator(),
    startKubernetesEmulator({ namespaces: ['dataplane'] }),
    acquireTestPostgres(),
    tempDir('latchkey-import-legacy-'),
  ]);
});
after(async () => {
  await Promise.all([vault.stop(), kube.stop(), postgres.stop(), dir.cleanup()]);
  // No value in anything any run printed.
  for (const out of outputs) {
    const text = [...out.stdoutLines, ...out.stderrLines].join('\n');
    for (const c of CANARIES) assert.ok(!text.includes(c), `a value (${c.split('-')[0]}) was printed`);
  }
});

// ---------------------------------------------------------------------------------------------
// Vault: /v1/secret/data/iomete/poc, one folder per key holding {"value": ...}

test('vault: --dry-run lists each key with what would happen and changes nothing; the import puts the new ones in global scope; a second run imports nothing', async () => {
  const example = planted('example');
  const api = planted('api');
  await vault.putSecret('secret', 'iomete/poc/EXAMPLE_KEY', { value: example });
  await vault.putSecret('secret', 'iomete/poc/API_TOKEN', { value: api });
  await vault.putSecret('secret', 'iomete/poc/bad key!', { value: planted('badkey') });
  await vault.putSecret('secret', 'iomete/poc/short', { value: 'abc' });
  await vault.putSecret('secret', 'iomete/poc/FIELDS', { user: 'u', password: planted('fields') });
  await vault.putSecret('secret', 'iomete/poc/nested/INNER', { value: planted('nested') });
  global.set('API_TOKEN', { version: 3, value: 'kept' });
  const token = await vault.addToken(['secret/']);
  const args = ['import-legacy', '--from', 'vault', '--host', vault.url, '--path', '/v1/secret/data/iomete/poc'];

  const dry = await run([...args, '--dry-run'], 0, token);
  assert.equal(fake.calls('putSecret'), 0, 'a dry run puts nothing');
  assert.deepEqual(dry.stdoutLines, [
    `import from the legacy vault store (/v1/secret/data/iomete/poc at ${vault.url}) into global scope (dry run: nothing changed)`,
    'left alone API_TOKEN (global scope has it (version 3); --update-existing puts the legacy value as a new version)',
    'would import EXAMPLE_KEY: new',
    'not imported FIELDS: it has no field "value" (a V1 secret is {"value": "..."}; its fields: user, password)',
    'not imported "bad key!": not a valid secret key: it holds " ": a secret key has letters, digits, ".", "_" and "-" only',
    'not imported nested/: a folder: V1 kept each secret directly under the path (import it with its own --path)',
    'not imported short: its value is 3 byte(s); managed values need at least 4',
    '6 found: 1 would be imported (0 as new versions), 1 left alone, 4 not importable',
  ]);
  assert.ok(
    vault.requests().every((r) => r.hasToken && r.method === 'GET'),
    'only reads, each with the token',
  );

  const real = await run([...args, '--json'], 0, token);
  assert.deepEqual(putKeys(), ['EXAMPLE_KEY']);
  assert.equal(global.get('EXAMPLE_KEY')?.value, example, 'the legacy value, byte for byte');
  assert.equal(global.get('API_TOKEN')?.value, 'kept', 'an existing key is left alone');
  const put = fake.last<PutSecretRequest>('putSecret');
  assert.equal(
    put.description,
    `imported by latchkey import-legacy from the vault store /v1/secret/data/iomete/poc at ${vault.url}`,
  );
  const report = JSON.parse(real.stdoutLines.join('\n')) as {
    dryRun: boolean;
    scope: string;
    keys: { key: string; outcome: string; version?: number; done: boolean }[];
  };
  assert.equal(report.scope, 'global');
  assert.deepEqual(
    report.keys.map((k) => [k.key, k.outcome, k.version ?? null, k.done]),
    [
      ['API_TOKEN', 'exists', null, false],
      ['EXAMPLE_KEY', 'new', 1, true],
      ['FIELDS', 'skipped', null, false],
      ['bad key!', 'skipped', null, false],
      ['nested/', 'skipped', null, false],
      ['short', 'skipped', null, false],
    ],
  );

  fake.seen.clear();
  const again = await run(args, 0, token);
  assert.equal(fake.calls('putSecret'), 0, 'idempotent: a second run imports nothing');
  assert.match(
    again.stdoutLines.at(-1) ?? '',
    /^6 found: 0 imported \(0 as new versions\), 2 left alone, 4 not importable$/,
  );

  const updated = await run([...args, '--update-existing'], 0, token);
  assert.deepEqual(putKeys().sort(), ['API_TOKEN', 'EXAMPLE_KEY']);
  assert.equal(global.get('API_TOKEN')?.value, api);
  assert.ok(
    updated.stdoutLines.includes('imported API_TOKEN: version 4, new version (global scope has version 3)'),
    updated.stdoutLines.join('\n'),
  );
});

test('vault: a refused token, a missing mount and an unreachable Vault each name the store and the failure, and nothing is imported', async () => {
  await vault.putSecret('secret', 'iomete/refused/KEY', { value: planted('refused') });
  const base = ['import-legacy', '--from', 'vault', '--host', vault.url];
  const denied = await run([...base, '--path', '/v1/secret/data/iomete/refused'], 1, 'not-a-token');
  assert.match(
    stderr(denied),
    new RegExp(
      `cannot read the legacy vault store \\(/v1/secret/data/iomete/refused at ${vault.url}\\): Vault refused the token for the list of the path \\(403 permission denied\\); nothing was imported`,
    ),
  );
  const noMount = await run([...base, '--path', '/v1/nomount/data/iomete/poc'], 1, vault.rootToken);
  assert.match(stderr(noMount), /Vault answered the list of the path with HTTP 404: no handler for route/);
  const port = closedPort;
  const down = await run(
    ['import-legacy', '--from', 'vault', '--host', `http://127.0.0.1:${port}`, '--path', '/v1/secret/data/x'],
    1,
    vault.rootToken,
  );
  assert.match(
    stderr(down),
    new RegExp(
      `legacy vault store \\(/v1/secret/data/x at http://127.0.0.1:${port}\\): no answer from Vault \\(ECONNREFUSED\\); nothing was imported`,
    ),
  );
  assert.equal(fake.calls('putSecret'), 0);
  for (const out of [denied, noMount, down]) assert.ok(!stderr(out).includes(vault.rootToken), 'no token in an error');
});

test('vault: the token never goes on the command line, and a path without /data/ is refused before anything is read', async () => {
  const before = vault.requests().length;
  const onArgv = await run(
    ['import-legacy', '--from', 'vault', '--host', vault.url, '--path', '/v1/secret/data/x', '--token', 'hvs.typed'],
    2,
  );
  assert.match(stderr(onArgv), /--token is not accepted: Vault credentials never go on the command line/);
  assert.ok(!stderr(onArgv).includes('hvs.typed'));
  const kv1 = await run(
    ['import-legacy', '--from', 'vault', '--host', vault.url, '--path', '/v1/secret/iomete/poc'],
    2,
    'x',
  );
  assert.match(stderr(kv1), /--path must be a KV v2 data path with a \/data\/ segment/);
  const mixed = await run(
    ['import-legacy', '--from', 'vault', '--host', vault.url, '--path', '/v1/secret/data/x', '--table', 't'],
    2,
    'x',
  );
  assert.match(stderr(mixed), /--table is for --from database, not --from vault/);
  assert.equal(vault.requests().length, before, 'Vault was not asked');
});

// ---------------------------------------------------------------------------------------------
// Kubernetes: the Secret iomete-secret-store in the data plane's namespace

test('kubernetes: each data key of iomete-secret-store is imported into global scope; a deleted key in its window and a refused put of one key are reported', async () => {
  const db = planted('k8s-db');
  const big = planted('k8s-big');
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  const created = await fetch(`${kube.url}/api/v1/namespaces/dataplane/secrets`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${kube.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'iomete-secret-store' },
      type: 'Opaque',
      data: { DB_PASSWORD: b64(db), BIG_ONE: b64(big), OLD_KEY: b64(planted('k8s-old')) },
    }),
  });
  assert.equal(created.status, 201);
  const kubeconfig = join(dir.path, 'kubeconfig');
  await writeFile(kubeconfig, kube.kubeConfigYaml(), { mode: 0o600 });
  deleted.set('OLD_KEY', '2030-01-08T00:00:00Z');
  tooLarge.add('BIG_ONE');
  const args = ['import-legacy', '--from', 'kubernetes', '--kubeconfig', kubeconfig, '--namespace', 'dataplane'];
  const seenBefore = kube.requests().length;
  const out = await run(args, 0);
  assert.deepEqual(putKeys().sort(), ['BIG_ONE', 'DB_PASSWORD'], 'both were tried');
  assert.equal(global.get('DB_PASSWORD')?.value, db);
  assert.deepEqual(out.stdoutLines, [
    `import from the legacy kubernetes store (Secret dataplane/iomete-secret-store at ${kube.url}) into global scope`,
    'not imported BIG_ONE: the catalog refused it: the value is larger than the database backend takes (secret.value_too_large)',
    'imported DB_PASSWORD: version 1, new',
    'not imported OLD_KEY: a deleted global secret of this name is recoverable until 2030-01-08T00:00:00Z: restore it (latchkey secret restore OLD_KEY --global) or wait for the window to pass',
    '3 found: 1 imported (0 as new versions), 0 left alone, 2 not importable',
  ]);
  assert.deepEqual(
    kube
      .requests()
      .slice(seenBefore)
      .map((r) => `${r.method} ${r.path}`),
    ['GET /api/v1/namespaces/dataplane/secrets/iomete-secret-store'],
    'the legacy Secret is only read, once',
  );

  const missing = await run([...args, '--secret-name', 'no-such-store'], 1);
  assert.match(
    stderr(missing),
    /cannot read the legacy kubernetes store \(Secret dataplane\/no-such-store at http:\/\/127\.0\.0\.1:\d+\): there is no Secret no-such-store in namespace dataplane \(name another with --secret-name\); nothing was imported/,
  );
  const badConfig = join(dir.path, 'bad-kubeconfig');
  await writeFile(badConfig, kube.kubeConfigYaml().replace(kube.token, 'wrong-token'), { mode: 0o600 });
  const unauthorized = await run(
    ['import-legacy', '--from', 'kubernetes', '--kubeconfig', badConfig, '--namespace', 'dataplane'],
    1,
  );
  assert.match(
    stderr(unauthorized),
    /the API server refused the kubeconfig credentials \(401 Unauthorized\); nothing was imported/,
  );
  assert.ok(
    !stderr(unauthorized).includes('wrong-token') && !stderr(missing).includes(kube.token),
    'no token in an error',
  );
});

// ---------------------------------------------------------------------------------------------
// Database: the secret_store table

test('database: the secret_store table is imported (key, value), read only, with the password from stdin; other column names and bytea work', async () => {
  const url = new URL(await createTestDatabase(postgres, `legacy_${process.pid}_${randomBytes(3).toString('hex')}`));
  const password = decodeURIComponent(url.password);
  url.password = '';
  const client = new pg.Client({ connectionString: postgres.connectionString(url.pathname.slice(1)) });
  await client.connect();
  const one = planted('pg-one');
  const two = planted('pg-two');
  try {
    await client.query('CREATE TABLE secret_store (id serial, key text NOT NULL, value text)');
    await client.query(
      'INSERT INTO secret_store (key, value) VALUES ($1, $2), ($3, $4), ($5, NULL), ($6, $7), ($6, $8)',
      ['DB_ONE', one, 'DB_TWO', two, 'NULL_ONE', 'TWICE', planted('pg-a'), planted('pg-b')],
    );
    await client.query('CREATE SCHEMA v1');
    await client.query('CREATE TABLE v1.secrets (secret_key text, secret_value bytea)');
    await client.query('INSERT INTO v1.secrets VALUES ($1, $2)', ['BYTES', Buffer.from(planted('pg-bytes'))]);

    const args = ['import-legacy', '--from', 'database', '--url', url.toString(), '--credential-stdin'];
    const out = await run(args, 0, password);
    assert.deepEqual(putKeys().sort(), ['DB_ONE', 'DB_TWO']);
    assert.equal(global.get('DB_ONE')?.value, one);
    assert.deepEqual(out.stdoutLines.slice(1), [
      'imported DB_ONE: version 1, new',
      'imported DB_TWO: version 1, new',
      'not imported NULL_ONE: its value is NULL',
      'not imported TWICE: the store holds it 2 times, with no way to tell which is current: keep one',
      '4 found: 2 imported (0 as new versions), 0 left alone, 2 not importable',
    ]);
    assert.equal(
      out.stdoutLines[0],
      `import from the legacy database store (table secret_store of ${url.toString()}) into global scope`,
    );
    const rows = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM secret_store');
    assert.equal(rows.rows[0]?.n, 5, 'the legacy table is left as it was');

    fake.seen.clear();
    await run(args, 0, password);
    assert.equal(fake.calls('putSecret'), 0, 'a second run imports nothing');

    await run(
      ['import-legacy', '--from', 'database', '--url', url.toString(), '--table', 'v1.secrets', '--credential-stdin'],
      0,
      password,
    );
    assert.deepEqual(putKeys(), ['BYTES']);

    const noTable = await run([...args.slice(0, -1), '--table', 'nothing_here', '--credential-stdin'], 1, password);
    assert.match(
      stderr(noTable),
      /legacy database store \(table nothing_here of postgres:\/\/.+\): there is no table nothing_here/,
    );
    await client.query('CREATE TABLE odd (k text, v text)');
    const odd = await run([...args.slice(0, -1), '--table', 'odd', '--credential-stdin'], 1, password);
    assert.match(
      stderr(odd),
      /it has no key column \(one of key, secret_key, name\); its columns are k, v; nothing was imported/,
    );
  } finally {
    await client.end();
  }
});

test('database: a password in --url is refused without echoing it; a wrong password and a closed port name the store and the failure', async () => {
  const url = new URL(postgres.connectionString('postgres'));
  const typed = `pw${randomBytes(6).toString('hex')}`;
  const withPassword = new URL(url);
  withPassword.password = typed;
  const refused = await run(['import-legacy', '--from', 'database', '--url', withPassword.toString()], 2);
  assert.match(stderr(refused), /--url holds a password, and passwords never go on the command line/);
  assert.ok(!stderr(refused).includes(typed));
  url.password = '';
  const wrong = await run(
    ['import-legacy', '--from', 'database', '--url', url.toString(), '--credential-stdin'],
    1,
    typed,
  );
  assert.match(
    stderr(wrong),
    /cannot read the legacy database store \(table secret_store of postgres:\/\/.+\): cannot connect \(password authentication failed for user .+, SQLSTATE 28P01\); nothing was imported/,
  );
  assert.ok(!stderr(wrong).includes(typed));
  const port = closedPort;
  const down = await run(
    ['import-legacy', '--from', 'database', '--url', `postgres://app@127.0.0.1:${port}/iomete`],
    1,
  );
  assert.match(
    stderr(down),
    new RegExp(`table secret_store of postgres://app@127.0.0.1:${port}/iomete\\): cannot connect \\(ECONNREFUSED\\)`),
  );
  assert.equal(fake.calls('putSecret'), 0);
});

// ---------------------------------------------------------------------------------------------
// Who may import: ras decides through the catalog

test('a caller who may not see or manage global secrets gets permission denied and nothing is imported', async () => {
  await vault.putSecret('secret', 'iomete/perm/A_KEY', { value: planted('perm-a') });
  await vault.putSecret('secret', 'iomete/perm/B_KEY', { value: planted('perm-b') });
  const args = ['import-legacy', '--from', 'vault', '--host', vault.url, '--path', '/v1/secret/data/iomete/perm'];
  refuse = 'list';
  const listing = await run(args, 1, vault.rootToken);
  assert.match(stderr(listing), /mallory may not list global secrets; nothing was imported \(permission\.denied\)/);
  refuse = 'put';
  const putting = await run(args, 1, vault.rootToken);
  assert.match(
    stderr(putting),
    /the import stopped at key A_KEY: mallory may not manage global secrets; nothing was imported \(permission\.denied\)/,
  );
  assert.deepEqual(putKeys(), ['A_KEY'], 'the first refusal stops the run');
  assert.equal(global.size, 0);
});
