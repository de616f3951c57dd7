import assert from 'node:assert/strict';
import https from 'node:https';
import { after, before, describe, test } from 'node:test';
import { startVaultEmulator } from './server.js';
import type { VaultEmulator } from './types.js';

/** GET lookup-self over https, trusting `ca` only; the status, or the TLS error's code. */
function lookupSelf(emu: VaultEmulator, ca: string | undefined, host = '127.0.0.1'): Promise<number | string> {
  return new Promise((resolve) => {
    const req = https.request(
      `https://${host}:${emu.port}/v1/auth/token/lookup-self`,
      {
        headers: { 'X-Vault-Token': emu.rootToken },
        agent: new https.Agent({ keepAlive: false }),
        ...(ca === undefined ? {} : { ca }),
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    req.end();
  });
}

describe('vault emulator: https mode and bad certificates', () => {
  let emu: VaultEmulator;
  before(async () => {
    emu = await startVaultEmulator({ tls: true });
  });
  after(() => emu.stop());

  test('serves https for 127.0.0.1 and localhost with a certificate of its own CA, which is the only one that works', async () => {
    assert.match(emu.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(emu.ca?.includes('BEGIN CERTIFICATE'));
    assert.equal(await lookupSelf(emu, emu.ca), 200);
    assert.equal(await lookupSelf(emu, emu.ca, 'localhost'), 200);
    // Without its CA (the default roots), the certificate is not trusted.
    assert.equal(await lookupSelf(emu, undefined), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  test('each bad certificate fails the handshake with its own error until cleared, kept-alive connections included', async () => {
    const expected = {
      untrusted: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'wrong-host': 'ERR_TLS_CERT_ALTNAME_INVALID',
      expired: 'CERT_HAS_EXPIRED',
    } as const;
    for (const [kind, code] of Object.entries(expected) as [keyof typeof expected, string][]) {
      // A connection kept alive from before the switch is not reused with the good certificate.
      const agent = new https.Agent({ keepAlive: true, ca: emu.ca });
      const kept = () =>
        new Promise<number | string>((resolve) => {
          https
            .get(`${emu.url}/v1/sys/seal-status`, { agent }, (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
            })
            .on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
        });
      assert.equal(await kept(), 200);
      const clear = emu.presentBadCertificate(kind);
      try {
        // The kept connection was dropped: a request racing the drop may meet the reset, the next meets the certificate.
        const first = await kept();
        assert.ok(first === code || first === 'ECONNRESET', `${kind}: ${first}`);
        assert.equal(await kept(), code, kind);
        assert.equal(await lookupSelf(emu, emu.ca), code, kind);
      } finally {
        clear();
      }
      assert.equal(await lookupSelf(emu, emu.ca), 200, `${kind} cleared`);
      assert.equal(await kept(), 200, `${kind} cleared, kept-alive agent`);
      agent.destroy();
    }
  });

  test('an http emulator refuses presentBadCertificate with a message saying how to get one that can', async () => {
    const plain = await startVaultEmulator();
    try {
      assert.throws(() => plain.presentBadCertificate('untrusted'), /startVaultEmulator\(\{ tls: true \}\)/);
      assert.equal(plain.ca, undefined);
    } finally {
      await plain.stop();
    }
  });
});
