import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import vault from 'node-vault';
import { useVaultEmulator } from './test-client.js';

describe('vault emulator driven by node-vault (noCustomHTTPVerbs)', () => {
  const fx = useVaultEmulator(async (emu) => {
    await emu.putSecret('secret', 'nv/one', { value: '1' });
    await emu.putSecret('secret', 'nv/two', { value: '2' });
    await emu.addAppRole('nv-role', 'nv-secret', ['secret/', 'team/kv/'], { leaseSeconds: 600 });
  });

  test('read, list, write, lookup-self and AppRole login work; errors carry status and errors[0]', async () => {
    const client = vault({ endpoint: fx.emu.url, token: fx.emu.rootToken, noCustomHTTPVerbs: true });
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

    const approle = vault({ endpoint: fx.emu.url, noCustomHTTPVerbs: true });
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
    await fx.emu.mount('kv', { namespace: 'team' });
    await fx.emu.putSecret('kv', 'p', { value: 'ns' }, { namespace: 'team' });
    fx.emu.clearRequests();
    const client = vault({ endpoint: fx.emu.url, namespace: 'team', noCustomHTTPVerbs: true });
    await client.approleLogin({ role_id: 'nv-role', secret_id: 'nv-secret' });
    const res = (await client.read('kv/data/p')) as { data: { data: unknown } };
    assert.deepEqual(res.data.data, { value: 'ns' });
    assert.deepEqual(
      fx.emu.requests().map((e) => [e.method, e.path, e.namespace, e.hasToken]),
      [
        ['POST', '/v1/auth/approle/login', 'team', false],
        ['GET', '/v1/kv/data/p', 'team', true],
      ],
    );
  });
});
