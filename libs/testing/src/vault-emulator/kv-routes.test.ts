import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startVaultEmulator } from './server.js';
import { call, EMPTY_404, POLICY_DENIED, useVaultEmulator } from './test-client.js';

/** The fields of Vault's answers, sorted (shared/reference/wire-facts.md). */
const ENVELOPE_KEYS = [
  'auth',
  'data',
  'lease_duration',
  'lease_id',
  'mount_type',
  'renewable',
  'request_id',
  'warnings',
  'wrap_info',
];
const VERSION_METADATA_KEYS = ['created_time', 'custom_metadata', 'deletion_time', 'destroyed', 'version'];
const METADATA_KEYS = [
  'cas_required',
  'created_time',
  'current_version',
  'custom_metadata',
  'delete_version_after',
  'max_versions',
  'oldest_version',
  'updated_time',
  'versions',
];

describe('vault emulator: KV v2', () => {
  const fx = useVaultEmulator();

  test('a read answers the full envelope with data and version metadata', async () => {
    await fx.emu.putSecret('secret', 'kv/read', { value: 'one' });
    const res = await fx.call('GET', '/v1/secret/data/kv/read', { token: fx.emu.rootToken });
    assert.equal(res.status, 200);
    const body = res.body as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), ENVELOPE_KEYS);
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
    await fx.emu.putSecret('secret', 'kv/versions', { value: 'v1' });
    await fx.emu.putSecret('secret', 'kv/versions', { value: 'v2' });
    const v1 = await fx.call('GET', '/v1/secret/data/kv/versions?version=1', { token: fx.emu.rootToken });
    assert.deepEqual((v1.body?.['data'] as { data: unknown }).data, { value: 'v1' });
    const latest = await fx.call('GET', '/v1/secret/data/kv/versions', { token: fx.emu.rootToken });
    assert.deepEqual((latest.body?.['data'] as { data: unknown }).data, { value: 'v2' });
    assert.deepEqual(
      await fx.call('GET', '/v1/secret/data/kv/versions?version=9', { token: fx.emu.rootToken }),
      EMPTY_404,
    );
    assert.deepEqual(await fx.call('GET', '/v1/secret/data/kv/nothing', { token: fx.emu.rootToken }), EMPTY_404);
  });

  test('a soft-deleted version is 404 with data null and deletion_time set; a destroyed one has destroyed true', async () => {
    await fx.emu.putSecret('secret', 'kv/deleted', { value: 'a' });
    await fx.emu.putSecret('secret', 'kv/deleted', { value: 'b' });
    await fx.emu.deleteVersion('secret', 'kv/deleted', 2);
    await fx.emu.destroyVersion('secret', 'kv/deleted', 1);
    const deleted = await fx.call('GET', '/v1/secret/data/kv/deleted', { token: fx.emu.rootToken });
    assert.equal(deleted.status, 404);
    const d = deleted.body?.['data'] as { data: unknown; metadata: Record<string, unknown> };
    assert.equal(d.data, null);
    assert.notEqual(d.metadata['deletion_time'], '');
    assert.equal(d.metadata['destroyed'], false);
    assert.equal(d.metadata['version'], 2);
    const destroyed = await fx.call('GET', '/v1/secret/data/kv/deleted?version=1', { token: fx.emu.rootToken });
    assert.equal(destroyed.status, 404);
    const x = destroyed.body?.['data'] as { data: unknown; metadata: Record<string, unknown> };
    assert.equal(x.data, null);
    assert.equal(x.metadata['destroyed'], true);
    assert.equal(x.metadata['deletion_time'], '');
  });

  test('POST and PUT on a data path write a new version and answer its metadata', async () => {
    const first = await fx.call('POST', '/v1/secret/data/kv/written', {
      token: fx.emu.rootToken,
      body: { data: { value: 'x' } },
    });
    assert.equal(first.status, 200);
    const meta = first.body?.['data'] as Record<string, unknown>;
    assert.deepEqual(Object.keys(meta).sort(), VERSION_METADATA_KEYS);
    assert.equal(meta['version'], 1);
    const second = await fx.call('PUT', '/v1/secret/data/kv/written', {
      token: fx.emu.rootToken,
      body: { data: { value: 'y' } },
    });
    assert.equal((second.body?.['data'] as Record<string, unknown>)['version'], 2);
    const read = await fx.call('GET', '/v1/secret/data/kv/written', { token: fx.emu.rootToken });
    assert.deepEqual((read.body?.['data'] as { data: unknown }).data, { value: 'y' });
    const noData = await fx.call('POST', '/v1/secret/data/kv/written', { token: fx.emu.rootToken, body: {} });
    assert.equal(noData.status, 400);
    const cas = await fx.call('POST', '/v1/secret/data/kv/written', {
      token: fx.emu.rootToken,
      body: { data: { value: 'z' }, options: { cas: 1 } },
    });
    assert.deepEqual(cas, {
      status: 400,
      body: { errors: ['check-and-set parameter did not match the current version'] },
    });
  });

  test('only the last 10 versions are kept, like Vault default max_versions', async () => {
    for (let i = 1; i <= 12; i++) await fx.emu.putSecret('secret', 'kv/many', { value: String(i) });
    const old = await fx.call('GET', '/v1/secret/data/kv/many?version=2', { token: fx.emu.rootToken });
    assert.equal(old.status, 404);
    const meta = await fx.call('GET', '/v1/secret/metadata/kv/many', { token: fx.emu.rootToken });
    const data = meta.body?.['data'] as Record<string, unknown>;
    assert.equal(data['current_version'], 12);
    assert.equal(data['oldest_version'], 3);
  });

  test('metadata read answers current_version and every version', async () => {
    await fx.emu.putSecret('secret', 'kv/meta', { value: 'a' });
    await fx.emu.putSecret('secret', 'kv/meta', { value: 'b' });
    const res = await fx.call('GET', '/v1/secret/metadata/kv/meta', { token: fx.emu.rootToken });
    assert.equal(res.status, 200);
    const data = res.body?.['data'] as Record<string, unknown>;
    assert.deepEqual(Object.keys(data).sort(), METADATA_KEYS);
    assert.equal(data['current_version'], 2);
    assert.equal(data['delete_version_after'], '0s');
    assert.deepEqual(Object.keys(data['versions'] as object), ['1', '2']);
    assert.deepEqual(await fx.call('GET', '/v1/secret/metadata/kv/none', { token: fx.emu.rootToken }), EMPTY_404);
  });

  test('list via ?list=true|1|t names children, folders ending in /; an empty folder is 404; a bad list value is 400', async () => {
    await fx.emu.putSecret('secret', 'tree/a', { value: '1' });
    await fx.emu.putSecret('secret', 'tree/b', { value: '1' });
    await fx.emu.putSecret('secret', 'tree/sub/c', { value: '1' });
    for (const flag of ['true', '1', 't']) {
      const res = await fx.call('GET', `/v1/secret/metadata/tree?list=${flag}`, { token: fx.emu.rootToken });
      assert.equal(res.status, 200, flag);
      assert.deepEqual((res.body?.['data'] as { keys: string[] }).keys, ['a', 'b', 'sub/']);
    }
    const slash = await fx.call('GET', '/v1/secret/metadata/tree/?list=true', { token: fx.emu.rootToken });
    assert.deepEqual((slash.body?.['data'] as { keys: string[] }).keys, ['a', 'b', 'sub/']);
    assert.deepEqual(
      await fx.call('GET', '/v1/secret/metadata/empty?list=true', { token: fx.emu.rootToken }),
      EMPTY_404,
    );
    const bad = await fx.call('GET', '/v1/secret/metadata/tree?list=maybe', { token: fx.emu.rootToken });
    assert.equal(bad.status, 400);
  });

  test('a list on a data path is 405 unsupported operation', async () => {
    assert.deepEqual(await fx.call('GET', '/v1/secret/data/tree?list=true', { token: fx.emu.rootToken }), {
      status: 405,
      body: { errors: ['1 error occurred:\n\t* unsupported operation\n\n'] },
    });
  });

  test('DELETE on a metadata path removes every version', async () => {
    await fx.emu.putSecret('secret', 'kv/gone', { value: 'a' });
    const res = await fx.call('DELETE', '/v1/secret/metadata/kv/gone', { token: fx.emu.rootToken });
    assert.equal(res.status, 204);
    assert.equal((await fx.call('GET', '/v1/secret/data/kv/gone', { token: fx.emu.rootToken })).status, 404);
    assert.equal((await fx.call('GET', '/v1/secret/metadata/kv/gone', { token: fx.emu.rootToken })).status, 404);
    assert.equal((await fx.call('DELETE', '/v1/secret/metadata/kv/gone', { token: fx.emu.rootToken })).status, 204);
  });

  test('a missing mount is 404 no handler for the root token and 403 for a policy-bound token', async () => {
    assert.deepEqual(await fx.call('GET', '/v1/nomount/data/x', { token: fx.emu.rootToken }), {
      status: 404,
      body: { errors: ['no handler for route "nomount/data/x". route entry not found.'] },
    });
    const token = await fx.emu.addToken(['secret/']);
    assert.deepEqual(await fx.call('GET', '/v1/nomount/data/x', { token }), {
      status: 403,
      body: { errors: [POLICY_DENIED] },
    });
  });
});

describe("vault emulator: the listener's max_request_size", () => {
  test('a body over maxRequestBytes is 413 and writes nothing; one at the limit is written', async () => {
    const emu = await startVaultEmulator({ maxRequestBytes: 200 });
    try {
      const body = (n: number) => ({ data: { value: 'x'.repeat(n - JSON.stringify({ data: { value: '' } }).length) } });
      const over = await call(emu, 'POST', '/v1/secret/data/big', { token: emu.rootToken, body: body(201) });
      assert.deepEqual(over, { status: 413, body: { errors: ['http: request body too large'] } });
      const read = await call(emu, 'GET', '/v1/secret/data/big', { token: emu.rootToken });
      assert.equal(read.status, 404);
      const at = await call(emu, 'POST', '/v1/secret/data/big', { token: emu.rootToken, body: body(200) });
      assert.equal(at.status, 200);
    } finally {
      await emu.stop();
    }
  });
});
