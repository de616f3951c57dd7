import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { LatchkeyError } from '@latchkey/errors';
import type { Authenticator, Principal } from './call-context.js';
import { jwtAuthenticator } from './jwt-authenticator.js';

const ISSUER = 'https://login.example.test/';
const AUDIENCE = 'latchkey';

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function signingKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

const jwks = (...keys: SigningKey[]) => JSON.stringify({ keys: keys.map((k) => k.publicJwk) });

/** A token signed by `key`: valid for an hour unless `claims`/`options` say otherwise. */
async function token(
  key: SigningKey,
  claims: JWTPayload = {},
  options: { iss?: string; aud?: string; expSec?: number; kid?: string | null } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const header = options.kid === null ? { alg: 'ES256' } : { alg: 'ES256', kid: options.kid ?? key.kid };
  return new SignJWT({ sub: 'alice', ...claims })
    .setProtectedHeader(header)
    .setIssuer(options.iss ?? ISSUER)
    .setAudience(options.aud ?? AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(now + (options.expSec ?? 3600))
    .sign(key.privateKey);
}

/** Asserts an unauthenticated refusal whose message matches `reason` and never contains the token. */
async function refuses(auth: Authenticator, tok: string, reason: RegExp): Promise<void> {
  const err = await Promise.resolve()
    .then(() => auth(tok))
    .then(
      (p) => assert.fail(`expected a refusal, got ${JSON.stringify(p)}`),
      (e: unknown) => e,
    );
  assert.ok(err instanceof LatchkeyError, `a LatchkeyError, not ${String(err)}`);
  assert.equal(err.kind, 'unauthenticated');
  assert.equal(err.code, 'auth.unauthenticated');
  assert.match(err.message, reason);
  for (const part of tok.split('.').filter((x) => x.length > 8)) {
    assert.ok(!err.message.includes(part), 'the message repeats part of the token');
  }
}

let dir = '';
let keyA: SigningKey;
let keyB: SigningKey;
let jwksFile = '';

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'latchkey-jwt-'));
  keyA = await signingKey('key-a');
  keyB = await signingKey('key-b');
  jwksFile = path.join(dir, 'jwks.json');
  await writeFile(jwksFile, jwks(keyA));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const fromFile = (extra: Partial<Parameters<typeof jwtAuthenticator>[0]> = {}) =>
  jwtAuthenticator({ issuer: ISSUER, audience: AUDIENCE, jwksFile, ...extra });

describe('happy', () => {
  test('a valid token is the user of its sub claim, with the groups of its groups claim', async () => {
    const auth = await fromFile();
    const p = await auth(await token(keyA, { groups: ['data-eng', 'analysts'] }));
    assert.deepEqual(p, { id: 'alice', kind: 'user', groups: ['data-eng', 'analysts'] } satisfies Principal);
  });

  test('a token without a groups claim has no groups; a single group as a string counts as one', async () => {
    const auth = await fromFile();
    assert.deepEqual((await auth(await token(keyA)))?.groups, []);
    assert.deepEqual((await auth(await token(keyA, { groups: 'ops' })))?.groups, ['ops']);
  });

  test('the groups and user claims are configurable, a dotted path reaching into an object', async () => {
    const auth = await fromFile({ groupsClaim: 'realm_access.roles', userClaim: 'preferred_username' });
    const p = await auth(
      await token(keyA, { sub: 'f3c1-uuid', preferred_username: 'bob', realm_access: { roles: ['finance'] } }),
    );
    assert.deepEqual(p, { id: 'bob', kind: 'user', groups: ['finance'] });
  });

  test('key rotation: a new kid verifies as soon as the JWKS file holds it; a removed kid stops verifying', async () => {
    const file = path.join(dir, 'rotating.json');
    await writeFile(file, jwks(keyA));
    const auth = await jwtAuthenticator({ issuer: ISSUER, audience: AUDIENCE, jwksFile: file });
    const byB = await token(keyB);
    await refuses(auth, byB, /signed with key "key-b", which the issuer's key set does not have/);
    await writeFile(file, jwks(keyA, keyB));
    // At once (an unknown kid makes it look at the file), though its recheck interval has not passed.
    assert.equal((await auth(byB))?.id, 'alice');
    assert.equal((await auth(await token(keyA)))?.id, 'alice');
    // A removed key is noticed at the next recheck: here on every call.
    const eager = await jwtAuthenticator({ issuer: ISSUER, audience: AUDIENCE, jwksFile: file, jwksFileRecheckMs: 0 });
    assert.equal((await eager(await token(keyA)))?.id, 'alice');
    await writeFile(file, jwks(keyB) + '\n');
    await refuses(eager, await token(keyA), /signed with key "key-a"/);
    assert.equal((await eager(byB))?.id, 'alice');
  });

  test('a JWKS URL is fetched, and fetched again for a kid it did not have', async () => {
    let served = jwks(keyA);
    let fetches = 0;
    const server: Server = createHttpServer((_req, res) => {
      fetches++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(served);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      const auth = await jwtAuthenticator({
        issuer: ISSUER,
        audience: AUDIENCE,
        jwksUrl: `http://127.0.0.1:${port}/jwks`,
        jwksUrlCooldownMs: 0,
      });
      assert.equal((await auth(await token(keyA, { groups: ['g'] })))?.id, 'alice');
      served = jwks(keyA, keyB);
      assert.equal((await auth(await token(keyB)))?.id, 'alice');
      assert.equal(fetches, 2);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('refused tokens', () => {
  test('an expired token', async () => {
    await refuses(await fromFile(), await token(keyA, {}, { expSec: -120 }), /the token has expired/);
  });

  test('a token for another audience', async () => {
    await refuses(await fromFile(), await token(keyA, {}, { aud: 'someone-else' }), /not meant for latchkey/);
  });

  test('a token from another issuer', async () => {
    await refuses(
      await fromFile(),
      await token(keyA, {}, { iss: 'https://evil.example.test/' }),
      /not issued by https:\/\/login\.example\.test\//,
    );
  });

  test('a token signed with a kid the issuer does not have', async () => {
    const stranger = await signingKey('stranger');
    await refuses(await fromFile(), await token(stranger), /signed with key "stranger"/);
  });

  test('a token whose signature does not match the key its kid names', async () => {
    const impostor = await signingKey('key-a');
    await refuses(await fromFile(), await token(impostor), /signature does not verify/);
  });

  test('a shared-secret (HS256) token and an unsigned one', async () => {
    const hs = await new SignJWT({ sub: 'alice' })
      .setProtectedHeader({ alg: 'HS256', kid: 'key-a' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('a-shared-secret-of-enough-length-123'));
    await refuses(await fromFile(), hs, /signing algorithm is not accepted/);
    const [h, p] = hs.split('.');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${p ?? ''}.`;
    assert.ok(h);
    await refuses(await fromFile(), none, /algorithm is not accepted|not a well-formed/);
  });

  test('garbage, a token without exp, a token without sub, a bad groups claim', async () => {
    const auth = await fromFile();
    await refuses(auth, 'not.a.jwt', /not a well-formed signed JWT/);
    const noExp = await new SignJWT({ sub: 'alice' })
      .setProtectedHeader({ alg: 'ES256', kid: 'key-a' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .sign(keyA.privateKey);
    await refuses(auth, noExp, /no valid expiry/);
    await refuses(auth, await token(keyA, { sub: undefined }), /has no sub claim/);
    await refuses(auth, await token(keyA, { sub: 'service:catalog' }), /not a user id/);
    await refuses(auth, await token(keyA, { groups: [1, 2] }), /groups claim must be a list of group names/);
  });
});

describe('configuration', () => {
  test('exactly one of a JWKS URL and a JWKS file', async () => {
    await assert.rejects(
      jwtAuthenticator({ issuer: ISSUER, audience: AUDIENCE }),
      /set LATCHKEY_OIDC_JWKS_URL .* or LATCHKEY_OIDC_JWKS_FILE/,
    );
    await assert.rejects(
      jwtAuthenticator({ issuer: ISSUER, audience: AUDIENCE, jwksFile, jwksUrl: 'https://x.test/jwks' }),
      /only one of LATCHKEY_OIDC_JWKS_URL and LATCHKEY_OIDC_JWKS_FILE/,
    );
  });

  test('a missing or malformed JWKS file, or a URL that is not one, is named', async () => {
    await assert.rejects(
      jwtAuthenticator({ issuer: ISSUER, audience: AUDIENCE, jwksFile: path.join(dir, 'nope.json') }),
      /cannot read the JWKS file .*nope\.json \(ENOENT\)/,
    );
    const bad = path.join(dir, 'bad.json');
    await writeFile(bad, '{"keys": []}');
    await assert.rejects(
      jwtAuthenticator({ issuer: ISSUER, audience: AUDIENCE, jwksFile: bad }),
      /JWKS file .*bad\.json has no keys/,
    );
    await assert.rejects(
      jwtAuthenticator({ issuer: ISSUER, audience: AUDIENCE, jwksUrl: 'not a url' }),
      /LATCHKEY_OIDC_JWKS_URL is not a URL/,
    );
    await assert.rejects(jwtAuthenticator({ issuer: '', audience: AUDIENCE, jwksFile }), /LATCHKEY_OIDC_ISSUER/);
  });

  test('a JWKS URL must be https: plain http only to a loopback address (issue 13 §6)', async () => {
    for (const jwksUrl of [
      'http://idp.example.test/jwks',
      'http://10.0.0.5:8080/jwks',
      'http://localhost:8080/jwks',
      'ftp://idp.example.test/jwks',
    ]) {
      await assert.rejects(
        jwtAuthenticator({ issuer: ISSUER, audience: AUDIENCE, jwksUrl }),
        /LATCHKEY_OIDC_JWKS_URL must be an https:\/\/ URL \(plain http:\/\/ only to a loopback address/,
        jwksUrl,
      );
    }
    // Accepted (nothing is fetched until a token comes).
    for (const jwksUrl of ['https://idp.example.test/jwks', 'http://127.0.0.1:8080/jwks', 'http://[::1]:8080/jwks']) {
      await jwtAuthenticator({ issuer: ISSUER, audience: AUDIENCE, jwksUrl });
    }
  });
});
