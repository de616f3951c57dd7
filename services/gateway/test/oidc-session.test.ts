import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { generateKek } from '@latchkey/crypto';
import { jwtAuthenticator, type Authenticator } from '@latchkey/grpc';
import { startOidcEmulator, type OidcEmulator } from '@latchkey/testing';
import { OIDC_CALLBACK_PATH, OIDC_LOGIN_PATH } from '../src/http/routes/session-routes.js';
import { ConsoleSessions } from '../src/session/console-sessions.js';
import { OidcSignIn } from '../src/session/oidc-sign-in.js';
import { fail, startFakeGateway, type FakeGateway } from './gateway-fixture.js';

const CONSOLE = 'https://console.test';
const REDIRECT = `${CONSOLE}${OIDC_CALLBACK_PATH}`;
const CLIENT_SECRET = 'client-secret-5c1e';

let idp: OidcEmulator;
let gw: FakeGateway;
let sessions: ConsoleSessions;
let verify: Authenticator;

before(async () => {
  idp = await startOidcEmulator({
    clientId: 'latchkey-console',
    clientSecret: CLIENT_SECRET,
    redirectUris: [REDIRECT],
    audience: 'latchkey',
  });
  // The services' own JWT check, configured as a scaled deployment would be.
  verify = await jwtAuthenticator({ issuer: idp.issuer, audience: 'latchkey', jwksUrl: idp.jwksUri });
  const k = generateKek();
  sessions = await ConsoleSessions.create({
    sessionKeys: { current: k, keys: new Map([[k.id, k]]) },
    oidc: (codec) =>
      OidcSignIn.discover(
        {
          issuer: idp.issuer,
          clientId: 'latchkey-console',
          clientSecret: CLIENT_SECRET,
          redirectUri: REDIRECT,
          scopes: 'openid',
          allowLoopbackHttp: true,
        },
        codec,
      ),
  });
  gw = await startFakeGateway({ sessions });
});
after(async () => {
  await gw.close();
  await idp.close();
});
beforeEach(() => {
  idp.user = { sub: 'olivia', groups: ['platform'] };
  idp.tokenRequests.length = 0;
  gw.calls.length = 0;
  // ras as the services are: it accepts only what the JWT check accepts.
  gw.set({
    ras: {
      whoAmI: (call, cb) => {
        const token = String(call.metadata.get('authorization')[0] ?? '').replace(/^Bearer /, '');
        void Promise.resolve(verify(token)).then(
          (p) =>
            p === undefined
              ? fail(cb, status.UNAUTHENTICATED, 'auth.unauthenticated', 'token refused')
              : cb(null, { principal: p.id, platformAdmin: false, groups: [...(p.groups ?? [])] }),
          () => fail(cb, status.UNAUTHENTICATED, 'auth.unauthenticated', 'token refused'),
        );
      },
    },
  });
});

const problemCode = (res: { headers: Record<string, unknown>; json(): unknown }) => {
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  return (res.json() as { code: string }).code;
};

/** Starts a sign-in at the gateway and lets the provider answer: the callback path+query and the transaction cookie. */
async function throughProvider(): Promise<{ callback: URL; txCookie: string }> {
  const start = await gw.app.inject({ method: 'GET', url: OIDC_LOGIN_PATH });
  assert.equal(start.statusCode, 302, start.body);
  const authorize = new URL(String(start.headers.location));
  assert.equal(authorize.origin + authorize.pathname, `${idp.issuer}/authorize`);
  assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
  assert.match(authorize.searchParams.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
  assert.ok(authorize.searchParams.get('state'));
  assert.ok(authorize.searchParams.get('nonce'));
  assert.equal(authorize.searchParams.get('redirect_uri'), REDIRECT);
  const set = String(start.headers['set-cookie']);
  assert.match(set, /^__Host-latchkey_oidc=[^;]+; Path=\/; HttpOnly; Secure; SameSite=Lax; Max-Age=600$/);
  const back = await fetch(authorize, { redirect: 'manual' });
  assert.equal(back.status, 302);
  return { callback: new URL(back.headers.get('location') ?? ''), txCookie: set.split(';')[0] ?? '' };
}

const callback = (url: URL, cookie?: string) =>
  gw.app.inject({
    method: 'GET',
    url: `${OIDC_CALLBACK_PATH}${url.search}`,
    ...(cookie !== undefined ? { headers: { cookie } } : {}),
  });

test('the OIDC flow (code + PKCE S256, state, nonce) signs in against the provider; the session is a token the services accept', async () => {
  const { callback: url, txCookie } = await throughProvider();
  const res = await callback(url, txCookie);
  assert.equal(res.statusCode, 200, res.body);
  assert.match(res.body, /<meta http-equiv="refresh" content="0;url=\/">/);
  const cookies = [res.headers['set-cookie'] ?? []].flat();
  assert.match(
    cookies[0] ?? '',
    /^__Host-latchkey_session=[^;]+; Path=\/; HttpOnly; Secure; SameSite=Strict; Max-Age=\d+$/,
  );
  assert.match(cookies[1] ?? '', /^__Host-latchkey_oidc=; .*Max-Age=0$/);
  const cookie = (cookies[0] ?? '').split(';')[0] ?? '';
  const session = await gw.app.inject({ method: 'GET', url: '/api/v1/session', headers: { cookie } });
  const body = session.json() as { user: string; groups: string[]; via: string };
  assert.deepEqual([body.user, body.groups, body.via], ['olivia', ['platform'], 'oidc']);
  gw.calls.length = 0;
  const who = await gw.app.inject({ method: 'GET', url: '/api/v1/whoami', headers: { cookie } });
  assert.equal(who.statusCode, 200);
  assert.deepEqual((who.json() as { principal: string }).principal, 'olivia');
  assert.deepEqual(idp.tokenRequests, [{ status: 200 }]);
});

test('a callback with a wrong state, or without this browser’s sign-in cookie (no PKCE verifier), is refused and sets no session', async () => {
  const { callback: url, txCookie } = await throughProvider();
  const wrongState = new URL(url);
  wrongState.searchParams.set('state', 'forged-state');
  const refused = await callback(wrongState, txCookie);
  assert.equal(refused.statusCode, 401);
  assert.equal(problemCode(refused), 'session.oidc_state_mismatch');
  assert.equal(refused.headers['set-cookie'], undefined);
  const noTx = await callback(url);
  assert.equal(noTx.statusCode, 401);
  assert.equal(problemCode(noTx), 'session.oidc_no_transaction');
  assert.match((noTx.json() as { detail: string }).detail, /PKCE verifier.*\/api\/v1\/session\/oidc\/login/);
  assert.deepEqual(idp.tokenRequests, [], 'the code was never exchanged');
  assert.equal(gw.calls.length, 0);
});

test('the provider refuses a code exchanged without, or with another, PKCE verifier; the gateway says the sign-in failed', async () => {
  const { callback: url } = await throughProvider();
  const code = url.searchParams.get('code') ?? '';
  const basic = `Basic ${Buffer.from(`latchkey-console:${CLIENT_SECRET}`).toString('base64')}`;
  const bare = await fetch(`${idp.issuer}/token`, {
    method: 'POST',
    headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT }),
  });
  assert.equal(bare.status, 400);
  assert.equal(((await bare.json()) as { error: string }).error, 'invalid_grant');
  // A transaction with the right state and nonce but another verifier: the exchange fails at the provider.
  const second = await throughProvider();
  const state = second.callback.searchParams.get('state') ?? '';
  const nonce = 'n';
  const forged = `__Host-latchkey_oidc=${sessions.codec.sealJson('oidc-tx', {
    verifier: 'a'.repeat(43),
    state,
    nonce,
    exp: Math.floor(Date.now() / 1000) + 600,
  })}`;
  const res = await callback(second.callback, forged);
  assert.equal(res.statusCode, 401);
  assert.equal(problemCode(res), 'session.oidc_failed');
  assert.equal(res.headers['set-cookie'], undefined);
  assert.deepEqual(
    idp.tokenRequests.map((r) => r.error),
    ['invalid_grant', 'invalid_grant'],
  );
});
