import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { envelopeDecrypt, envelopeEncrypt, type Kek } from './envelope.js';
import { generateSealKeyPair, open, seal, exportSealKeyPair, importSealPublicKey } from './seal.js';
import {
  exportSigningKeyPair,
  generateSigningKeyPair,
  importSigningPrivateKey,
  importSigningPublicKey,
  signatureProblem,
  signPayload,
} from './signing.js';

const kek = (): Kek => ({ id: 'kek-test', key: randomBytes(32) });

test('envelope encryption round-trips and never stores the plaintext', () => {
  const k = kek();
  const canary = `canary-${randomBytes(8).toString('hex')}`;
  const rec = envelopeEncrypt(k, Buffer.from(canary), 'analytics/DB/1');
  assert.ok(!rec.ciphertext.toString('latin1').includes(canary));
  assert.ok(!rec.ciphertext.toString('base64').includes(Buffer.from(canary).toString('base64')));
  assert.equal(envelopeDecrypt(new Map([[k.id, k]]), rec, 'analytics/DB/1').toString(), canary);
});

test('each value gets its own data key', () => {
  const k = kek();
  const a = envelopeEncrypt(k, Buffer.from('same-value'), 'ctx');
  const b = envelopeEncrypt(k, Buffer.from('same-value'), 'ctx');
  assert.notDeepEqual(a.wrappedDek, b.wrappedDek);
  assert.notDeepEqual(a.ciphertext, b.ciphertext);
});

test('a ciphertext moved to another key or version fails to decrypt', () => {
  const k = kek();
  const rec = envelopeEncrypt(k, Buffer.from('v'), 'analytics/DB/1');
  assert.throws(() => envelopeDecrypt(new Map([[k.id, k]]), rec, 'analytics/DB/2'), { code: 'crypto.auth_failed' });
  const other = { id: k.id, key: randomBytes(32) };
  assert.throws(() => envelopeDecrypt(new Map([[k.id, other]]), rec, 'analytics/DB/1'), { code: 'crypto.auth_failed' });
  assert.throws(() => envelopeDecrypt(new Map(), rec, 'analytics/DB/1'), { code: 'crypto.kek_unknown' });
});

test('sealed values open only with the recipient key and the same deployment id', () => {
  const pair = generateSealKeyPair();
  const pub = importSealPublicKey(exportSealKeyPair(pair).publicPem);
  assert.equal(pub.kid, pair.kid);
  const box = seal(pub, Buffer.from('s3cr3t'), 'deployment-1');
  assert.equal(open(new Map([[pair.kid, pair]]), box, 'deployment-1').toString(), 's3cr3t');
  assert.throws(() => open(new Map([[pair.kid, pair]]), box, 'deployment-2'), { code: 'crypto.auth_failed' });
  const stranger = generateSealKeyPair();
  assert.throws(() => open(new Map([[stranger.kid, stranger]]), box, 'deployment-1'), {
    code: 'crypto.seal_key_unknown',
  });
  assert.throws(() => open(new Map([[pair.kid, { ...stranger, kid: pair.kid }]]), box, 'deployment-1'), {
    code: 'crypto.auth_failed',
  });
});

test('a signature verifies only with its key, over exactly the signed bytes; anything else says why', () => {
  const pair = generateSigningKeyPair();
  const other = generateSigningKeyPair();
  const keys = new Map([[pair.kid, importSigningPublicKey(exportSigningKeyPair(pair).publicPem)]]);
  const payload = Buffer.from('["latchkey.workload.deploying.v1","deploying:1"]');
  const sig = signPayload(pair, payload);
  assert.equal(signatureProblem(keys, payload, sig), undefined);
  assert.equal(signatureProblem(keys, payload, undefined), 'it carries no signature');
  assert.equal(signatureProblem(keys, payload, { kid: 1 }), 'its signature is malformed');
  assert.match(signatureProblem(keys, payload, signPayload(other, payload)) ?? '', /not a key this service trusts/);
  assert.match(signatureProblem(keys, Buffer.from(`${payload.toString()} `), sig) ?? '', /does not verify/);
  assert.match(signatureProblem(keys, payload, { kid: pair.kid, sig: 'AAAA' }) ?? '', /does not verify/);
  // The private key file round-trips; a key of another type is refused.
  assert.equal(importSigningPrivateKey(exportSigningKeyPair(pair).privatePem).kid, pair.kid);
  assert.throws(
    () => importSigningPublicKey(exportSealKeyPair(generateSealKeyPair()).publicPem),
    (err: Error) => /not Ed25519/.test(err.message),
  );
});
