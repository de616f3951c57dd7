import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkHealth } from '@latchkey/grpc';
import { waitFor } from '@latchkey/testing';
import { runCli, startSystem } from './system-harness.js';

const SERVICES = ['ras', 'catalog', 'resolver', 'deployer'] as const;

interface Connection {
  ras: string;
  catalog: string;
  resolver: string;
  deployer: string;
  caFile: string;
  insecure: boolean;
}

test('by default every service listens with TLS only: plaintext is refused, the local CA is trusted', async (t) => {
  const sys = await startSystem();
  t.after(() => sys.cleanup());
  const conn = JSON.parse(await readFile(join(sys.home, 'connection.json'), 'utf8')) as Connection;
  assert.equal(conn.insecure, false);
  assert.equal(conn.caFile, join(sys.home, 'tls', 'ca.crt'));
  const ca = await readFile(conn.caFile);
  for (const s of SERVICES) {
    assert.equal(await checkHealth(conn[s], 3000, { ca }), true, `${s} over TLS`);
    assert.equal(await checkHealth(conn[s], 3000), false, `${s} in plaintext`);
  }
  assert.doesNotMatch(sys.output(), /PLAINTEXT|insecure/i);
  const status = await sys.cli(['status']);
  assert.equal(status.code, 0, status.stderr);
});

test('--insecure (LATCHKEY_INSECURE=1) runs in plaintext, with a warning from the launcher and from every service', async (t) => {
  const sys = await startSystem({ env: { LATCHKEY_INSECURE: '1' } });
  t.after(() => sys.cleanup());
  assert.match(sys.output(), /WARNING: --insecure: every service listens in PLAINTEXT/);
  const conn = JSON.parse(await readFile(join(sys.home, 'connection.json'), 'utf8')) as Connection;
  assert.equal(conn.insecure, true);
  for (const s of SERVICES) {
    assert.equal(await checkHealth(conn[s], 3000), true, `${s} in plaintext`);
    const log = await waitFor(
      async () => {
        const text = await readFile(join(sys.home, 'logs', `${s}-1.log`), 'utf8');
        return text.includes('listening in PLAINTEXT') ? text : undefined;
      },
      { what: `${s}'s plaintext warning` },
    );
    assert.match(log, /"level":"?(warn|40)/);
  }
  // The CLI does not go plaintext because connection.json says so: only when told with LATCHKEY_INSECURE=1.
  const refused = await sys.cli(['domain', 'create', 'analytics']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /says the services listen in plaintext/);
  const plain = (args: string[], input?: string) => runCli(sys.home, args, input, { LATCHKEY_INSECURE: '1' });
  // Services still reach each other (shared tokens): a secret can be put and listed.
  const created = await plain(['domain', 'create', 'analytics']);
  assert.equal(created.code, 0);
  assert.match(created.stderr, /WARNING: LATCHKEY_INSECURE=1: connecting in PLAINTEXT/);
  assert.equal((await plain(['secret', 'put', 'k', '--domain', 'analytics'], 'value-1234')).code, 0);
  assert.match((await plain(['secret', 'list', '--domain', 'analytics'])).stdout, /^k\s/m);
});
