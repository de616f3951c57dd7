/**
 * A team's Vault failing, as the catalog meets it during a deployment (the
 * resolver's one read, `readValues`) and during a rotation (the version
 * watch's round): every fault of issue 17 §2 against an https emulator whose
 * CA is the only one trusted. For each: no value comes back for any
 * reference, the failure names the integration and what went wrong (never
 * the token), nothing is announced or left behind, and the same connections
 * answer again once the fault is cleared, with nothing restarted.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { VaultEmulator } from '@latchkey/testing';
import { create, outboxEvents, putVersions, useVaultWorld, vault, world } from './vault-world.js';

useVaultWorld({ tls: true });

interface Fault {
  name: string;
  /** Starts the fault on the integration's paths; returns its clear function. */
  start(emu: VaultEmulator, base: string): () => void;
  code: string;
  /** What the message says, after the integration's name. */
  says: RegExp;
}

const onPaths = (kind: Parameters<VaultEmulator['injectFault']>[1]) => (emu: VaultEmulator, base: string) => {
  const clears = [emu.injectFault(`secret/data/${base}`, kind), emu.injectFault(`secret/metadata/${base}`, kind)];
  return () => clears.forEach((c) => c());
};

const FAULTS: Fault[] = [
  {
    name: '403',
    start: onPaths(403),
    code: 'vault.permission_denied',
    says: /permission denied reading secret\/data\/team\d+\/k: the token's policies do not allow it \(HTTP 403\)/,
  },
  { name: '404', start: onPaths(404), code: 'vault.not_found', says: /: key "k" does not exist$/ },
  {
    name: '429',
    start: onPaths(429),
    code: 'vault.rate_limited',
    says: /rate limit quota refused reading secret\/data\/team\d+\/k; it is tried again later \(HTTP 429\)/,
  },
  {
    name: '500',
    start: onPaths(500),
    code: 'vault.server_error',
    says: /Vault failed reading secret\/data\/team\d+\/k \(a server error\); it is tried again later \(HTTP 500\)/,
  },
  {
    name: '503 (sealed)',
    start: onPaths(503),
    code: 'vault.sealed',
    says: /Vault is sealed; reading secret\/data\/team\d+\/k failed, retry once it is unsealed \(HTTP 503\)/,
  },
  {
    name: 'hang past the deadline',
    start: onPaths('hang'),
    code: 'vault.unreachable',
    says: /no answer within 3000 ms while reading secret\/data\/team\d+\/k/,
  },
  {
    name: 'certificate of an untrusted CA',
    start: (emu) => emu.presentBadCertificate('untrusted'),
    code: 'vault.tls_failure',
    says: /TLS handshake failed \(UNABLE_TO_VERIFY_LEAF_SIGNATURE: the certificate is not issued by a CA the catalog trusts\)/,
  },
  {
    name: 'certificate for another host',
    start: (emu) => emu.presentBadCertificate('wrong-host'),
    code: 'vault.tls_failure',
    says: /TLS handshake failed \(ERR_TLS_CERT_ALTNAME_INVALID: the certificate is for another host name\)/,
  },
  {
    name: 'expired certificate',
    start: (emu) => emu.presentBadCertificate('expired'),
    code: 'vault.tls_failure',
    says: /TLS handshake failed \(CERT_HAS_EXPIRED: the certificate has expired\)/,
  },
];

describe('a team Vault that fails, during a deployment read and a rotation watch', () => {
  for (const fault of FAULTS) {
    test(`${fault.name}: every reference fails naming the integration and the failure; the watch announces nothing; all answers again once cleared`, async (t) => {
      const w = await world(t);
      const i = await create(w);
      await putVersions(w, 'k', 'fault-canary-1');
      await putVersions(w, 'j', 'fault-canary-j');
      w.dependents.deployed = [{ integrationId: i.id, key: 'k', version: 1 }];
      const refs = ['k', 'j'].map((key) => ({
        refId: key,
        key,
        scope: 'analytics',
        fallbackToGlobal: false,
        sourceType: 'VAULT' as const,
        integrationId: i.id,
      }));
      // The connection is made and used before the fault (as in a running catalog).
      assert.ok((await w.secrets.readValues(refs)).every((a) => a.found));
      const watch = w.watch();
      assert.equal((await watch.pollOnce())?.announced, 0);
      // A rotation in Vault while it fails.
      await putVersions(w, 'k', 'fault-canary-2');

      const clear = fault.start(vault, w.base);
      let answers;
      let round;
      try {
        answers = await w.secrets.readValues(refs);
        round = await watch.pollOnce();
      } finally {
        clear();
      }
      // All or nothing: no reference got a value.
      assert.deepEqual(
        answers.map((a) => [a.refId, a.found, a.found ? '' : a.code]),
        [
          ['k', false, fault.code],
          ['j', false, fault.code],
        ],
      );
      const k = answers.find((a) => a.refId === 'k');
      assert.ok(k && !k.found);
      assert.match(k.message, /^Vault integration "analytics\/team-vault" \(https:\/\/127\.0\.0\.1:\d+\): /);
      assert.match(k.message, fault.says);
      const text = JSON.stringify(answers);
      for (const secret of [w.token, 'fault-canary']) assert.ok(!text.includes(secret), `${secret} in ${text}`);
      // The rotation is not announced while Vault fails (a 404 says the key is gone: nothing to announce either).
      assert.equal(round?.announced, 0);
      assert.equal((await outboxEvents(w.pool)).length, 0, 'no secret.changed written');

      // Cleared: the same catalog objects read and notice the rotation.
      const again = await w.secrets.readValues(refs);
      assert.deepEqual(
        again.map((a) => [a.refId, a.found ? a.version : a.code]),
        [
          ['k', 2],
          ['j', 1],
        ],
      );
      assert.equal((await watch.pollOnce())?.announced, 1);
      assert.deepEqual(
        (await outboxEvents(w.pool)).map((e) => [e.data.key, e.data.version]),
        [['k', 2]],
      );
    });
  }
});
