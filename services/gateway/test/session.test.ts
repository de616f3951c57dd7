import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import Fastify from 'fastify';
import { generateKek, generateSealKeyPair, sealLoginLink, type KekRingFile } from '@latchkey/crypto';
import type { RouteFamily } from '../src/http/route-context.js';
import { ROUTE_FAMILIES } from '../src/http/routes/index.js';
import { CONTENT_SECURITY_POLICY, installSecurityHeaders } from '../src/http/security-headers.js';
import { ConsoleSessions } from '../src/session/console-sessions.js';
import { memoryLinkRedemptions } from '../src/session/link-redemptions.js';
import { SESSION_COOKIE, SessionCodec } from '../src/session/session-cookie.js';
import { startFakeGateway, type FakeGateway, problemOf } from './gateway-fixture.js';

/** A token of the JWT's shape with an expiry (the fakes do not verify it; ras does). */
const jwtFor = (sub: string, expSec: number): string =>
  `${Buffer.from('{"alg":"ES256"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub, exp: expSec })).toString('base64url')}.c2ln`;

const nowSec = () => Math.floor(Date.now() / 1000);
const ring = (): KekRingFile => {
  const k = generateKek();
  return { current: k, keys: new Map([[k.id, k]]) };
};

const sessionKeys = ring();
const linkKey = generateSealKeyPair();
const ALICE = jwtFor('alice', nowSec() + 3600);

/** A write that reaches a service: what a CSRF refusal must never let through. */
const writeProbe: RouteFamily = async (app, { upstream }) => {
  app.post('/api/v1/probe-write', { schema: { summary: 'probe' } }, async (request) => {
    await upstream.call(request.caller(), 'ras', (r) => r.whoAmI, {});
    return { written: true };
  });
};

let gw: FakeGateway;
before(async () => {
  gw = await startFakeGateway({
    families: [...ROUTE_FAMILIES, { name: 'probe', plugin: writeProbe }],
    sessions: await ConsoleSessions.create({
      sessionKeys,
      links: { keys: new Map([[linkKey.kid, linkKey]]), redemptions: memoryLinkRedemptions() },
    }),
  });
});
after(() => gw.close());
beforeEach(() => {
  gw.calls.length = 0;
  gw.set({
    ras: { whoAmI: (_call, cb) => cb(null, { principal: 'alice', platformAdmin: false, groups: ['data-eng'] }) },
  });
});

const linkCode = (token = ALICE, opts: Parameters<typeof sealLoginLink>[2] = {}) =>
  sealLoginLink(linkKey, token, opts).code;

/** Opens a login link; returns the session cookie (name=value) it set. */
async function signIn(code = linkCode()): Promise<string> {
  const res = await gw.app.inject({ method: 'GET', url: `/login?code=${code}` });
  assert.equal(res.statusCode, 303, res.body);
  const set = String(res.headers['set-cookie']);
  const cookie = set.split(';')[0] ?? '';
  assert.ok(cookie.startsWith(`${SESSION_COOKIE}=`), set);
  return cookie;
}

async function csrfOf(cookie: string): Promise<string> {
  const res = await gw.app.inject({ method: 'GET', url: '/api/v1/session', headers: { cookie } });
  assert.equal(res.statusCode, 200, res.body);
  return (res.json() as { csrfToken: string }).csrfToken;
}

test('a login link signs in: an HttpOnly Secure SameSite=Strict __Host- cookie ending with the token, yielding the caller the Bearer path yields', async () => {
  const res = await gw.app.inject({ method: 'GET', url: `/login?code=${linkCode()}` });
  assert.equal(res.statusCode, 303);
  assert.equal(res.headers.location, '/');
  const set = String(res.headers['set-cookie']);
  assert.match(set, /^__Host-latchkey_session=[^;]+; Path=\/; HttpOnly; Secure; SameSite=Strict; Max-Age=(\d+)$/);
  const maxAge = Number(/Max-Age=(\d+)/.exec(set)?.[1]);
  assert.ok(maxAge > 3500 && maxAge <= 3600, `the session ends with the token (${maxAge})`);
  // The cookie is sealed: the token is not readable in it.
  assert.equal(set.includes(ALICE), false);
  assert.equal(set.includes(ALICE.split('.')[1] ?? 'x'), false);
  // ras was asked, with the link's token, who it is.
  assert.deepEqual(
    gw.calls.map((c) => [c.method, c.authorization]),
    [['/latchkey.v1.RasService/WhoAmI', [`Bearer ${ALICE}`]]],
  );
  const cookie = set.split(';')[0] ?? '';
  const session = await gw.app.inject({ method: 'GET', url: '/api/v1/session', headers: { cookie } });
  assert.equal(session.statusCode, 200);
  const body = session.json() as Record<string, unknown>;
  assert.deepEqual(
    { user: body['user'], groups: body['groups'], platformAdmin: body['platformAdmin'], via: body['via'] },
    { user: 'alice', groups: ['data-eng'], platformAdmin: false, via: 'link' },
  );
  assert.match(String(body['csrfToken']), /^[A-Za-z0-9_-]{43}$/);
  assert.equal(JSON.stringify(body).includes(ALICE), false, 'the session answer never holds the token');
  // The session's calls go to the services with the same Authorization the CLI's Bearer token would.
  gw.calls.length = 0;
  const who = await gw.app.inject({ method: 'GET', url: '/api/v1/whoami', headers: { cookie } });
  assert.equal(who.statusCode, 200);
  assert.deepEqual(gw.calls[0]?.authorization, [`Bearer ${ALICE}`]);
});

test('a used, expired, forged or tampered login link is refused with a clear problem and sets no cookie', async () => {
  const refused = async (code: string, want: string, detail: RegExp) => {
    const res = await gw.app.inject({ method: 'GET', url: `/login?code=${encodeURIComponent(code)}` });
    assert.equal(res.statusCode, 401, `${want}: ${res.body}`);
    const p = problemOf(res);
    assert.equal(p.code, want);
    assert.match(p.detail, detail);
    assert.match(p.detail, /latchkey console --user USER/);
    assert.equal(res.headers['set-cookie'], undefined);
    assert.equal(res.body.includes(ALICE), false);
  };
  const once = linkCode();
  await signIn(once);
  gw.calls.length = 0;
  await refused(once, 'session.link_used', /used already/);
  await refused(
    linkCode(ALICE, { now: () => new Date(Date.now() - 6 * 60_000) }),
    'session.link_expired',
    /has expired/,
  );
  // Sealed to a key this gateway does not hold (another Latchkey's, or anyone's made up).
  await refused(sealLoginLink(generateSealKeyPair(), ALICE).code, 'session.link_invalid', /another Latchkey/);
  // One character of the sealed box changed.
  const box = JSON.parse(Buffer.from(linkCode(), 'base64url').toString('utf8')) as { box: string };
  const flipped = Buffer.from(box.box, 'base64');
  flipped[flipped.length - 1] = (flipped[flipped.length - 1] ?? 0) ^ 1;
  const tampered = Buffer.from(JSON.stringify({ ...box, box: flipped.toString('base64') })).toString('base64url');
  await refused(tampered, 'session.link_invalid', /altered/);
  await refused('not-a-code', 'session.link_invalid', /not a login code/);
  // A link that claims a longer life than 5 minutes (its maker's clock far ahead) is no link.
  await refused(
    linkCode(ALICE, { now: () => new Date(Date.now() + 3600_000) }),
    'session.link_invalid',
    /longer than 5 minutes/,
  );
  assert.equal(gw.calls.length, 0, 'no refused link reached a service');
  const missing = await gw.app.inject({ method: 'GET', url: '/login' });
  assert.equal(missing.statusCode, 400);
  assert.match(problemOf(missing).detail, /query parameter code: is required/);
});

test('a session cookie that was tampered with, sealed with a foreign key, or has expired is refused before any service call', async () => {
  const cookie = await signIn();
  gw.calls.length = 0;
  const value = cookie.slice(SESSION_COOKIE.length + 1);
  const last = value.at(-2) === 'A' ? 'B' : 'A';
  const tampered = `${SESSION_COOKIE}=${value.slice(0, -2)}${last}${value.slice(-1)}`;
  const content = {
    token: ALICE,
    user: 'admin',
    groups: [],
    platformAdmin: true,
    exp: nowSec() + 3600,
    via: 'link' as const,
  };
  const foreign = `${SESSION_COOKIE}=${new SessionCodec(ring()).seal(SessionCodec.fresh(content))}`;
  // The right key id with another key behind it.
  const otherKey = { current: { ...generateKek(), id: sessionKeys.current.id }, keys: new Map() };
  otherKey.keys.set(otherKey.current.id, otherKey.current);
  const sameIdForeign = `${SESSION_COOKIE}=${new SessionCodec(otherKey).seal(SessionCodec.fresh(content))}`;
  const expired = `${SESSION_COOKIE}=${new SessionCodec(sessionKeys).seal(SessionCodec.fresh({ ...content, exp: nowSec() - 1 }))}`;
  for (const [c, code] of [
    [tampered, 'session.invalid'],
    [foreign, 'session.invalid'],
    [sameIdForeign, 'session.invalid'],
    [`${SESSION_COOKIE}=garbage`, 'session.invalid'],
    [expired, 'session.expired'],
  ] as const) {
    for (const url of ['/api/v1/whoami', '/api/v1/session']) {
      const res = await gw.app.inject({ method: 'GET', url, headers: { cookie: c } });
      assert.equal(res.statusCode, 401, `${code} ${url}`);
      const p = problemOf(res);
      assert.equal(p.code, code, url);
      assert.match(p.detail, /sign in again/);
    }
  }
  assert.equal(gw.calls.length, 0);
  const none = await gw.app.inject({ method: 'GET', url: '/api/v1/session' });
  assert.equal(problemOf(none).code, 'session.none');
});

test('a write made with the session cookie without, or with a wrong, x-csrf-token is refused (403) and reaches no service', async () => {
  const cookie = await signIn();
  const other = await signIn();
  const csrf = await csrfOf(cookie);
  gw.calls.length = 0;
  const write = (headers: Record<string, string>) =>
    gw.app.inject({ method: 'POST', url: '/api/v1/probe-write', headers, payload: {} });
  const missing = await write({ cookie });
  assert.equal(missing.statusCode, 403);
  assert.equal(problemOf(missing).code, 'session.csrf_missing');
  assert.match(problemOf(missing).detail, /x-csrf-token.*GET \/api\/v1\/session/);
  for (const wrong of ['x', csrf.slice(0, -1) + (csrf.endsWith('A') ? 'B' : 'A'), await csrfOf(other)]) {
    const res = await write({ cookie, 'x-csrf-token': wrong });
    assert.equal(res.statusCode, 403, wrong);
    assert.equal(problemOf(res).code, 'session.csrf_mismatch');
  }
  assert.equal(gw.calls.length, 0, 'a refused write changed nothing');
  const ok = await write({ cookie, 'x-csrf-token': csrf });
  assert.equal(ok.statusCode, 200, ok.body);
  assert.deepEqual(
    gw.calls.map((c) => c.authorization),
    [[`Bearer ${ALICE}`]],
  );
  // A Bearer-authenticated write needs no CSRF token (a cross-site page cannot send the header).
  const bearer = await write({ authorization: `Bearer ${ALICE}` });
  assert.equal(bearer.statusCode, 200);
});

test('logout needs the CSRF token and clears the cookie', async () => {
  const cookie = await signIn();
  const refused = await gw.app.inject({ method: 'POST', url: '/api/v1/session/logout', headers: { cookie } });
  assert.equal(refused.statusCode, 403);
  assert.equal(refused.headers['set-cookie'], undefined);
  const res = await gw.app.inject({
    method: 'POST',
    url: '/api/v1/session/logout',
    headers: { cookie, 'x-csrf-token': await csrfOf(cookie) },
  });
  assert.equal(res.statusCode, 204);
  assert.match(
    String(res.headers['set-cookie']),
    /^__Host-latchkey_session=; Path=\/; HttpOnly; Secure; SameSite=Strict; Max-Age=0$/,
  );
});

test('every answer carries the strict CSP, nosniff and no-referrer; API answers are not cached', async () => {
  const cookie = await signIn();
  const answers = [
    await gw.app.inject({ method: 'GET', url: '/api/v1/session', headers: { cookie } }),
    await gw.app.inject({ method: 'GET', url: '/api/v1/whoami' }),
    await gw.app.inject({ method: 'GET', url: '/api/openapi.json' }),
    await gw.app.inject({ method: 'GET', url: '/no/such/page' }),
    await gw.app.inject({ method: 'GET', url: '/login?code=x' }),
  ];
  for (const res of answers) {
    assert.equal(res.headers['content-security-policy'], CONTENT_SECURITY_POLICY);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.headers['referrer-policy'], 'no-referrer');
    assert.equal(res.headers['strict-transport-security'], undefined, 'no HSTS over plain HTTP');
  }
  assert.equal(
    CONTENT_SECURITY_POLICY,
    "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
  );
  for (const res of [answers[0], answers[1], answers[2], answers[4]])
    assert.equal(res?.headers['cache-control'], 'no-store');
  assert.equal(answers[3]?.headers['cache-control'], undefined, 'a page outside /api/ may be cached');
  // HSTS when the gateway serves HTTPS.
  const app = Fastify();
  installSecurityHeaders(app, { https: true });
  app.get('/x', () => 'x');
  const res = await app.inject({ method: 'GET', url: '/x' });
  assert.equal(res.headers['strict-transport-security'], 'max-age=31536000');
  await app.close();
});

test('without a session key the gateway takes Bearer tokens only and says how to enable sessions', async () => {
  const plain = await startFakeGateway();
  try {
    const res = await plain.app.inject({ method: 'GET', url: '/api/v1/session' });
    assert.equal(res.statusCode, 503);
    const p = problemOf(res);
    assert.equal(p.code, 'session.not_configured');
    assert.match(p.detail, /LATCHKEY_SESSION_KEY_FILE/);
    const link = await plain.app.inject({ method: 'GET', url: `/login?code=${linkCode()}` });
    assert.equal(problemOf(link).code, 'session.not_configured');
    // A cookie is no caller there.
    const cookie = await signIn();
    const who = await plain.app.inject({ method: 'GET', url: '/api/v1/whoami', headers: { cookie } });
    assert.equal(problemOf(who).code, 'auth.unauthenticated');
  } finally {
    await plain.close();
  }
});
