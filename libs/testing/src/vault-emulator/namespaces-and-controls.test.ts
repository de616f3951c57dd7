import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { useVaultEmulator } from './test-client.js';

describe('vault emulator: namespaces, seal, latency and failures', () => {
  const fx = useVaultEmulator(async (emu) => {
    await emu.mount('kv', { namespace: 'ns1/ns2' });
    await emu.putSecret('kv', 'app/key', { value: 'in-ns' }, { namespace: 'ns1/ns2' });
  });

  test('a namespaced mount answers through the header, the path prefix, or both combined', async () => {
    const viaHeader = await fx.call('GET', '/v1/kv/data/app/key', { token: fx.emu.rootToken, namespace: 'ns1/ns2' });
    assert.deepEqual((viaHeader.body?.['data'] as { data: unknown }).data, { value: 'in-ns' });
    const viaPath = await fx.call('GET', '/v1/ns1/ns2/kv/data/app/key', { token: fx.emu.rootToken });
    assert.equal(viaPath.status, 200);
    const mixed = await fx.call('GET', '/v1/ns2/kv/data/app/key', { token: fx.emu.rootToken, namespace: 'ns1' });
    assert.equal(mixed.status, 200);
    const root = await fx.call('GET', '/v1/kv/data/app/key', { token: fx.emu.rootToken });
    assert.equal(root.status, 404);
    const log = fx.emu.requests().slice(-4);
    assert.deepEqual(
      log.map((e) => e.namespace),
      ['ns1/ns2', 'ns1/ns2', 'ns1/ns2', undefined],
    );
  });

  test('policy prefixes include the namespace', async () => {
    const token = await fx.emu.addToken(['ns1/ns2/kv/data/app/']);
    assert.equal((await fx.call('GET', '/v1/kv/data/app/key', { token, namespace: 'ns1/ns2' })).status, 200);
    const other = await fx.emu.addToken(['kv/data/app/']);
    assert.equal((await fx.call('GET', '/v1/kv/data/app/key', { token: other, namespace: 'ns1/ns2' })).status, 403);
  });

  test('a sealed emulator answers 503 Vault is sealed to everything until unsealed', async () => {
    fx.emu.seal(true);
    try {
      assert.deepEqual(await fx.call('GET', '/v1/auth/token/lookup-self', { token: fx.emu.rootToken }), {
        status: 503,
        body: { errors: ['Vault is sealed'] },
      });
      assert.equal((await fx.call('POST', '/v1/auth/approle/login', { body: { role_id: 'x' } })).status, 503);
    } finally {
      fx.emu.seal(false);
    }
    assert.equal((await fx.call('GET', '/v1/auth/token/lookup-self', { token: fx.emu.rootToken })).status, 200);
  });

  test('failNext answers the given status for exactly that many requests; reset drops the connection', async () => {
    fx.emu.failNext(2, 500);
    assert.equal((await fx.call('GET', '/v1/auth/token/lookup-self', { token: fx.emu.rootToken })).status, 500);
    assert.equal((await fx.call('GET', '/v1/auth/token/lookup-self', { token: fx.emu.rootToken })).status, 500);
    assert.equal((await fx.call('GET', '/v1/auth/token/lookup-self', { token: fx.emu.rootToken })).status, 200);
    fx.emu.failNext(1, 'reset');
    await assert.rejects(fx.call('GET', '/v1/auth/token/lookup-self', { token: fx.emu.rootToken }));
    assert.equal((await fx.call('GET', '/v1/auth/token/lookup-self', { token: fx.emu.rootToken })).status, 200);
  });

  test("injectFault answers Vault's error for matching paths until cleared; hang waits for the clear", async () => {
    const path = '/v1/ns1/ns2/kv/data/app/key';
    const other = '/v1/auth/token/lookup-self';
    const bodies: Record<number, unknown> = {
      403: { errors: ['1 error occurred:\n\t* permission denied\n\n'] },
      404: { errors: [] },
      429: { errors: ['request path "ns1/ns2/kv/data/app/key": rate limit quota exceeded'] },
      500: { errors: ['1 error occurred:\n\t* internal error\n\n'] },
      503: { errors: ['Vault is sealed'] },
    };
    for (const kind of [403, 404, 429, 500, 503] as const) {
      const clear = fx.emu.injectFault('ns1/ns2/kv/data/app/', kind);
      try {
        for (let i = 0; i < 2; i += 1) {
          const answer = await fx.call('GET', path, { token: fx.emu.rootToken });
          assert.equal(answer.status, kind);
          if (kind !== 403) assert.deepEqual(answer.body, bodies[kind]);
        }
        assert.equal((await fx.call('GET', other, { token: fx.emu.rootToken })).status, 200);
      } finally {
        clear();
      }
      assert.equal((await fx.call('GET', path, { token: fx.emu.rootToken })).status, 200);
    }
    const clear = fx.emu.injectFault('/v1/ns1/ns2/kv/', 'hang');
    let settled = false;
    const pending = fx.call('GET', path, { token: fx.emu.rootToken }).finally(() => {
      settled = true;
    });
    // The hung request is logged before it waits; other paths still answer meanwhile.
    const deadline = Date.now() + 10_000;
    while (fx.emu.requests().at(-1)?.path !== path) {
      assert.ok(Date.now() < deadline, 'the hung request never reached the emulator');
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal((await fx.call('GET', other, { token: fx.emu.rootToken })).status, 200);
    assert.equal(settled, false, 'a hung request answered before its fault was cleared');
    clear();
    assert.equal((await pending).status, 200);
  });

  test('setLatency delays every answer', async () => {
    fx.emu.setLatency(150);
    try {
      const started = performance.now();
      await fx.call('GET', '/v1/auth/token/lookup-self', { token: fx.emu.rootToken });
      assert.ok(performance.now() - started >= 140);
    } finally {
      fx.emu.setLatency(0);
    }
  });
});
