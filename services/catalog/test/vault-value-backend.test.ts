import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LatchkeyError } from '@latchkey/errors';
import { startVaultEmulator, type VaultEmulator, type VaultTestServer } from '@latchkey/testing';
import { VaultHttpClient } from '../src/adapters/vault-http-client.js';
import { VaultValueBackend } from '../src/adapters/vault-value-backend.js';
import { stopOnce, vaultServers } from './support.js';
import { valueBackendContract, writeText } from './value-backend-contract.js';

const servers = await vaultServers();

let unique = 0;

for (const s of servers) {
  describe(`vault value backend against the ${s.name}`, { skip: s.skip }, () => {
    let server: VaultTestServer;
    let backend: VaultValueBackend;
    let base: string;
    before(async () => {
      server = await s.start();
    });
    after(async () => {
      await server?.stop();
    });
    const make = () => {
      base = `latchkey-${++unique}`;
      backend = VaultValueBackend.create({
        host: server.url,
        auth: { method: 'token', token: server.rootToken },
        path: `/v1/secret/data/${base}`,
        timeoutMs: 2000,
      });
    };

    test('write stores {"value"} at <base>/<scope>/<KEY> and returns the Vault version as ref', async () => {
      make();
      const first = await writeText(backend, 'analytics', 'DB_PASSWORD', 1, 'p1');
      const second = await writeText(backend, 'analytics', 'DB_PASSWORD', 2, 'p2');
      assert.deepEqual([first.ref, second.ref], ['1', '2']);
      const raw = new VaultHttpClient({ host: server.url, auth: { method: 'token', token: server.rootToken } });
      assert.deepEqual(await raw.readKv2('secret', `${base}/analytics/DB_PASSWORD`), {
        data: { value: 'p2' },
        version: 2,
        deleted: false,
      });
      await backend.write({ scope: 'global', key: 'DB_PASSWORD', version: 1, value: Buffer.from('g') });
      assert.deepEqual(await raw.listKv2('secret', base), ['analytics/', 'global/']);
    });

    test('read gets each version by its ref, keeps utf-8 text exact, and is undefined for an unknown ref', async () => {
      make();
      const text = 'pässwörd ✓ 密码';
      const a = await backend.write({ scope: 'finance', key: 'K', version: 1, value: Buffer.from('one') });
      const b = await backend.write({ scope: 'finance', key: 'K', version: 2, value: Buffer.from(text) });
      assert.deepEqual(await backend.read({ scope: 'finance', key: 'K', version: 1, ref: a.ref }), Buffer.from('one'));
      assert.equal((await backend.read({ scope: 'finance', key: 'K', version: 2, ref: b.ref }))?.toString(), text);
      assert.equal(await backend.read({ scope: 'finance', key: 'K', version: 3, ref: '9' }), undefined);
      assert.equal(await backend.read({ scope: 'finance', key: 'OTHER', version: 1, ref: '1' }), undefined);
    });

    test('scopes are separate: the same key in two domains holds two values', async () => {
      make();
      const a = await backend.write({ scope: 'a', key: 'K', version: 1, value: Buffer.from('in-a') });
      const b = await backend.write({ scope: 'b', key: 'K', version: 1, value: Buffer.from('in-b') });
      assert.equal((await backend.read({ scope: 'a', key: 'K', version: 1, ref: a.ref }))?.toString(), 'in-a');
      assert.equal((await backend.read({ scope: 'b', key: 'K', version: 1, ref: b.ref }))?.toString(), 'in-b');
    });

    test('remove deletes every version, is idempotent, and leaves other keys alone', async () => {
      make();
      const a = await backend.write({ scope: 'ops', key: 'GONE', version: 1, value: Buffer.from('x') });
      await backend.write({ scope: 'ops', key: 'GONE', version: 2, value: Buffer.from('y') });
      const kept = await backend.write({ scope: 'ops', key: 'KEPT', version: 1, value: Buffer.from('k') });
      await backend.remove({ scope: 'ops', key: 'GONE' });
      await backend.remove({ scope: 'ops', key: 'GONE' });
      assert.equal(await backend.read({ scope: 'ops', key: 'GONE', version: 1, ref: a.ref }), undefined);
      assert.equal((await backend.read({ scope: 'ops', key: 'KEPT', version: 1, ref: kept.ref }))?.toString(), 'k');
    });

    test('concurrent writes of one key each get a distinct ref that reads back its own value', async () => {
      make();
      const refs = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          backend
            .write({ scope: 'c', key: 'K', version: i + 1, value: Buffer.from(`v${i}`) })
            .then((r) => ({ i, ...r })),
        ),
      );
      assert.equal(new Set(refs.map((r) => r.ref)).size, 10);
      for (const r of refs) {
        assert.equal(
          (await backend.read({ scope: 'c', key: 'K', version: r.i + 1, ref: r.ref }))?.toString(),
          `v${r.i}`,
        );
      }
    });

    test('values that are not UTF-8 text, bad scopes and "." keys are refused before any request', async () => {
      make();
      await assert.rejects(
        backend.write({ scope: 'a', key: 'K', version: 1, value: Buffer.from([0xff, 0xfe]) }),
        (err: unknown) => err instanceof LatchkeyError && err.code === 'secret.value_not_text',
      );
      await assert.rejects(backend.write({ scope: 'Bad/Scope', key: 'K', version: 1, value: Buffer.from('x') }), {
        code: 'secret.invalid_scope',
      });
      await assert.rejects(backend.write({ scope: 'a', key: '..', version: 1, value: Buffer.from('x') }), {
        code: 'secret.invalid_key',
      });
    });

    test('a path without /data/ is refused at construction with vault.not_kv2', () => {
      assert.throws(
        () =>
          VaultValueBackend.create({
            host: server.url,
            auth: { method: 'token', token: server.rootToken },
            path: '/v1/secret/latchkey',
          }),
        { code: 'vault.not_kv2' },
      );
    });
  });
}

describe('vault value backend: unavailable Vault', () => {
  let emu: VaultEmulator;
  before(async () => {
    emu = await startVaultEmulator();
  });
  after(async () => {
    await emu.stop();
  });
  const backend = () =>
    VaultValueBackend.create({
      host: emu.url,
      auth: { method: 'token', token: emu.rootToken },
      path: '/v1/secret/data/unavailable',
      timeoutMs: 1000,
    });

  test('a sealed Vault makes every operation fail with a retryable error that holds no value', async () => {
    const b = backend();
    const { ref } = await b.write({ scope: 'a', key: 'K', version: 1, value: Buffer.from('the-value-123') });
    emu.seal(true);
    try {
      for (const op of [
        () => b.write({ scope: 'a', key: 'K', version: 2, value: Buffer.from('the-value-123') }),
        () => b.read({ scope: 'a', key: 'K', version: 1, ref }),
        () => b.remove({ scope: 'a', key: 'K' }),
      ]) {
        await assert.rejects(op(), (err: unknown) => {
          assert.ok(err instanceof LatchkeyError);
          assert.equal(err.code, 'vault.sealed');
          assert.equal(err.retryable, true);
          assert.ok(!err.message.includes('the-value-123'));
          return true;
        });
      }
    } finally {
      emu.seal(false);
    }
    assert.equal((await b.read({ scope: 'a', key: 'K', version: 1, ref }))?.toString(), 'the-value-123');
  });

  test('a stopped Vault is vault.unreachable, retryable', async () => {
    const other = await startVaultEmulator();
    const b = VaultValueBackend.create({
      host: other.url,
      auth: { method: 'token', token: other.rootToken },
      path: '/v1/secret/data/x',
    });
    await other.stop();
    await assert.rejects(b.write({ scope: 'a', key: 'K', version: 1, value: Buffer.from('v') }), {
      code: 'vault.unreachable',
      retryable: true,
    });
  });
});

valueBackendContract('vault (emulator)', async () => {
  const emu = await startVaultEmulator();
  const stop = stopOnce(() => emu.stop());
  return {
    backend: VaultValueBackend.create({
      host: emu.url,
      auth: { method: 'token', token: emu.rootToken },
      path: '/v1/secret/data/latchkey',
      timeoutMs: 2000,
    }),
    makeUnavailable: stop,
    cleanup: stop,
  };
});
