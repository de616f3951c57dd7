import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createPublicKey, diffieHellman, sign, verify } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { freshPrivateKey, generateSealKeyPair, open, seal } from './seal.js';

/** X25519's base point (u = 9), as a public key: agreeing with it yields the private key's own public key. */
const BASE_POINT = createPublicKey({
  key: { kty: 'OKP', crv: 'X25519', x: Buffer.concat([Buffer.from([9]), Buffer.alloc(31)]).toString('base64url') },
  format: 'jwk',
});

test('a fresh X25519 key is a real key pair: its public key is its scalar times the base point, and agreement is symmetric', () => {
  const a = freshPrivateKey('X25519');
  const b = freshPrivateKey('X25519');
  assert.equal(a.asymmetricKeyType, 'x25519');
  const aPublic = createPublicKey(a);
  const raw = Buffer.from(aPublic.export({ format: 'jwk' }).x!, 'base64url');
  assert.deepEqual(diffieHellman({ privateKey: a, publicKey: BASE_POINT }), raw);
  assert.deepEqual(
    diffieHellman({ privateKey: a, publicKey: createPublicKey(b) }),
    diffieHellman({ privateKey: b, publicKey: aPublic }),
  );
  // Two keys are never the same key (32 bytes from the CSPRNG each).
  assert.notDeepEqual(a.export({ format: 'jwk' }).d, b.export({ format: 'jwk' }).d);
});

test('a fresh Ed25519 key signs what only its own public key verifies, and has the form of any Ed25519 private key', () => {
  const k = freshPrivateKey('Ed25519');
  assert.equal(k.asymmetricKeyType, 'ed25519');
  const sig = sign(null, Buffer.from('payload'), k);
  assert.ok(verify(null, Buffer.from('payload'), createPublicKey(k), sig));
  assert.ok(!verify(null, Buffer.from('payload'), createPublicKey(freshPrivateKey('Ed25519')), sig));
  // The members Node exports for every Ed25519 private key (generateKeyPairSync is kept out of this file: see seal.ts).
  const ours = k.export({ format: 'jwk' });
  assert.deepEqual(Object.keys(ours).sort(), ['crv', 'd', 'kty', 'x']);
  assert.equal(ours.crv, 'Ed25519');
  assert.equal(Buffer.from(ours.d!, 'base64url').length, 32);
});

/**
 * Seals in a loop in a child process with a small young generation, so that
 * collections come often and land inside the crypto calls. With
 * `generateKeyPairSync` for the ephemeral key (before 2026-12-04) the child
 * deadlocked within a few thousand seals: its main thread waited on a mutex
 * it held itself, and it never exited. The child must end, with every box
 * opened, within the deadline.
 */
test('sealing under constant garbage collection never deadlocks the thread (Node 20 key-generation job finalizer)', async () => {
  const sealUrl = new URL('./seal.js', import.meta.url).href;
  const script = `
    import { generateSealKeyPair, open, seal } from ${JSON.stringify(sealUrl)};
    const pair = generateSealKeyPair();
    const pairs = new Map([[pair.kid, pair]]);
    let kept = [];
    for (let i = 0; i < 20000; i++) {
      const box = seal(pair, Buffer.from('canary-' + i), 'dep-' + i);
      if (open(pairs, box, 'dep-' + i).toString() !== 'canary-' + i) process.exit(3);
      kept.push(JSON.stringify(box));
      if (kept.length > 500) kept = [];
    }
    console.log('sealed 20000');
  `;
  const child = spawn(process.execPath, ['--max-semi-space-size=1', '--input-type=module', '-e', script], {
    cwd: fileURLToPath(new URL('.', import.meta.url)),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const deadlineMs = 120_000;
  const ended = await new Promise<number | 'deadline'>((resolve) => {
    const timer = setTimeout(() => resolve('deadline'), deadlineMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code ?? -1);
    });
  });
  if (ended === 'deadline') child.kill('SIGKILL');
  assert.equal(ended, 0, `the sealing child ${ended === 'deadline' ? 'hung (deadlock)' : `exited ${ended}`}: ${out}`);
  assert.match(out, /sealed 20000/);
});

test('a box sealed with a fresh ephemeral key opens only with the recipient pair and the same binding', () => {
  const pair = generateSealKeyPair();
  const box = seal(pair, Buffer.from('hunter2'), 'dep-1');
  assert.equal(open(new Map([[pair.kid, pair]]), box, 'dep-1').toString(), 'hunter2');
  assert.throws(() => open(new Map([[pair.kid, pair]]), box, 'dep-2'));
  const other = generateSealKeyPair();
  assert.throws(() => open(new Map([[pair.kid, other]]), box, 'dep-1'));
  // The ephemeral key differs per seal.
  assert.notEqual(seal(pair, Buffer.from('x'), 'd').epk, seal(pair, Buffer.from('x'), 'd').epk);
});
