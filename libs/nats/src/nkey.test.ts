import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAccount, createOperator, createUser, fmtCreds, fromPublic, fromSeed } from '@nats-io/jwt';
import { credsAuthenticator } from './connection.js';
import { createNkey, nkeyFromSeed, parseCreds, type NkeyRole } from './nkey.js';

// The nkeys library of @nats-io/jwt (pure JavaScript) is the reference: same keys, same bytes.
const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const reference = { operator: createOperator, account: createAccount, user: createUser };

test('a seed made by the nkeys library gives the same public key, private key and signatures here', () => {
  for (const [role, create] of Object.entries(reference)) {
    for (let i = 0; i < 5; i++) {
      const theirs = create();
      const seed = text(theirs.getSeed());
      const ours = nkeyFromSeed(seed);
      assert.equal(ours.getPublicKey(), theirs.getPublicKey(), `${role} public key`);
      assert.equal(text(ours.getPrivateKey()), text(theirs.getPrivateKey()), `${role} private key`);
      assert.equal(text(ours.getSeed()), seed);
      const message = new TextEncoder().encode(`nonce ${role} ${i} ${Math.random()}`);
      const sig = ours.sign(message);
      assert.deepEqual([...sig], [...theirs.sign(message)], 'ed25519 signatures are deterministic');
      assert.ok(theirs.verify(message, sig));
      assert.ok(ours.verify(message, theirs.sign(message)));
    }
  }
});

test('a key made here is a valid nkey of its role for the nkeys library, and its signatures verify there', () => {
  const letters: Record<NkeyRole, string> = { operator: 'O', account: 'A', user: 'U', server: 'N', cluster: 'C' };
  for (const [role, letter] of Object.entries(letters) as [NkeyRole, string][]) {
    const ours = createNkey(role);
    const seed = text(ours.getSeed());
    assert.equal(seed.slice(0, 2), `S${letter}`);
    assert.equal(ours.getPublicKey()[0], letter);
    assert.equal(fromSeed(ours.getSeed()).getPublicKey(), ours.getPublicKey());
    const message = new TextEncoder().encode('hello');
    assert.ok(fromPublic(ours.getPublicKey()).verify(message, ours.sign(message)));
  }
  assert.notEqual(text(createNkey('user').getSeed()), text(createNkey('user').getSeed()));
});

test('a tampered signature or message does not verify', () => {
  const key = createNkey('user');
  const message = new TextEncoder().encode('the nonce');
  const sig = key.sign(message);
  const bad = Uint8Array.from(sig);
  bad[10]! ^= 1;
  assert.equal(key.verify(message, bad), false);
  assert.equal(key.verify(new TextEncoder().encode('the nonce.'), sig), false);
});

test('what is not a seed is refused without being quoted: public keys, bad checksums, other letters, short strings', () => {
  const seed = text(createNkey('user').getSeed());
  const flipped = seed.slice(0, 20) + (seed[20] === 'A' ? 'B' : 'A') + seed.slice(21);
  const cases = [
    createNkey('user').getPublicKey(),
    flipped,
    seed.slice(0, -3),
    seed.toLowerCase(),
    '',
    'SUxx',
    `${seed}A`,
  ];
  for (const bad of cases) {
    assert.throws(
      () => nkeyFromSeed(bad),
      (err: Error) => err.message === 'not a valid nkey seed',
      `refused: ${bad.slice(0, 6)}`,
    );
  }
  const cleared = nkeyFromSeed(seed);
  cleared.clear();
  assert.throws(() => cleared.sign(new Uint8Array(1)), /cleared/);
});

test("a credentials file's JWT and seed are read, and the authenticator signs the server's nonce with the user key", () => {
  const user = createUser();
  const jwt = 'eyJhbGciOiJlZDI1NTE5LW5rZXkifQ.eyJzdWIiOiJ4In0.c2ln';
  const creds = fmtCreds(jwt, user);
  assert.deepEqual(parseCreds(text(creds)), { jwt, seed: text(user.getSeed()) });
  const auth = credsAuthenticator(creds)('a-nonce-from-the-server') as { jwt: string; nkey: string; sig: string };
  assert.equal(auth.jwt, jwt);
  assert.equal(auth.nkey, user.getPublicKey());
  assert.ok(user.verify(new TextEncoder().encode('a-nonce-from-the-server'), Buffer.from(auth.sig, 'base64')));
  assert.equal(parseCreds('-----BEGIN NATS USER JWT-----\nabc\n------END NATS USER JWT------\n'), undefined);
  assert.throws(() => credsAuthenticator(new TextEncoder().encode('not creds')), /hold no user JWT and nkey seed/);
});
