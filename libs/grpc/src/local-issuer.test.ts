import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { calculateJwkThumbprint, createLocalJWKSet, jwtVerify, type JWK } from 'jose';
import {
  EMBEDDED_AUDIENCE,
  EMBEDDED_ISSUER,
  ensureLocalIssuer,
  localIssuerFiles,
  mintLocalToken,
} from './local-issuer.js';

test('a new local issuer is a P-256 key (0600, named by its thumbprint) whose tokens verify with the JWKS beside it, and only with it', async (t) => {
  const home = await mkdtemp(path.join(tmpdir(), 'latchkey-issuer-'));
  t.after(() => rm(home, { recursive: true, force: true }));
  const files = localIssuerFiles(home);
  const { kid } = await ensureLocalIssuer(files);
  const key = JSON.parse(await readFile(files.signingKeyFile, 'utf8')) as JWK;
  assert.deepEqual([key.kty, key.crv, key.alg, key.use, key.kid], ['EC', 'P-256', 'ES256', 'sig', kid]);
  for (const part of [key.x, key.y, key.d]) assert.equal(Buffer.from(part!, 'base64url').length, 32);
  assert.equal(kid, await calculateJwkThumbprint({ kty: 'EC', crv: 'P-256', x: key.x!, y: key.y! }));
  assert.equal((await stat(files.signingKeyFile)).mode & 0o777, 0o600);
  const jwks = JSON.parse(await readFile(files.jwksFile, 'utf8')) as { keys: JWK[] };
  assert.equal(jwks.keys.length, 1);
  assert.equal(jwks.keys[0]!.d, undefined, 'the JWKS holds no private part');

  const { token } = await mintLocalToken(files.signingKeyFile, { user: 'mia', groups: ['analytics'], ttlSec: 60 });
  const { payload } = await jwtVerify(token, createLocalJWKSet(jwks as never), {
    issuer: EMBEDDED_ISSUER,
    audience: EMBEDDED_AUDIENCE,
  });
  assert.deepEqual([payload.sub, payload['groups']], ['mia', ['analytics']]);

  // Another issuer's key set does not verify it; a second ensure keeps the key.
  const other = await mkdtemp(path.join(tmpdir(), 'latchkey-issuer-'));
  t.after(() => rm(other, { recursive: true, force: true }));
  await ensureLocalIssuer(localIssuerFiles(other));
  const otherJwks = JSON.parse(await readFile(localIssuerFiles(other).jwksFile, 'utf8')) as { keys: JWK[] };
  otherJwks.keys[0]!.kid = kid;
  await assert.rejects(jwtVerify(token, createLocalJWKSet(otherJwks as never)), /signature verification failed/);
  assert.deepEqual(await ensureLocalIssuer(files), { kid });
  assert.deepEqual(JSON.parse(await readFile(files.signingKeyFile, 'utf8')), key);
});
