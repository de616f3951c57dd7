import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import https from 'node:https';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { inspect } from 'node:util';
import type { LatchkeyError } from '@latchkey/errors';
import { startVaultEmulator, tempDir, waitFor, type VaultEmulator, type VaultTestServer } from '@latchkey/testing';
import {
  parseKv2Path,
  readOnlyVaultClient,
  VaultHttpClient,
  type VaultHttpClientOptions,
} from '../src/adapters/vault-http-client.js';
import { VaultHostPolicy } from '../src/adapters/vault-host-policy.js';
import { VaultIntegrationReader } from '../src/adapters/vault-integration-reader.js';
import { CachedVaultSources } from '../src/adapters/vault-sources.js';
import type { VaultRequestSample } from '@latchkey/metrics';
import { closedPort, rejection, vaultServers } from './support.js';

const servers = await vaultServers();

let unique = 0;
/** A fresh base path per test, so suites can share one server. */
const fresh = (label: string) => `t${++unique}-${label}`;

/** The credential appears in no view of the error, and the error carries no cause. */
function assertNoLeak(err: LatchkeyError, secrets: string[]): void {
  const views = [err.message, String(err), JSON.stringify(err), inspect(err, { depth: 10 }), err.stack ?? ''];
  for (const secret of secrets) {
    for (const view of views) assert.ok(!view.includes(secret), `a credential leaked into: ${view}`);
  }
  assert.equal(err.cause, undefined);
}

test('parseKv2Path splits /v1/<mount>/data/<base> and says what a KV v2 path looks like otherwise', async () => {
  assert.deepEqual(parseKv2Path('/v1/secret/data/team/app'), { mount: 'secret', base: 'team/app' });
  assert.deepEqual(parseKv2Path('/v1/ns1/kv/data/app/'), { mount: 'ns1/kv', base: 'app' });
  assert.deepEqual(parseKv2Path('secret/data'), { mount: 'secret', base: '' });
  const err = await rejection(Promise.resolve().then(() => parseKv2Path('/v1/secret/team/app')));
  assert.equal(err.code, 'vault.not_kv2');
  assert.match(err.message, /a KV v2 path looks like \/v1\/secret\/data\/team\/app/);
  assert.equal(
    (await rejection(Promise.resolve().then(() => parseKv2Path('/v1/secret/data/a/../b')))).code,
    'vault.invalid_path',
  );
});

for (const s of servers) {
  describe(`vault http client and reader against the ${s.name}`, { skip: s.skip }, () => {
    let server: VaultTestServer;
    let opts: (token: string) => VaultHttpClientOptions;
    before(async () => {
      server = await s.start();
      opts = (token) => ({ host: server.url, auth: { method: 'token', token }, timeoutMs: 5000, integration: 'it' });
    });
    after(async () => {
      await server?.stop();
    });

    describe('happy paths', () => {
      test('observe is told of each request: its operation, its seconds, and the code of one that failed (never the token)', async () => {
        const base = fresh('observe');
        await server.putSecret('secret', `${base}/k`, { value: 'one' });
        const seen: { op: string; seconds: number; error: string | undefined }[] = [];
        const observe = (op: string, seconds: number, error: string | undefined) => seen.push({ op, seconds, error });
        const client = new VaultHttpClient({ ...opts(server.rootToken), observe });
        await client.readKv2('secret', `${base}/k`);
        await client.listKv2('secret', base);
        const badToken = `bad-${fresh('token')}`;
        const refused = await rejection(
          new VaultHttpClient({ ...opts(badToken), observe }).readKv2('secret', `${base}/k`),
        );
        assert.deepEqual(
          seen.map((s) => [s.op, s.error]),
          // Each client first checks the mount is KV v2 (once per mount, counted under the call it guards):
          // a 403 on that check leaves the call itself to fail.
          [
            ['read', undefined],
            ['read', undefined],
            ['list', undefined],
            ['read', refused.code],
            ['read', refused.code],
          ],
        );
        assert.ok(seen.every((s) => s.seconds >= 0 && s.seconds < 5));
        assert.ok(!JSON.stringify(seen).includes(badToken) && !JSON.stringify(seen).includes(server.rootToken));
      });

      test("a saved integration's requests reach the metrics under its id, never its name, domain, key or token", async () => {
        const base = fresh('sources');
        await server.putSecret('secret', `${base}/DB_PASSWORD`, { value: 'p1' });
        const samples: VaultRequestSample[] = [];
        const now = new Date();
        const record = {
          id: 'vi-0001',
          domain: 'analytics',
          name: 'team-vault',
          host: server.url,
          path: `/v1/secret/data/${base}`,
          namespace: '',
          bundle: 'b',
          authMethod: 'token' as const,
          roleId: '',
          layout: 'children' as const,
          createdAt: now,
          createdBy: 'admin',
          updatedAt: now,
          updatedBy: 'admin',
        };
        const sources = new CachedVaultSources({
          repo: { credential: () => Promise.resolve(Buffer.from(server.rootToken)) },
          hostPolicy: new VaultHostPolicy({ allowed: new URL(server.url).hostname }),
          metrics: { vaultRequest: (sample) => samples.push(sample) },
        });
        const source = await sources.forIntegration(record);
        await source.read(['DB_PASSWORD']);
        assert.ok(samples.length >= 1);
        for (const sample of samples) {
          assert.equal(sample.integration, 'vi-0001');
          assert.equal(sample.error, undefined);
        }
        const text = JSON.stringify(samples);
        for (const hidden of ['team-vault', 'analytics', 'DB_PASSWORD', 'p1', server.rootToken])
          assert.ok(!text.includes(hidden), hidden);
      });

      test('readKv2 gives the latest or a given version; a missing path or version is undefined', async () => {
        const base = fresh('read');
        await server.putSecret('secret', `${base}/k`, { value: 'one', n: 5 });
        await server.putSecret('secret', `${base}/k`, { value: 'two' });
        const client = new VaultHttpClient(opts(server.rootToken));
        assert.deepEqual(await client.readKv2('secret', `${base}/k`), {
          data: { value: 'two' },
          version: 2,
          deleted: false,
        });
        assert.deepEqual(await client.readKv2('secret', `${base}/k`, 1), {
          data: { value: 'one', n: '5' },
          version: 1,
          deleted: false,
        });
        assert.equal(await client.readKv2('secret', `${base}/k`, 7), undefined);
        assert.equal(await client.readKv2('secret', `${base}/none`), undefined);
      });

      test('readKv2 reports soft-deleted and destroyed versions as deleted, with their version', async () => {
        const base = fresh('deleted');
        await server.putSecret('secret', `${base}/k`, { value: 'a' });
        await server.putSecret('secret', `${base}/k`, { value: 'b' });
        await server.deleteVersion('secret', `${base}/k`, 2);
        await server.destroyVersion('secret', `${base}/k`, 1);
        const client = new VaultHttpClient(opts(server.rootToken));
        assert.deepEqual(await client.readKv2('secret', `${base}/k`), { data: null, version: 2, deleted: true });
        assert.deepEqual(await client.readKv2('secret', `${base}/k`, 1), { data: null, version: 1, deleted: true });
      });

      test('writeKv2 creates versions; metadataKv2 reports the current one; deleteAllKv2 removes all, twice safely', async () => {
        const base = fresh('write');
        const client = new VaultHttpClient(opts(server.rootToken));
        assert.deepEqual(await client.writeKv2('secret', `${base}/k`, { value: 'a' }), { version: 1 });
        assert.deepEqual(await client.writeKv2('secret', `${base}/k`, { value: 'b' }), { version: 2 });
        const meta = await client.metadataKv2('secret', `${base}/k`);
        assert.equal(meta?.currentVersion, 2);
        assert.equal(meta?.oldestVersion, 1);
        await client.deleteAllKv2('secret', `${base}/k`);
        await client.deleteAllKv2('secret', `${base}/k`);
        assert.equal(await client.metadataKv2('secret', `${base}/k`), undefined);
        assert.equal(await client.readKv2('secret', `${base}/k`), undefined);
      });

      test('listKv2 names children with folders ending in /, and gives [] for a missing folder', async () => {
        const base = fresh('list');
        await server.putSecret('secret', `${base}/a`, { value: '1' });
        await server.putSecret('secret', `${base}/sub/b`, { value: '1' });
        const client = new VaultHttpClient(opts(server.rootToken));
        assert.deepEqual(await client.listKv2('secret', base), ['a', 'sub/']);
        assert.deepEqual(await client.listKv2('secret', `${base}/nothing`), []);
      });

      test('lookupSelf describes the token without its id or accessor', async () => {
        const token = await server.addToken(['secret/'], { ttlSeconds: 3600 });
        const info = await new VaultHttpClient(opts(token)).lookupSelf();
        assert.ok(info.ttlSeconds > 3000 && info.ttlSeconds <= 3600);
        assert.equal(info.renewable, true);
        assert.ok(!JSON.stringify(info).includes(token));
      });

      test('the children layout lists child secrets (not folders) and reads each key with its version', async () => {
        const base = fresh('children');
        await server.putSecret('secret', `${base}/DB_PASSWORD`, { value: 'p1' });
        await server.putSecret('secret', `${base}/DB_PASSWORD`, { value: 'p2' });
        await server.putSecret('secret', `${base}/API_TOKEN`, { value: 't1' });
        await server.putSecret('secret', `${base}/NO_VALUE`, { other: 'x' });
        await server.putSecret('secret', `${base}/folder/deeper`, { value: 'x' });
        const reader = VaultIntegrationReader.create({ ...opts(server.rootToken), path: `/v1/secret/data/${base}` });
        assert.deepEqual(await reader.listKeys(), ['API_TOKEN', 'DB_PASSWORD', 'NO_VALUE']);
        const res = await reader.read(['DB_PASSWORD', 'API_TOKEN', 'DB_PASSWORD', 'MISSING', 'NO_VALUE']);
        assert.deepEqual(res.get('DB_PASSWORD'), { value: Buffer.from('p2'), version: 2 });
        assert.deepEqual(res.get('API_TOKEN'), { value: Buffer.from('t1'), version: 1 });
        const missing = res.get('MISSING');
        assert.ok(missing !== undefined && 'error' in missing && missing.error.code === 'vault.not_found');
        const noValue = res.get('NO_VALUE');
        assert.ok(noValue !== undefined && 'error' in noValue && noValue.error.code === 'vault.no_value_field');
        assert.ok(!noValue.error.message.includes('x"'));
        assert.deepEqual(
          await reader.currentVersions(['DB_PASSWORD', 'API_TOKEN', 'MISSING']),
          new Map(Object.entries({ DB_PASSWORD: 2, API_TOKEN: 1 })),
        );
        assert.deepEqual(await reader.test(), { outcome: 'ok', keys: 3 });
      });

      test('the fields layout treats the path as one secret whose fields are the keys', async () => {
        const base = fresh('fields');
        await server.putSecret('secret', base, { USER: 'u', PASSWORD: 'p' });
        await server.putSecret('secret', base, { USER: 'u', PASSWORD: 'p2' });
        const reader = VaultIntegrationReader.create({
          ...opts(server.rootToken),
          path: `/v1/secret/data/${base}`,
          layout: 'fields',
        });
        assert.deepEqual(await reader.listKeys(), ['PASSWORD', 'USER']);
        const res = await reader.read(['PASSWORD', 'USER', 'OTHER']);
        assert.deepEqual(res.get('PASSWORD'), { value: Buffer.from('p2'), version: 2 });
        assert.deepEqual(res.get('USER'), { value: Buffer.from('u'), version: 2 });
        const other = res.get('OTHER');
        assert.ok(other !== undefined && 'error' in other && other.error.code === 'vault.not_found');
        assert.deepEqual(
          await reader.currentVersions(['PASSWORD', 'USER']),
          new Map(Object.entries({ PASSWORD: 2, USER: 2 })),
        );
        assert.deepEqual(await reader.test(), { outcome: 'ok', keys: 2 });
      });

      test('AppRole credentials log in and read', async () => {
        const base = fresh('approle');
        await server.putSecret('secret', `${base}/K`, { value: 'v' });
        await server.addAppRole(`role-${base}`, `sid-${base}`, [`secret/data/${base}/`, `secret/metadata/${base}/`]);
        const reader = VaultIntegrationReader.create({
          host: server.url,
          auth: { method: 'approle', roleId: `role-${base}`, secretId: `sid-${base}` },
          path: `/v1/secret/data/${base}`,
        });
        assert.deepEqual(await reader.test(), { outcome: 'ok', keys: 1 });
        assert.deepEqual((await reader.read(['K'])).get('K'), { value: Buffer.from('v'), version: 1 });
      });
    });

    describe('error mapping', () => {
      test('a bad token is vault.auth_failed on lookup and bad_credentials in test()', async () => {
        const client = new VaultHttpClient(opts('hvs.not-a-token'));
        const err = await rejection(client.lookupSelf());
        assert.equal(err.code, 'vault.auth_failed');
        assert.equal(err.kind, 'unauthenticated');
        assert.match(err.message, /"it" \(http:\/\/127\.0\.0\.1:\d+\).*HTTP 403/);
        const reader = VaultIntegrationReader.create({ ...opts('hvs.not-a-token'), path: '/v1/secret/data/x' });
        const outcome = await reader.test();
        assert.equal(outcome.outcome, 'bad_credentials');
      });

      test('a bad AppRole secret ID is vault.auth_failed naming the reason', async () => {
        const base = fresh('badrole');
        await server.addAppRole(`role-${base}`, `sid-${base}`, ['secret/']);
        const client = new VaultHttpClient({
          host: server.url,
          auth: { method: 'approle', roleId: `role-${base}`, secretId: 'wrong-secret-id' },
        });
        const err = await rejection(client.readKv2('secret', 'x'));
        assert.equal(err.code, 'vault.auth_failed');
        assert.match(err.message, /invalid role or secret ID \(HTTP 400\)/);
        assertNoLeak(err, ['wrong-secret-id']);
      });

      test('both 403 forms on a path are vault.permission_denied; test() says no_permission', async () => {
        const base = fresh('denied');
        await server.putSecret('secret', `${base}/k`, { value: 'v' });
        const limited = await server.addToken([`secret/data/${base}/`]);
        const policy = await rejection(new VaultHttpClient(opts(limited)).listKv2('secret', base));
        assert.equal(policy.code, 'vault.permission_denied');
        assert.match(policy.message, /policies do not allow it \(HTTP 403\)/);
        const plain = await rejection(new VaultHttpClient(opts('hvs.bogus')).readKv2('secret', `${base}/k`));
        assert.equal(plain.code, 'vault.permission_denied');
        assert.equal(plain.details['status'], 403);
        const reader = VaultIntegrationReader.create({ ...opts(limited), path: `/v1/secret/data/${base}` });
        assert.equal((await reader.test()).outcome, 'no_permission');
      });

      test('a missing mount and a LIST on a data path are vault.not_kv2', async () => {
        const noMount = await rejection(new VaultHttpClient(opts(server.rootToken)).readKv2('nomount', 'x'));
        assert.equal(noMount.code, 'vault.not_kv2');
        assert.match(noMount.message, /HTTP 404/);
        const dataList = await rejection(new VaultHttpClient(opts(server.rootToken)).listKv2('secret/data', 'x'));
        assert.equal(dataList.code, 'vault.not_kv2');
        assert.match(dataList.message, /HTTP 405/);
        const reader = VaultIntegrationReader.create({ ...opts(server.rootToken), path: '/v1/nomount/data/app' });
        assert.equal((await reader.test()).outcome, 'not_kv2');
      });

      test('a KV v1 mount is vault.not_kv2, detected as Vault\'s CLI does, never "nothing found"', async () => {
        await server.mount('legacy-kv', { version: 1 });
        await server.putSecret('legacy-kv', 'team/app/DB_PASSWORD', { value: 'kv1-canary' });
        const token = await server.addToken(['legacy-kv/']);
        const kv1 =
          /the mount "legacy-kv" is a KV version 1 secrets engine, which Latchkey does not read: upgrade it \(vault kv enable-versioning legacy-kv\) or use a KV v2 mount/;
        // The team integration (read-only): reads, lists and the connection test.
        const reader = VaultIntegrationReader.create({ ...opts(token), path: '/v1/legacy-kv/data/team/app' });
        const read = (await reader.read(['DB_PASSWORD'])).get('DB_PASSWORD');
        assert.ok(read !== undefined && 'error' in read, 'no value from a v1 mount');
        assert.equal(read.error.code, 'vault.not_kv2');
        assert.match(read.error.message, kv1);
        assert.equal((await rejection(reader.listKeys())).code, 'vault.not_kv2');
        const tested = await reader.test();
        assert.ok(tested.outcome === 'not_kv2', `test() says ${tested.outcome}`);
        assert.match(tested.message, kv1);
        // The managed Vault backend's client: a write is refused before it could land as a v1 key "data/...".
        const write = await rejection(
          new VaultHttpClient(opts(server.rootToken)).writeKv2('legacy-kv', 'latchkey/analytics/K', { value: 'v' }),
        );
        assert.equal(write.code, 'vault.not_kv2');
        assert.match(write.message, kv1);
        assert.ok(!JSON.stringify([read.error.message, write.message]).includes('kv1-canary'));
      });

      test('a closed port is vault.unreachable, retryable, and test() says unreachable', async () => {
        const port = await closedPort();
        const client = new VaultHttpClient({ ...opts('hvs.x'), host: `http://127.0.0.1:${port}` });
        const err = await rejection(client.readKv2('secret', 'x'));
        assert.equal(err.code, 'vault.unreachable');
        assert.equal(err.retryable, true);
        assert.equal(err.kind, 'unavailable');
        // Unreachable, without the library's detail (which would tell a closed port from other services).
        assert.match(err.message, /Vault is unreachable while reading secret\/data\/x/);
        assert.doesNotMatch(err.message, /ECONNREFUSED/);
        const reader = VaultIntegrationReader.create({
          ...opts('hvs.x'),
          host: `http://127.0.0.1:${port}`,
          path: '/v1/secret/data/x',
        });
        assert.equal((await reader.test()).outcome, 'unreachable');
      });

      test('https against a plain-http server is vault.tls_failure; test() says tls_failure', async () => {
        const host = server.url.replace('http://', 'https://');
        const err = await rejection(new VaultHttpClient({ ...opts(server.rootToken), host }).readKv2('secret', 'x'));
        assert.equal(err.code, 'vault.tls_failure');
        assert.equal(err.retryable, false);
        const reader = VaultIntegrationReader.create({ ...opts(server.rootToken), host, path: '/v1/secret/data/x' });
        assert.equal((await reader.test()).outcome, 'tls_failure');
      });

      test('the read-only client has no write methods and refuses writes before sending anything', async () => {
        const ro = readOnlyVaultClient(opts(server.rootToken));
        assert.ok(!('writeKv2' in ro) && !('deleteAllKv2' in ro));
        assert.ok(Object.isFrozen(ro));
        const inner = new VaultHttpClient(opts(server.rootToken), 'read-only');
        assert.equal((await rejection(inner.writeKv2('secret', 'x', { value: 'v' }))).code, 'vault.read_only');
        assert.equal((await rejection(inner.deleteAllKv2('secret', 'x'))).code, 'vault.read_only');
      });
    });
  });
}

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test(
  'a self-signed https Vault is vault.tls_failure without its CA and answers with the ca option',
  { skip: hasOpenssl() ? false : 'openssl is not installed' },
  async () => {
    const dir = await tempDir('latchkey-vault-tls-');
    try {
      const key = path.join(dir.path, 'key.pem');
      const cert = path.join(dir.path, 'cert.pem');
      execFileSync(
        'openssl',
        // prettier-ignore
        ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
          '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
        { stdio: 'ignore' },
      );
      const ca = await fs.readFile(cert);
      const server = https.createServer({ key: await fs.readFile(key), cert: ca }, (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ data: { ttl: 60, renewable: true, policies: ['default'], expire_time: null } }));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const host = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
        const auth = { method: 'token' as const, token: 'hvs.tls-test' };
        const err = await rejection(new VaultHttpClient({ host, auth }).lookupSelf());
        assert.equal(err.code, 'vault.tls_failure');
        assert.match(err.message, /DEPTH_ZERO_SELF_SIGNED_CERT/);
        const info = await new VaultHttpClient({ host, auth, ca }).lookupSelf();
        assert.equal(info.ttlSeconds, 60);
      } finally {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    } finally {
      await dir.cleanup();
    }
  },
);

describe('vault adapters: emulator-only behaviour', () => {
  let emu: VaultEmulator;
  const opts = (token: string): VaultHttpClientOptions => ({
    host: emu.url,
    auth: { method: 'token', token },
    timeoutMs: 2000,
    integration: 'emu',
  });
  before(async () => {
    emu = await startVaultEmulator();
  });
  after(async () => {
    await emu.stop();
  });

  describe('error mapping', () => {
    test('a sealed Vault is vault.sealed, retryable; test() says sealed', async () => {
      emu.seal(true);
      try {
        const err = await rejection(new VaultHttpClient(opts(emu.rootToken)).readKv2('secret', 'x'));
        assert.equal(err.code, 'vault.sealed');
        assert.equal(err.retryable, true);
        assert.match(err.message, /HTTP 503/);
        const reader = VaultIntegrationReader.create({ ...opts(emu.rootToken), path: '/v1/secret/data/x' });
        assert.equal((await reader.test()).outcome, 'sealed');
      } finally {
        emu.seal(false);
      }
    });

    test('a slow answer past timeoutMs is vault.unreachable, retryable', async () => {
      emu.setLatency(500);
      try {
        const client = new VaultHttpClient({ ...opts(emu.rootToken), timeoutMs: 100 });
        const err = await rejection(client.readKv2('secret', 'x'));
        assert.equal(err.code, 'vault.unreachable');
        assert.equal(err.retryable, true);
        assert.match(err.message, /no answer within 100 ms/);
      } finally {
        emu.setLatency(0);
      }
    });

    test('a 500 is vault.server_error and a 429 vault.rate_limited, both retryable; a plain 404 outside reads is vault.not_found', async () => {
      emu.failNext(1, 500);
      const err = await rejection(new VaultHttpClient(opts(emu.rootToken)).readKv2('secret', 'x'));
      assert.equal(err.code, 'vault.server_error');
      assert.equal(err.retryable, true);
      assert.match(err.message, /HTTP 500/);
      emu.failNext(1, 429);
      const limited = await rejection(new VaultHttpClient(opts(emu.rootToken)).readKv2('secret', 'x'));
      assert.equal(limited.code, 'vault.rate_limited');
      assert.equal(limited.retryable, true);
      assert.match(limited.message, /rate limit quota .*\(HTTP 429\)/);
      emu.failNext(1, 404);
      const nf = await rejection(new VaultHttpClient(opts(emu.rootToken)).lookupSelf());
      assert.equal(nf.code, 'vault.not_found');
    });

    test('a dropped connection is vault.unreachable (a kept-alive one is tried once more, on a fresh connection)', async () => {
      // Two drops: a reused connection's drop is sent again once, and that one is dropped too.
      emu.failNext(2, 'reset');
      try {
        const err = await rejection(new VaultHttpClient(opts(emu.rootToken)).readKv2('secret', 'x'));
        assert.equal(err.code, 'vault.unreachable');
      } finally {
        emu.failNext(0, 'reset');
      }
    });

    test('a request on a kept-alive connection that Vault dropped is sent once more, on a fresh connection, and answers', async () => {
      const client = new VaultHttpClient(opts(emu.rootToken));
      await client.lookupSelf(); // leaves a kept-alive connection in the pool
      emu.clearRequests();
      emu.failNext(1, 'reset');
      const info = await client.lookupSelf();
      assert.equal(info.ttlSeconds, 0, 'the root token answered');
      assert.deepEqual(
        emu.requests().map((r) => r.path),
        ['/v1/auth/token/lookup-self', '/v1/auth/token/lookup-self'],
        'the dropped request and its one repetition',
      );
    });

    test('after an unreachable Vault the reader gives every remaining key that error without more requests', async () => {
      const port = await closedPort();
      const reader = VaultIntegrationReader.create({
        ...opts('hvs.x'),
        host: `http://127.0.0.1:${port}`,
        path: '/v1/secret/data/x',
        concurrency: 1,
      });
      const res = await reader.read(['A', 'B', 'C']);
      for (const k of ['A', 'B', 'C']) {
        const r = res.get(k);
        assert.ok(r !== undefined && 'error' in r && r.error.code === 'vault.unreachable', k);
      }
      await assert.rejects(reader.currentVersions(['A']), { code: 'vault.unreachable' });
    });
  });

  describe('AppRole token cache', () => {
    const logins = () => emu.requests().filter((r) => r.path.endsWith('/login')).length;

    test('20 concurrent reads share exactly one login', async () => {
      await emu.putSecret('secret', 'cache/K', { value: 'v' });
      await emu.addAppRole('cache-role', 'cache-secret', ['secret/']);
      const client = new VaultHttpClient({
        host: emu.url,
        auth: { method: 'approle', roleId: 'cache-role', secretId: 'cache-secret' },
      });
      emu.clearRequests();
      const results = await Promise.all(Array.from({ length: 20 }, () => client.readKv2('secret', 'cache/K')));
      assert.ok(results.every((r) => r?.data?.['value'] === 'v'));
      assert.equal(logins(), 1);
      // One login, one look at the mount's KV version (sys/internal/ui/mounts), 20 reads.
      assert.equal(emu.requests().length, 22);
      await client.readKv2('secret', 'cache/K');
      assert.equal(logins(), 1);
    });

    test('a short lease makes the client log in again shortly before it ends', async () => {
      await emu.putSecret('secret', 'lease/K', { value: 'v' });
      await emu.addAppRole('short-role', 'short-secret', ['secret/'], { leaseSeconds: 1 });
      const client = new VaultHttpClient({
        host: emu.url,
        auth: { method: 'approle', roleId: 'short-role', secretId: 'short-secret' },
      });
      emu.clearRequests();
      await client.readKv2('secret', 'lease/K');
      assert.equal(logins(), 1);
      await waitFor(
        async () => {
          assert.equal((await client.readKv2('secret', 'lease/K'))?.data?.['value'], 'v');
          return logins() === 2;
        },
        { what: 'a second AppRole login', timeoutMs: 5000, intervalMs: 100 },
      );
      assert.ok(emu.requests().every((r) => r.path.endsWith('/login') || r.method === 'GET'));
    });

    test('a token the client still trusts but Vault expired is replaced by one fresh login and the read succeeds', async () => {
      await emu.putSecret('secret', 'expired/K', { value: 'v' });
      await emu.addAppRole('exp-role', 'exp-secret', ['secret/'], { leaseSeconds: 1 });
      const frozen = Date.now();
      const client = new VaultHttpClient({
        host: emu.url,
        auth: { method: 'approle', roleId: 'exp-role', secretId: 'exp-secret' },
        now: () => frozen, // the client never thinks its lease ran out
      });
      emu.clearRequests();
      await client.readKv2('secret', 'expired/K');
      await waitFor(
        async () => {
          assert.equal((await client.readKv2('secret', 'expired/K'))?.data?.['value'], 'v');
          return logins() === 2;
        },
        { what: 'a login after Vault expired the token', timeoutMs: 5000, intervalMs: 100 },
      );
    });

    test('the clock decides: past the lease margin the next call logs in again', async () => {
      await emu.addAppRole('clock-role', 'clock-secret', ['secret/'], { leaseSeconds: 1200 });
      let now = Date.now();
      const client = new VaultHttpClient({
        host: emu.url,
        auth: { method: 'approle', roleId: 'clock-role', secretId: 'clock-secret' },
        now: () => now,
      });
      emu.clearRequests();
      await client.readKv2('secret', 'cache/K');
      now += 1130 * 1000; // before lease - 60 s
      await client.readKv2('secret', 'cache/K');
      assert.equal(logins(), 1);
      now += 20 * 1000; // past it
      await client.readKv2('secret', 'cache/K');
      assert.equal(logins(), 2);
    });
  });

  describe('namespaces', () => {
    before(async () => {
      await emu.mount('kv', { namespace: 'team-a' });
      await emu.putSecret('kv', 'app/DB', { value: 'ns-value' }, { namespace: 'team-a' });
      await emu.addAppRole('ns-role', 'ns-secret', ['team-a/kv/']);
    });

    test('the namespace option reaches a namespaced mount, and is sent on the AppRole login too', async () => {
      emu.clearRequests();
      const reader = VaultIntegrationReader.create({
        host: emu.url,
        namespace: 'team-a',
        auth: { method: 'approle', roleId: 'ns-role', secretId: 'ns-secret' },
        path: '/v1/kv/data/app',
      });
      assert.deepEqual((await reader.read(['DB'])).get('DB'), { value: Buffer.from('ns-value'), version: 1 });
      assert.ok(emu.requests().length >= 2);
      assert.ok(emu.requests().every((r) => r.namespace === 'team-a'));
    });

    test('a namespace given as a path prefix works without the option', async () => {
      const reader = VaultIntegrationReader.create({ ...opts(emu.rootToken), path: '/v1/team-a/kv/data/app' });
      assert.deepEqual(await reader.listKeys(), ['DB']);
      assert.deepEqual((await reader.read(['DB'])).get('DB'), { value: Buffer.from('ns-value'), version: 1 });
    });

    test('without the namespace the same path has no mount', async () => {
      const reader = VaultIntegrationReader.create({ ...opts(emu.rootToken), path: '/v1/kv/data/app' });
      assert.equal((await reader.test()).outcome, 'not_kv2');
    });
  });

  describe('security', () => {
    test('the read-only reader sends nothing but GET, apart from the AppRole login POST', async () => {
      await emu.putSecret('secret', 'ro/children/A', { value: 'a' });
      await emu.putSecret('secret', 'ro/fields', { A: 'a', B: 'b' });
      await emu.addAppRole('ro-role', 'ro-secret', ['secret/']);
      const auth = { method: 'approle' as const, roleId: 'ro-role', secretId: 'ro-secret' };
      emu.clearRequests();
      for (const layout of ['children', 'fields'] as const) {
        const reader = VaultIntegrationReader.create({
          host: emu.url,
          auth,
          path: layout === 'children' ? '/v1/secret/data/ro/children' : '/v1/secret/data/ro/fields',
          layout,
        });
        await reader.test();
        await reader.listKeys();
        await reader.read(['A', 'B', 'MISSING']);
        await reader.currentVersions(['A', 'B', 'MISSING']);
      }
      const log = emu.requests();
      assert.ok(log.length > 8);
      const writes = log.filter((r) => r.method !== 'GET');
      assert.deepEqual(
        writes.map((r) => `${r.method} ${r.path}`),
        ['POST /v1/auth/approle/login', 'POST /v1/auth/approle/login'],
      );
    });

    test('no error ever shows the token or the secret ID: refused connection, timeout, 403, login failure, sealed', async () => {
      const token = 'hvs.CANARY-token-7f3a9c';
      const secretId = 'CANARY-secret-id-5b2e';
      await emu.addAppRole('canary-role', secretId, []);
      const port = await closedPort();
      const closed = `http://127.0.0.1:${port}`;
      const errors: LatchkeyError[] = [];
      errors.push(await rejection(new VaultHttpClient({ ...opts(token), host: closed }).readKv2('secret', 'x')));
      errors.push(
        await rejection(
          new VaultHttpClient({
            host: closed,
            auth: { method: 'approle', roleId: 'canary-role', secretId },
          }).readKv2('secret', 'x'),
        ),
      );
      emu.setLatency(400);
      try {
        errors.push(await rejection(new VaultHttpClient({ ...opts(token), timeoutMs: 50 }).readKv2('secret', 'x')));
        errors.push(
          await rejection(
            new VaultHttpClient({
              host: emu.url,
              timeoutMs: 50,
              auth: { method: 'approle', roleId: 'canary-role', secretId },
            }).lookupSelf(),
          ),
        );
      } finally {
        emu.setLatency(0);
      }
      errors.push(await rejection(new VaultHttpClient(opts(token)).readKv2('secret', 'x')));
      errors.push(await rejection(new VaultHttpClient(opts(token)).lookupSelf()));
      errors.push(
        await rejection(
          new VaultHttpClient({
            host: emu.url,
            auth: { method: 'approle', roleId: 'canary-role', secretId: `${secretId}-wrong` },
          }).readKv2('secret', 'x'),
        ),
      );
      // A token the emulator issued (so Vault knows it) but whose policy forbids the path.
      const approle = new VaultHttpClient({
        host: emu.url,
        auth: { method: 'approle', roleId: 'canary-role', secretId },
      });
      errors.push(await rejection(approle.readKv2('secret', 'x')));
      emu.seal(true);
      try {
        errors.push(await rejection(new VaultHttpClient(opts(token)).readKv2('secret', 'x')));
      } finally {
        emu.seal(false);
      }
      assert.deepEqual(
        errors.map((e) => e.code),
        [
          'vault.unreachable',
          'vault.unreachable',
          'vault.unreachable',
          'vault.unreachable',
          'vault.permission_denied',
          'vault.auth_failed',
          'vault.auth_failed',
          'vault.permission_denied',
          'vault.sealed',
        ],
      );
      for (const err of errors) assertNoLeak(err, [token, secretId]);
      assert.ok(!JSON.stringify(emu.requests()).includes(token));
    });
  });
});
