import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';

/**
 * Issue 13 §7: compose mounted the CA key, the issuer's signing key, the KEK
 * and the seal key into every service. Each service now sees only the key
 * files its config reads, through its own folder of the keys volume.
 */
const root = new URL('../../', import.meta.url);
const SERVICES = ['ras', 'catalog', 'resolver', 'deployer', 'gateway'] as const;

/** What each service's config reads, and nothing more (besides TLS and the JWKS every service reads). */
const OWN: Record<(typeof SERVICES)[number], string[]> = {
  ras: ['bus/ras.creds', 'bus/subscriber-signer.json'],
  catalog: ['kek.json', 'bus/catalog.creds'],
  resolver: ['deployer-seal.pub', 'deployer-sign.pub', 'bus/resolver.creds'],
  deployer: ['deployer-seal.key', 'deployer-sign.key', 'bus/deployer.creds'],
  // Its runtime identity (the deployer's runtime reads) and the console's session key; no KEK, no seal key.
  gateway: ['tls/gateway-runtime.crt', 'tls/gateway-runtime.key', 'gateway-session.key', 'bus/gateway.creds'],
};
const allowedFor = (s: (typeof SERVICES)[number]): string[] =>
  ['tls/ca.crt', `tls/${s}.crt`, `tls/${s}.key`, 'oidc-jwks.json', ...OWN[s]].sort();
const execFileAsync = promisify(execFile);
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
/** No service may ever see these. */
const NOBODY = ['tls/ca.key', 'oidc-signing-key.json', 'credentials.json', 'bus/trust.json'];

interface Mount {
  type?: string;
  source?: string;
  target?: string;
  read_only?: boolean;
  volume?: { subpath?: string };
}
interface ComposeService {
  volumes?: (string | Mount)[];
  environment?: Record<string, string>;
}

async function compose(): Promise<Record<string, ComposeService>> {
  const doc = parse(await readFile(new URL('docker-compose.yml', root), 'utf8'), { merge: true }) as {
    services: Record<string, ComposeService>;
  };
  return doc.services;
}

test('each service mounts only its own folder of the keys volume, read-only, as /keys', async () => {
  const services = await compose();
  for (const s of SERVICES) {
    const volumes = services[s]?.volumes ?? [];
    const keyMounts = volumes.filter((v) => (typeof v === 'string' ? v.startsWith('keys:') : v.source === 'keys'));
    assert.deepEqual(
      keyMounts,
      [{ type: 'volume', source: 'keys', target: '/keys', read_only: true, volume: { subpath: `for/${s}` } }],
      `${s} mounts the keys volume once, its own folder only`,
    );
    for (const v of volumes) {
      const target = typeof v === 'string' ? v.split(':')[1] : v.target;
      assert.ok(target === '/keys' || !String(target).startsWith('/keys'), `${s}: nothing else under /keys`);
    }
  }
});

test('each folder holds exactly the files its service reads: never the CA key, the signing key or the tokens', async () => {
  const table = JSON.parse(await readFile(new URL('deploy/service-keys.json', root), 'utf8')) as Record<
    string,
    string[]
  >;
  for (const s of SERVICES) {
    assert.deepEqual([...(table[s] ?? [])].sort(), allowedFor(s), s);
    for (const secret of NOBODY) assert.ok(!(table[s] ?? []).includes(secret), `${s} never sees ${secret}`);
  }
  // And the files each service's environment names are among them (it is given what it needs).
  const services = await compose();
  for (const s of SERVICES) {
    for (const [name, value] of Object.entries(services[s]?.environment ?? {})) {
      const m = /^\$\{[A-Z_]+-(\/keys\/[^}]*)\}$|^(\/keys\/.*)$/.exec(String(value));
      const file = m?.[1] ?? m?.[2];
      if (file === undefined || file === '') continue;
      assert.ok(allowedFor(s).includes(file.slice('/keys/'.length)), `${s}: ${name}=${file} is in its folder`);
    }
  }
});

test('ras in compose has no platform admin unless the operator names one', async () => {
  const env = (await compose())['ras']?.environment ?? {};
  assert.equal(env['LATCHKEY_PLATFORM_ADMINS'], '${LATCHKEY_PLATFORM_ADMINS:-}');
  assert.equal(env['LATCHKEY_PLATFORM_ADMIN_GROUPS'], '${LATCHKEY_PLATFORM_ADMIN_GROUPS:-}');
});

test('init-keys makes the gateway a serving-only certificate and a gateway-runtime client certificate; share-keys gives each service exactly its files', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'latchkey-init-keys-'));
  try {
    const keys = path.join(dir, 'keys');
    const run = (script: string, ...args: string[]) =>
      execFileAsync(process.execPath, [fileURLToPath(new URL(`deploy/${script}`, root)), ...args]);
    await run('init-keys.mjs', keys, path.join(dir, 'nats-keys'));
    await run('share-keys.mjs', keys);
    // As root (compose) the private files go to the services' uid 1000; run by anyone else they stay the runner's.
    const owner = process.getuid?.() === 0 ? 1000 : process.getuid?.();
    for (const f of ['kek.json', 'tls/ca.key', 'bus/trust.json']) {
      assert.equal((await stat(path.join(keys, f))).uid, owner, `${f} belongs to uid ${owner}`);
    }
    const ca = new X509Certificate(await readFile(path.join(keys, 'tls/ca.crt')));
    const cert = async (name: string) => new X509Certificate(await readFile(path.join(keys, `tls/${name}.crt`)));
    const gateway = await cert('gateway');
    assert.equal(gateway.subject, 'CN=gateway');
    assert.ok(gateway.checkIssued(ca) && gateway.verify(ca.publicKey), 'the gateway certificate comes from the CA');
    assert.deepEqual(gateway.keyUsage, [SERVER_AUTH], 'the gateway certificate serves only: it never calls as itself');
    const runtime = await cert('gateway-runtime');
    assert.equal(runtime.subject, 'CN=gateway-runtime');
    assert.ok(runtime.checkIssued(ca) && runtime.verify(ca.publicKey));
    assert.ok(runtime.keyUsage?.includes(CLIENT_AUTH), 'gateway-runtime is a client certificate');
    const table = JSON.parse(await readFile(new URL('deploy/service-keys.json', root), 'utf8')) as Record<
      string,
      string[]
    >;
    for (const s of SERVICES) {
      const folder = path.join(keys, 'for', s);
      const files = (await readdir(folder, { recursive: true, withFileTypes: true }))
        .filter((f) => f.isFile())
        .map((f) => path.relative(folder, path.join(f.parentPath, f.name)))
        .sort();
      assert.deepEqual(files, allowedFor(s), `${s}: its folder holds exactly its files`);
      assert.deepEqual(files, [...(table[s] ?? [])].sort());
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
