import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call } from './test-client.js';
import { startVaultEmulator } from './server.js';
import type { VaultEmulator } from './types.js';

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
