import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { readCredentialsFile } from './credentials-file.js';
import { ensureDataFolder } from './data-folder.js';
import { ensureKeyMaterial } from './key-material.js';

async function newHome(): Promise<string> {
  const home = path.join(await mkdtemp(path.join(tmpdir(), 'latchkey-keys-')), 'home');
  await ensureDataFolder(home);
  return home;
}

test('generates every key and token once, private, and reuses them on the next start', async () => {
  const home = await newHome();
  const first = await ensureKeyMaterial(home);
  for (const f of ['kek.json', 'deployer-seal.key', 'deployer-sign.key', 'credentials.json', 'postgres-password']) {
    assert.equal((await stat(path.join(home, f))).mode & 0o777, 0o600, f);
  }
  assert.ok((await stat(path.join(home, 'deployer-seal.pub'))).isFile());
  assert.ok((await stat(path.join(home, 'deployer-sign.pub'))).isFile());
  // The local issuer's key and the local CA's and services' keys are private too; certificates are not.
  for (const f of [
    'oidc-signing-key.json',
    'tls/ca.key',
    'tls/ras.key',
    'tls/catalog.key',
    'tls/resolver.key',
    'tls/deployer.key',
  ]) {
    assert.equal((await stat(path.join(home, f))).mode & 0o777, 0o600, f);
  }
  const caPem = await readFile(path.join(home, 'tls/ca.crt'), 'utf8');
  for (const s of ['ras', 'catalog', 'resolver', 'deployer']) {
    const cert = new X509Certificate(await readFile(path.join(home, `tls/${s}.crt`)));
    assert.equal(cert.subject, `CN=${s}`);
    assert.ok(cert.checkIssued(new X509Certificate(caPem)), s);
    assert.match(cert.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
  }
  // The gateway's certificate serves HTTPS on localhost/127.0.0.1 and cannot call a service as one (no clientAuth).
  const gateway = new X509Certificate(await readFile(path.join(home, 'tls/gateway.crt')));
  assert.equal(gateway.subject, 'CN=gateway');
  assert.ok(gateway.checkIssued(new X509Certificate(caPem)));
  assert.match(gateway.subjectAltName ?? '', /DNS:localhost/);
  assert.match(gateway.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
  assert.deepEqual(gateway.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  assert.equal((await stat(path.join(home, 'tls/gateway.key'))).mode & 0o777, 0o600);
  // Its insecure-mode token is in a file of its own, not among the services' shared tokens.
  const gatewayCreds = JSON.parse(await readFile(path.join(home, 'gateway-credentials.json'), 'utf8')) as {
    services: Record<string, string>;
  };
  assert.deepEqual(Object.keys(gatewayCreds.services), ['gateway']);
  assert.equal((await stat(path.join(home, 'gateway-credentials.json'))).mode & 0o777, 0o600);
  const creds = first.credentials;
  for (const token of [creds.admin, ...Object.values(creds.services)]) {
    assert.match(token, /^[A-Za-z0-9_-]{43}$/); // 32 bytes base64url
  }
  assert.equal(new Set([creds.admin, ...Object.values(creds.services)]).size, 5);
  assert.deepEqual(Object.keys(creds.services).sort(), ['catalog', 'deployer', 'ras', 'resolver']);

  const files = async (): Promise<string[]> =>
    Promise.all(
      [
        'kek.json',
        'deployer-seal.key',
        'deployer-seal.pub',
        'deployer-sign.key',
        'deployer-sign.pub',
        'credentials.json',
        'postgres-password',
        'oidc-signing-key.json',
        'oidc-jwks.json',
        'tls/ca.crt',
        'tls/catalog.crt',
        'tls/catalog.key',
      ].map((f) => readFile(path.join(home, f), 'utf8')),
    );
  const before = await files();
  const second = await ensureKeyMaterial(home);
  assert.deepEqual(await files(), before);
  assert.deepEqual(second.credentials, first.credentials);
  assert.equal(second.postgresPassword, first.postgresPassword);
});

test('a malformed credentials file is reported, not overwritten', async () => {
  const home = await newHome();
  await writeFile(path.join(home, 'credentials.json'), '{"admin": 1}', { mode: 0o600 });
  await assert.rejects(ensureKeyMaterial(home), /credentials file .* is malformed/);
  assert.equal(await readFile(path.join(home, 'credentials.json'), 'utf8'), '{"admin": 1}');
  await assert.rejects(readCredentialsFile(path.join(home, 'nope.json')), /cannot read the credentials file/);
});

test('the bus keys: nats-server config and every credentials file 0600 in a 0700 folder, the same operator on the next start', async () => {
  const home = await newHome();
  await ensureKeyMaterial(home);
  const bus = path.join(home, 'bus');
  assert.equal((await stat(bus)).mode & 0o777, 0o700);
  const files = [
    'trust.json',
    'nats-server.conf',
    'subscriber-signer.json',
    'ras.creds',
    'catalog.creds',
    'resolver.creds',
    'deployer.creds',
    'gateway.creds',
  ];
  for (const f of files) assert.equal((await stat(path.join(bus, f))).mode & 0o777, 0o600, f);
  assert.equal((await stat(path.join(home, 'tls', 'nats-server.key'))).mode & 0o777, 0o600);
  const conf = await readFile(path.join(bus, 'nats-server.conf'), 'utf8');
  assert.match(conf, /^operator: /m);
  assert.match(conf, /cert_file: ".*nats-server\.crt"/);
  const trust = await readFile(path.join(bus, 'trust.json'), 'utf8');
  await ensureKeyMaterial(home);
  assert.equal(await readFile(path.join(bus, 'trust.json'), 'utf8'), trust, 'the root of trust is kept');
  assert.match(await readFile(path.join(bus, 'deployer.creds'), 'utf8'), /BEGIN NATS USER JWT/);

  // A data folder from before the gateway: its trust file gets the gateway's user key, and keeps the others'.
  const before = JSON.parse(trust) as { trust: unknown; userSeeds: Record<string, string> };
  const { gateway: _dropped, ...older } = before.userSeeds;
  await writeFile(path.join(bus, 'trust.json'), JSON.stringify({ ...before, userSeeds: older }));
  await ensureKeyMaterial(home);
  const upgraded = JSON.parse(await readFile(path.join(bus, 'trust.json'), 'utf8')) as typeof before;
  assert.deepEqual({ ...upgraded.userSeeds, gateway: undefined }, { ...older, gateway: undefined });
  assert.match(upgraded.userSeeds['gateway'] ?? '', /^SU/);
  assert.equal((await stat(path.join(bus, 'trust.json'))).mode & 0o777, 0o600);
  assert.match(await readFile(path.join(bus, 'gateway.creds'), 'utf8'), /BEGIN NATS USER JWT/);
});
