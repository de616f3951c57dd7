import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import vault from 'node-vault';
import { startVaultEmulator, type VaultEmulator } from './vault-emulator.js';

interface Res {
  status: number;
  body: Record<string, unknown> | undefined;
}

async function call(
  emu: VaultEmulator,
  method: string,
  path: string,
  opts: { token?: string; namespace?: string; body?: unknown } = {},
): Promise<Res> {
  const headers: Record<string, string> = {};
  if (opts.token !== undefined) headers['X-Vault-Token'] = opts.token;
  if (opts.namespace !== undefined) headers['X-Vault-Namespace'] = opts.namespace;
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`${emu.url}${path}`, {
    method,
    headers,
    ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>) };
}

const POLICY_DENIED = '1 error occurred:\n\t* permission denied\n\n';

describe('vault emulator: KV v2', () => {
  let emu: VaultEmulator;
  before(async () => {
    emu = await startVaultEmulator();
  });
  after(async () => {
    await emu.stop();
  });

  test('a read answers the full envelope with data and version metadata', async () => {
    await emu.putSecret('secret', 'kv/read', { value: 'one' });
    const res = await call(emu, 'GET', '/v1/secret/data/kv/read', { token: emu.rootToken });
    assert.equal(res.status, 200);
    const body = res.body as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), [
      'auth',
      'data',
      'lease_duration',
      'lease_id',
      'mount_type',
      'renewable',
      'request_id',
      'warnings',
      'wrap_info',
    ]);
    assert.equal(body['lease_id'], '');
    assert.equal(body['mount_type'], 'kv');
    const data = body['data'] as { data: unknown; metadata: Record<string, unknown> };
    assert.deepEqual(data.data, { value: 'one' });
    assert.equal(data.metadata['version'], 1);
    assert.equal(data.metadata['deletion_time'], '');
    assert.equal(data.metadata['destroyed'], false);
    assert.equal(data.metadata['custom_metadata'], null);
    assert.equal(typeof data.metadata['created_time'], 'string');
  });

  test('?version=N reads an older version; a missing path or version is 404 with empty errors', async () => {
    await emu.putSecret('secret', 'kv/versions', { value: 'v1' });
    await emu.putSecret('secret', 'kv/versions', { value: 'v2' });
    const v1 = await call(emu, 'GET', '/v1/secret/data/kv/versions?version=1', { token: emu.rootToken });
    assert.deepEqual((v1.body?.['data'] as { data: unknown }).data, { value: 'v1' });
    const latest = await call(emu, 'GET', '/v1/secret/data/kv/versions', { token: emu.rootToken });
    assert.deepEqual((latest.body?.['data'] as { data: unknown }).data, { value: 'v2' });
    assert.deepEqual(await call(emu, 'GET', '/v1/secret/data/kv/versions?version=9', { token: emu.rootToken }), {
      status: 404,
      body: { errors: [] },
    });
    assert.deepEqual(await call(emu, 'GET', '/v1/secret/data/kv/nothing', { token: emu.rootToken }), {
      status: 404,
      body: { errors: [] },
    });
  });

  test('a soft-deleted version is 404 with data null and deletion_time set; a destroyed one has destroyed true', async () => {
    await emu.putSecret('secret', 'kv/deleted', { value: 'a' });
    await emu.putSecret('secret', 'kv/deleted', { value: 'b' });
    await emu.deleteVersion('secret', 'kv/deleted', 2);
    await emu.destroyVersion('secret', 'kv/deleted', 1);
    const deleted = await call(emu, 'GET', '/v1/secret/data/kv/deleted', { token: emu.rootToken });
    assert.equal(deleted.status, 404);
    const d = deleted.body?.['data'] as { data: unknown; metadata: Record<string, unknown> };
    assert.equal(d.data, null);
    assert.notEqual(d.metadata['deletion_time'], '');
    assert.equal(d.metadata['destroyed'], false);
    assert.equal(d.metadata['version'], 2);
    const destroyed = await call(emu, 'GET', '/v1/secret/data/kv/deleted?version=1', { token: emu.rootToken });
    assert.equal(destroyed.status, 404);
    const x = destroyed.body?.['data'] as { data: unknown; metadata: Record<string, unknown> };
    assert.equal(x.data, null);
    assert.equal(x.metadata['destroyed'], true);
    assert.equal(x.metadata['deletion_time'], '');
  });

  test('POST and PUT on a data path write a new version and answer its metadata', async () => {
    const first = await call(emu, 'POST', '/v1/secret/data/kv/written', {
      token: emu.rootToken,
      body: { data: { value: 'x' } },
    });
    assert.equal(first.status, 200);
    const meta = first.body?.['data'] as Record<string, unknown>;
    assert.deepEqual(Object.keys(meta).sort(), [
      'created_time',
      'custom_metadata',
      'deletion_time',
      'destroyed',
      'version',
    ]);
    assert.equal(meta['version'], 1);
    const second = await call(emu, 'PUT', '/v1/secret/data/kv/written', {
      token: emu.rootToken,
      body: { data: { value: 'y' } },
    });
    assert.equal((second.body?.['data'] as Record<string, unknown>)['version'], 2);
    const read = await call(emu, 'GET', '/v1/secret/data/kv/written', { token: emu.rootToken });
    assert.deepEqual((read.body?.['data'] as { data: unknown }).data, { value: 'y' });
    const noData = await call(emu, 'POST', '/v1/secret/data/kv/written', { token: emu.rootToken, body: {} });
    assert.equal(noData.status, 400);
    const cas = await call(emu, 'POST', '/v1/secret/data/kv/written', {
      token: emu.rootToken,
      body: { data: { value: 'z' }, options: { cas: 1 } },
    });
    assert.deepEqual(cas, {
      status: 400,
      body: { errors: ['check-and-set parameter did not match the current version'] },
    });
  });

  test('only the last 10 versions are kept, like Vault default max_versions', async () => {
    for (let i = 1; i <= 12; i++) await emu.putSecret('secret', 'kv/many', { value: String(i) });
    const old = await call(emu, 'GET', '/v1/secret/data/kv/many?version=2', { token: emu.rootToken });
    assert.equal(old.status, 404);
    const meta = await call(emu, 'GET', '/v1/secret/metadata/kv/many', { token: emu.rootToken });
    const data = meta.body?.['data'] as Record<string, unknown>;
    assert.equal(data['current_version'], 12);
    assert.equal(data['oldest_version'], 3);
  });

  test('metadata read answers current_version and every version', async () => {
    await emu.putSecret('secret', 'kv/meta', { value: 'a' });
    await emu.putSecret('secret', 'kv/meta', { value: 'b' });
    const res = await call(emu, 'GET', '/v1/secret/metadata/kv/meta', { token: emu.rootToken });
    assert.equal(res.status, 200);
    const data = res.body?.['data'] as Record<string, unknown>;
    assert.deepEqual(Object.keys(data).sort(), [
      'cas_required',
      'created_time',
      'current_version',
      'custom_metadata',
      'delete_version_after',
      'max_versions',
      'oldest_version',
      'updated_time',
      'versions',
    ]);
    assert.equal(data['current_version'], 2);
    assert.equal(data['delete_version_after'], '0s');
    assert.deepEqual(Object.keys(data['versions'] as object), ['1', '2']);
    assert.deepEqual(await call(emu, 'GET', '/v1/secret/metadata/kv/none', { token: emu.rootToken }), {
      status: 404,
      body: { errors: [] },
    });
  });

  test('list via ?list=true|1|t names children, folders ending in /; an empty folder is 404; a bad list value is 400', async () => {
    await emu.putSecret('secret', 'tree/a', { value: '1' });
    await emu.putSecret('secret', 'tree/b', { value: '1' });
    await emu.putSecret('secret', 'tree/sub/c', { value: '1' });
    for (const flag of ['true', '1', 't']) {
      const res = await call(emu, 'GET', `/v1/secret/metadata/tree?list=${flag}`, { token: emu.rootToken });
      assert.equal(res.status, 200, flag);
      assert.deepEqual((res.body?.['data'] as { keys: string[] }).keys, ['a', 'b', 'sub/']);
    }
    const slash = await call(emu, 'GET', '/v1/secret/metadata/tree/?list=true', { token: emu.rootToken });
    assert.deepEqual((slash.body?.['data'] as { keys: string[] }).keys, ['a', 'b', 'sub/']);
    assert.deepEqual(await call(emu, 'GET', '/v1/secret/metadata/empty?list=true', { token: emu.rootToken }), {
      status: 404,
      body: { errors: [] },
    });
    const bad = await call(emu, 'GET', '/v1/secret/metadata/tree?list=maybe', { token: emu.rootToken });
    assert.equal(bad.status, 400);
  });

  test('a list on a data path is 405 unsupported operation', async () => {
    assert.deepEqual(await call(emu, 'GET', '/v1/secret/data/tree?list=true', { token: emu.rootToken }), {
      status: 405,
      body: { errors: ['1 error occurred:\n\t* unsupported operation\n\n'] },
    });
  });

  test('DELETE on a metadata path removes every version', async () => {
    await emu.putSecret('secret', 'kv/gone', { value: 'a' });
    const res = await call(emu, 'DELETE', '/v1/secret/metadata/kv/gone', { token: emu.rootToken });
    assert.equal(res.status, 204);
    assert.equal((await call(emu, 'GET', '/v1/secret/data/kv/gone', { token: emu.rootToken })).status, 404);
    assert.equal((await call(emu, 'GET', '/v1/secret/metadata/kv/gone', { token: emu.rootToken })).status, 404);
    assert.equal((await call(emu, 'DELETE', '/v1/secret/metadata/kv/gone', { token: emu.rootToken })).status, 204);
  });

  test('a missing mount is 404 no handler for the root token and 403 for a policy-bound token', async () => {
    assert.deepEqual(await call(emu, 'GET', '/v1/nomount/data/x', { token: emu.rootToken }), {
      status: 404,
      body: { errors: ['no handler for route "nomount/data/x". route entry not found.'] },
    });
    const token = await emu.addToken(['secret/']);
    assert.deepEqual(await call(emu, 'GET', '/v1/nomount/data/x', { token }), {
      status: 403,
      body: { errors: [POLICY_DENIED] },
    });
  });
});

describe('vault emulator: tokens, policies and AppRole', () => {
  let emu: VaultEmulator;
  before(async () => {
    emu = await startVaultEmulator();
    await emu.putSecret('secret', 'team/a/key', { value: 'v' });
    await emu.putSecret('secret', 'team/b/key', { value: 'v' });
  });
  after(async () => {
    await emu.stop();
  });

  test('a bad, missing or expired token is 403 permission denied', async () => {
    const expected = { status: 403, body: { errors: ['permission denied'] } };
    assert.deepEqual(await call(emu, 'GET', '/v1/secret/data/team/a/key', { token: 'hvs.nope' }), expected);
    assert.deepEqual(await call(emu, 'GET', '/v1/secret/data/team/a/key'), expected);
    const expired = await emu.addToken([''], { ttlSeconds: 0 });
    assert.deepEqual(await call(emu, 'GET', '/v1/secret/data/team/a/key', { token: expired }), expected);
  });

  test('a token reads inside its path prefixes and gets the "1 error occurred" 403 outside them', async () => {
    const token = await emu.addToken(['secret/data/team/a/', 'secret/metadata/team/a/']);
    assert.equal((await call(emu, 'GET', '/v1/secret/data/team/a/key', { token })).status, 200);
    assert.equal((await call(emu, 'GET', '/v1/secret/metadata/team/a?list=true', { token })).status, 200);
    assert.deepEqual(await call(emu, 'GET', '/v1/secret/data/team/b/key', { token }), {
      status: 403,
      body: { errors: [POLICY_DENIED] },
    });
    assert.equal((await call(emu, 'GET', '/v1/secret/metadata/team?list=true', { token })).status, 403);
  });

  test('the token also works as Authorization: Bearer', async () => {
    const res = await fetch(`${emu.url}/v1/secret/data/team/a/key`, {
      headers: { Authorization: `Bearer ${emu.rootToken}` },
    });
    assert.equal(res.status, 200);
  });

  test('lookup-self answers the token data; the root token has ttl 0 and no expire_time', async () => {
    const root = await call(emu, 'GET', '/v1/auth/token/lookup-self', { token: emu.rootToken });
    const rd = root.body?.['data'] as Record<string, unknown>;
    assert.equal(rd['ttl'], 0);
    assert.equal(rd['expire_time'], null);
    assert.deepEqual(rd['policies'], ['root']);
    const token = await emu.addToken(['secret/'], { ttlSeconds: 3600 });
    const res = await call(emu, 'GET', '/v1/auth/token/lookup-self', { token });
    const d = res.body?.['data'] as Record<string, unknown>;
    for (const k of [
      'accessor',
      'creation_time',
      'creation_ttl',
      'display_name',
      'entity_id',
      'expire_time',
      'explicit_max_ttl',
      'id',
      'issue_time',
      'meta',
      'num_uses',
      'orphan',
      'path',
      'policies',
      'renewable',
      'ttl',
    ]) {
      assert.ok(k in d, k);
    }
    assert.equal(d['id'], token);
    assert.ok((d['ttl'] as number) > 3500);
    assert.equal(d['renewable'], true);
  });

  test('renew-self extends the token by the increment and answers auth', async () => {
    const token = await emu.addToken(['secret/'], { ttlSeconds: 60 });
    const res = await call(emu, 'POST', '/v1/auth/token/renew-self', { token, body: { increment: '1h' } });
    assert.equal(res.status, 200);
    const auth = res.body?.['auth'] as Record<string, unknown>;
    assert.equal(auth['client_token'], token);
    assert.equal(auth['lease_duration'], 3600);
    const look = await call(emu, 'GET', '/v1/auth/token/lookup-self', { token });
    assert.ok(((look.body?.['data'] as Record<string, unknown>)['ttl'] as number) > 3500);
  });

  test('AppRole login answers auth with the configured lease; bad or missing ids are 400', async () => {
    await emu.addAppRole('role-1', 'secret-1', ['secret/data/team/a/'], { leaseSeconds: 90, roleName: 'reader' });
    const ok = await call(emu, 'POST', '/v1/auth/approle/login', {
      body: { role_id: 'role-1', secret_id: 'secret-1' },
    });
    assert.equal(ok.status, 200);
    assert.equal(ok.body?.['data'], null);
    const auth = ok.body?.['auth'] as Record<string, unknown>;
    assert.equal(auth['lease_duration'], 90);
    assert.equal(auth['renewable'], true);
    assert.equal(auth['token_type'], 'service');
    assert.deepEqual(auth['metadata'], { role_name: 'reader' });
    const token = auth['client_token'] as string;
    assert.equal((await call(emu, 'GET', '/v1/secret/data/team/a/key', { token })).status, 200);
    assert.equal((await call(emu, 'GET', '/v1/secret/data/team/b/key', { token })).status, 403);
    assert.deepEqual(
      await call(emu, 'POST', '/v1/auth/approle/login', { body: { role_id: 'role-1', secret_id: 'wrong' } }),
      { status: 400, body: { errors: ['invalid role or secret ID'] } },
    );
    assert.deepEqual(await call(emu, 'POST', '/v1/auth/approle/login', { body: { role_id: 'role-1' } }), {
      status: 400,
      body: { errors: ['missing secret_id'] },
    });
  });

  test('the request log records method, path, query, namespace and whether a token was sent, never the token', async () => {
    emu.clearRequests();
    const token = await emu.addToken(['']);
    await call(emu, 'GET', '/v1/secret/metadata/team?list=true', { token });
    await call(emu, 'POST', '/v1/auth/approle/login', { body: { role_id: 'role-1', secret_id: 'secret-1' } });
    assert.deepEqual(emu.requests(), [
      {
        method: 'GET',
        path: '/v1/secret/metadata/team',
        query: { list: 'true' },
        namespace: undefined,
        hasToken: true,
      },
      { method: 'POST', path: '/v1/auth/approle/login', query: {}, namespace: undefined, hasToken: false },
    ]);
    assert.ok(!JSON.stringify(emu.requests()).includes(token));
    assert.ok(!JSON.stringify(emu.requests()).includes('secret-1'));
  });
});

describe('vault emulator: namespaces, seal, latency and failures', () => {
  let emu: VaultEmulator;
  before(async () => {
    emu = await startVaultEmulator();
    await emu.mount('kv', { namespace: 'ns1/ns2' });
    await emu.putSecret('kv', 'app/key', { value: 'in-ns' }, { namespace: 'ns1/ns2' });
  });
  after(async () => {
    await emu.stop();
  });

  test('a namespaced mount answers through the header, the path prefix, or both combined', async () => {
    const viaHeader = await call(emu, 'GET', '/v1/kv/data/app/key', { token: emu.rootToken, namespace: 'ns1/ns2' });
    assert.deepEqual((viaHeader.body?.['data'] as { data: unknown }).data, { value: 'in-ns' });
    const viaPath = await call(emu, 'GET', '/v1/ns1/ns2/kv/data/app/key', { token: emu.rootToken });
    assert.equal(viaPath.status, 200);
    const mixed = await call(emu, 'GET', '/v1/ns2/kv/data/app/key', { token: emu.rootToken, namespace: 'ns1' });
    assert.equal(mixed.status, 200);
    const root = await call(emu, 'GET', '/v1/kv/data/app/key', { token: emu.rootToken });
    assert.equal(root.status, 404);
    const log = emu.requests().slice(-4);
    assert.deepEqual(
      log.map((e) => e.namespace),
      ['ns1/ns2', 'ns1/ns2', 'ns1/ns2', undefined],
    );
  });

  test('policy prefixes include the namespace', async () => {
    const token = await emu.addToken(['ns1/ns2/kv/data/app/']);
    assert.equal((await call(emu, 'GET', '/v1/kv/data/app/key', { token, namespace: 'ns1/ns2' })).status, 200);
    const other = await emu.addToken(['kv/data/app/']);
    assert.equal((await call(emu, 'GET', '/v1/kv/data/app/key', { token: other, namespace: 'ns1/ns2' })).status, 403);
  });

  test('a sealed emulator answers 503 Vault is sealed to everything until unsealed', async () => {
    emu.seal(true);
    try {
      assert.deepEqual(await call(emu, 'GET', '/v1/auth/token/lookup-self', { token: emu.rootToken }), {
        status: 503,
        body: { errors: ['Vault is sealed'] },
      });
      assert.equal((await call(emu, 'POST', '/v1/auth/approle/login', { body: { role_id: 'x' } })).status, 503);
    } finally {
      emu.seal(false);
    }
    assert.equal((await call(emu, 'GET', '/v1/auth/token/lookup-self', { token: emu.rootToken })).status, 200);
  });

  test('failNext answers the given status for exactly that many requests; reset drops the connection', async () => {
    emu.failNext(2, 500);
    assert.equal((await call(emu, 'GET', '/v1/auth/token/lookup-self', { token: emu.rootToken })).status, 500);
    assert.equal((await call(emu, 'GET', '/v1/auth/token/lookup-self', { token: emu.rootToken })).status, 500);
    assert.equal((await call(emu, 'GET', '/v1/auth/token/lookup-self', { token: emu.rootToken })).status, 200);
    emu.failNext(1, 'reset');
    await assert.rejects(call(emu, 'GET', '/v1/auth/token/lookup-self', { token: emu.rootToken }));
    assert.equal((await call(emu, 'GET', '/v1/auth/token/lookup-self', { token: emu.rootToken })).status, 200);
  });

  test('setLatency delays every answer', async () => {
    emu.setLatency(150);
    try {
      const started = performance.now();
      await call(emu, 'GET', '/v1/auth/token/lookup-self', { token: emu.rootToken });
      assert.ok(performance.now() - started >= 140);
    } finally {
      emu.setLatency(0);
    }
  });
});

describe('vault emulator driven by node-vault (noCustomHTTPVerbs)', () => {
  let emu: VaultEmulator;
  before(async () => {
    emu = await startVaultEmulator();
    await emu.putSecret('secret', 'nv/one', { value: '1' });
    await emu.putSecret('secret', 'nv/two', { value: '2' });
    await emu.addAppRole('nv-role', 'nv-secret', ['secret/', 'team/kv/'], { leaseSeconds: 600 });
  });
  after(async () => {
    await emu.stop();
  });

  test('read, list, write, lookup-self and AppRole login work; errors carry status and errors[0]', async () => {
    const client = vault({ endpoint: emu.url, token: emu.rootToken, noCustomHTTPVerbs: true });
    const read = (await client.read('secret/data/nv/one')) as { data: { data: unknown } };
    assert.deepEqual(read.data.data, { value: '1' });
    const list = (await client.list('secret/metadata/nv')) as { data: { keys: string[] } };
    assert.deepEqual(list.data.keys, ['one', 'two']);
    const written = (await client.write('secret/data/nv/three', { data: { value: '3' } })) as {
      data: { version: number };
    };
    assert.equal(written.data.version, 1);
    const self = (await client.tokenLookupSelf()) as { data: { ttl: number } };
    assert.equal(self.data.ttl, 0);
    const missing: unknown = await client.read('secret/data/nv/none').catch((e: unknown) => e);
    assert.equal((missing as Error).message, 'Status 404');
    assert.equal((missing as { response: { statusCode: number } }).response.statusCode, 404);

    const approle = vault({ endpoint: emu.url, noCustomHTTPVerbs: true });
    const login = (await approle.approleLogin({ role_id: 'nv-role', secret_id: 'nv-secret' })) as {
      auth: { lease_duration: number };
    };
    assert.equal(login.auth.lease_duration, 600);
    const viaRole = (await approle.read('secret/data/nv/two')) as { data: { data: unknown } };
    assert.deepEqual(viaRole.data.data, { value: '2' });
    const bad: unknown = await approle.approleLogin({ role_id: 'nv-role', secret_id: 'no' }).catch((e: unknown) => e);
    assert.equal((bad as Error).message, 'invalid role or secret ID');
  });

  test('the namespace option sends X-Vault-Namespace, including on login', async () => {
    await emu.mount('kv', { namespace: 'team' });
    await emu.putSecret('kv', 'p', { value: 'ns' }, { namespace: 'team' });
    emu.clearRequests();
    const client = vault({ endpoint: emu.url, namespace: 'team', noCustomHTTPVerbs: true });
    await client.approleLogin({ role_id: 'nv-role', secret_id: 'nv-secret' });
    const res = (await client.read('kv/data/p')) as { data: { data: unknown } };
    assert.deepEqual(res.data.data, { value: 'ns' });
    assert.deepEqual(
      emu.requests().map((e) => [e.method, e.path, e.namespace, e.hasToken]),
      [
        ['POST', '/v1/auth/approle/login', 'team', false],
        ['GET', '/v1/kv/data/p', 'team', true],
      ],
    );
  });
});
