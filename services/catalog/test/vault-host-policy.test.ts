import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { LatchkeyError } from '@latchkey/errors';
import { acquireTestPostgres, startTestNats, type TestNats, type TestPostgres } from '@latchkey/testing';
import { VaultHttpClient } from '../src/adapters/vault-http-client.js';
import { platformHostsOf, VaultHostPolicy } from '../src/adapters/vault-host-policy.js';
import { CachedVaultSources } from '../src/adapters/vault-sources.js';
import type { VaultSettingsInput } from '../src/domain/vault/vault-integration-types.js';
import { closedPort } from './support.js';

/**
 * Issue 13 §5: `vault test --host http://127.0.0.1:<port>` told PostgreSQL,
 * NATS and closed ports apart, and a 302 from the Vault host sent the token
 * to another host.
 */
const TOKEN = 'hvs.team-token-0123456789';

function settings(host: string): VaultSettingsInput {
  return {
    host,
    path: '/v1/secret/data/team',
    namespace: '',
    authMethod: 'token',
    roleId: '',
    layout: 'children',
    credential: Buffer.from(TOKEN),
  };
}

const noRepo = { credential: () => Promise.resolve(undefined) };

/** A TCP listener that counts connections: "was anything sent there at all?" */
async function countingListener(): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  let n = 0;
  const server = net.createServer((s) => {
    n++;
    s.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => n,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** What `vault test` answers for unsaved settings: an error thrown, or the outcome. */
async function answer(sources: CachedVaultSources, host: string): Promise<string> {
  try {
    sources.validate(settings(host));
    const outcome = await sources.forSettings(settings(host), 'analytics/probe').test();
    return JSON.stringify(outcome);
  } catch (err) {
    assert.ok(err instanceof LatchkeyError);
    return JSON.stringify({ code: err.code, message: err.message });
  }
}

describe('the catalog is no port scanner', () => {
  let pg: TestPostgres;
  let nats: TestNats;
  before(async () => {
    [pg, nats] = await Promise.all([acquireTestPostgres(), startTestNats()]);
  });
  after(async () => {
    await Promise.all([pg?.stop(), nats?.stop()]);
  });

  test('loopback hosts are refused before any connection, with the same answer for PostgreSQL, NATS and a closed port', async () => {
    const sources = new CachedVaultSources({ repo: noRepo, hostPolicy: new VaultHostPolicy() });
    const probe = await countingListener();
    try {
      const ports = [pg.port, nats.port, await closedPort(), probe.port];
      const answers = await Promise.all(ports.map((p) => answer(sources, `http://127.0.0.1:${p}`)));
      for (const a of answers) {
        assert.match(a, /"code":"vault\.host_not_allowed"/);
        assert.match(a, /LATCHKEY_VAULT_ALLOWED_HOSTS/);
      }
      assert.equal(new Set(answers).size, 1, `one answer for every port: ${answers.join('\n')}`);
      assert.equal(probe.connections(), 0, 'nothing was sent');
      for (const host of [
        'http://localhost:8200',
        'http://[::1]:8200',
        'http://169.254.169.254',
        'http://[fe80::1]:8200',
      ]) {
        assert.match(await answer(sources, host), /"code":"vault\.host_not_allowed"/, host);
      }
    } finally {
      await probe.close();
    }
  });

  test('a name that resolves to a loopback address is refused on connect, and nothing is sent', async () => {
    const probe = await countingListener();
    try {
      const policy = new VaultHostPolicy({ resolve: () => Promise.resolve([{ address: '127.0.0.1', family: 4 }]) });
      const sources = new CachedVaultSources({ repo: noRepo, hostPolicy: policy });
      const a = await answer(sources, `http://vault.attacker.test:${probe.port}`);
      assert.match(a, /the Vault host vault\.attacker\.test is not allowed: .*it resolves to 127\.0\.0\.1/);
      assert.equal(probe.connections(), 0);
    } finally {
      await probe.close();
    }
  });

  test('when an operator allows loopback, PostgreSQL, NATS and a closed port all say just "unreachable"', async () => {
    const sources = new CachedVaultSources({ repo: noRepo, hostPolicy: new VaultHostPolicy({ allowed: '127.0.0.1' }) });
    const ports = [pg.port, nats.port, await closedPort()];
    const answers = await Promise.all(ports.map((p) => answer(sources, `http://127.0.0.1:${p}`)));
    const same = answers.map((a, i) => a.split(String(ports[i])).join('<port>'));
    for (const a of same) assert.match(a, /"outcome":"unreachable".*Vault is unreachable while looking up its token/);
    assert.equal(new Set(same).size, 1, `one answer for every port: ${answers.join('\n')}`);
    for (const a of answers) assert.doesNotMatch(a, /ECONN|HPE_|Parse Error|socket|EPROTO/);
  });
});

describe('no redirect is followed', () => {
  test('a 302 from the Vault host sends the token nowhere else, and says why', async () => {
    const elsewhere: string[] = [];
    const other = http.createServer((req, res) => {
      elsewhere.push(JSON.stringify(req.headers));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":{}}');
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const otherPort = (other.address() as AddressInfo).port;
    const vault = http.createServer((req, res) => {
      res.writeHead(302, { location: `http://127.0.0.1:${otherPort}${req.url ?? '/'}` }).end();
    });
    await new Promise<void>((resolve) => vault.listen(0, '127.0.0.1', resolve));
    const vaultPort = (vault.address() as AddressInfo).port;
    try {
      for (const method of ['read', 'lookup'] as const) {
        const client = new VaultHttpClient({
          host: `http://127.0.0.1:${vaultPort}`,
          auth: { method: 'token', token: TOKEN },
          hostPolicy: new VaultHostPolicy({ allowed: '127.0.0.1' }),
        });
        const err = await (method === 'read' ? client.readKv2('secret', 'x') : client.lookupSelf()).then(
          () => assert.fail('a redirect is no answer'),
          (e: unknown) => e as LatchkeyError,
        );
        assert.equal(err.code, 'vault.redirect_refused');
        assert.match(err.message, /with a redirect, which Latchkey never follows .* \(HTTP 302\)/);
        assert.doesNotMatch(err.message, new RegExp(TOKEN));
      }
      // The platform's own Vault (no host policy) follows no redirect either.
      const platform = new VaultHttpClient({
        host: `http://127.0.0.1:${vaultPort}`,
        auth: { method: 'token', token: TOKEN },
      });
      await assert.rejects(platform.readKv2('secret', 'x'), { code: 'vault.redirect_refused' });
      assert.deepEqual(elsewhere, [], 'the other host saw no request, so no token');
    } finally {
      await Promise.all([
        new Promise((resolve) => other.close(resolve)),
        new Promise((resolve) => vault.close(resolve)),
      ]);
    }
  });
});

describe('LATCHKEY_VAULT_ALLOWED_HOSTS', () => {
  test('allows hosts, addresses and CIDRs; refuses this machine and the platform by default', () => {
    const policy = new VaultHostPolicy({
      allowed: ' 127.0.0.1, 10.1.0.0/16 ,vault.local,fd00::/8',
      ownAddresses: ['192.0.2.10', 'fe80::1%eth0'],
      platformHosts: ['postgres', 'nats'],
    });
    policy.checkHost('127.0.0.1');
    policy.checkHost('vault.local');
    policy.checkAddress('vault.example.com', '10.1.2.3');
    policy.checkAddress('vault.example.com', 'fd00::5');
    policy.checkHost('vault.example.com');
    policy.checkHost('203.0.113.7');
    const refused = (fn: () => void, why: RegExp) =>
      assert.throws(
        fn,
        (e: unknown) => e instanceof LatchkeyError && e.code === 'vault.host_not_allowed' && why.test(e.message),
      );
    refused(() => policy.checkHost('127.0.0.2'), /loopback, link-local or unspecified/);
    refused(() => policy.checkHost('::ffff:127.0.0.2'), /loopback/);
    refused(() => policy.checkHost('0.0.0.0'), /unspecified/);
    refused(() => policy.checkHost('169.254.169.254'), /link-local/);
    refused(() => policy.checkHost('192.0.2.10'), /an address of the platform itself/);
    refused(() => policy.checkAddress('vault.example.com', '192.0.2.10'), /resolves to 192\.0\.2\.10/);
    refused(() => policy.checkHost('postgres'), /the platform's own hosts/);
    refused(() => policy.checkHost('LOCALHOST'), /loopback name/);
  });

  test('an unreadable entry fails the start, naming the variable', () => {
    for (const bad of ['10.0.0.0/33', 'not a host!', '10.0.0.0/x']) {
      assert.throws(
        () => new VaultHostPolicy({ allowed: bad }),
        (e: unknown) =>
          e instanceof LatchkeyError &&
          e.code === 'config.invalid' &&
          /^LATCHKEY_VAULT_ALLOWED_HOSTS: /.test(e.message),
        bad,
      );
    }
  });

  test("the platform's hosts come from the catalog's own config", () => {
    assert.deepEqual(
      platformHostsOf({
        LATCHKEY_DATABASE_URL: 'postgres://u:p@postgres:5432/catalog',
        LATCHKEY_NATS_URL: 'nats://nats-1:4222,nats://nats-2:4222',
        LATCHKEY_RAS_ADDR: 'ras:7401',
        LATCHKEY_DEPLOYER_ADDR: '[fd00::2]:7404',
        LATCHKEY_SERVICE_HOST: '0.0.0.0',
      }),
      ['postgres', 'nats-1', 'nats-2', 'ras', '[fd00::2]', '0.0.0.0'],
    );
  });
});
