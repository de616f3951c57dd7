import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { parse } from 'yaml';

/**
 * Issue 13 §7: compose mounted the CA key, the issuer's signing key, the KEK
 * and the seal key into every service. Each service now sees only the key
 * files its config reads, through its own folder of the keys volume.
 */
const root = new URL('../../', import.meta.url);
const SERVICES = ['ras', 'catalog', 'resolver', 'deployer'] as const;

/** What each service's config reads, and nothing more (besides TLS and the JWKS every service reads). */
const OWN: Record<(typeof SERVICES)[number], string[]> = {
  ras: ['bus/ras.creds', 'bus/subscriber-signer.json'],
  catalog: ['kek.json', 'bus/catalog.creds'],
  resolver: ['deployer-seal.pub', 'deployer-sign.pub', 'bus/resolver.creds'],
  deployer: ['deployer-seal.key', 'deployer-sign.key', 'bus/deployer.creds'],
};
const allowedFor = (s: (typeof SERVICES)[number]): string[] =>
  ['tls/ca.crt', `tls/${s}.crt`, `tls/${s}.key`, 'oidc-jwks.json', ...OWN[s]].sort();
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
