import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { consoleLink, gatewayClient, type GatewayAnswer } from './console-session.js';
import { startSystem } from './system-harness.js';

const cookieOf = (res: GatewayAnswer): string => {
  const set = [res.headers['set-cookie'] ?? []].flat()[0] ?? '';
  assert.match(set, /^__Host-latchkey_session=[^;]+; Path=\/; HttpOnly; Secure; SameSite=Strict; Max-Age=\d+$/);
  return set.split(';')[0] ?? '';
};

test('console sign-in on the real system: latchkey up’s link and latchkey console’s each sign in once, the session is the user’s own token, writes need the CSRF token', async (t) => {
  const sys = await startSystem();
  t.after(() => sys.cleanup());
  const http = await gatewayClient(sys.home);
  for (const key of ['gateway-session.key', 'gateway-login-link.key']) {
    assert.equal((await stat(join(sys.home, key))).mode & 0o777, 0o600, key);
  }

  // npm start / latchkey up prints a one-time link for the CLI's identity (the bootstrap admin).
  const printed =
    /sign in as admin \(this link works once, for 5 minutes; .*\): (https:\/\/127\.0\.0\.1:\d+\/login\?code=\S+)/.exec(
      sys.output(),
    )?.[1];
  assert.ok(printed, `latchkey up printed no login link:\n${sys.output()}`);
  const first = await http('GET', printed);
  assert.equal(first.status, 303, first.body);
  assert.equal(first.headers['location'], '/');
  assert.match(String(first.headers['strict-transport-security']), /max-age=/);
  const admin = cookieOf(first);
  const session = await http('GET', new URL('/api/v1/session', printed).href, { cookie: admin });
  assert.equal(session.status, 200, session.body);
  const s = session.json() as { user: string; platformAdmin: boolean; csrfToken: string; expiresAt: string };
  assert.deepEqual([s.user, s.platformAdmin], ['admin', true]);
  // Used once: the bus's KV bucket remembers it.
  const again = await http('GET', printed);
  assert.equal(again.status, 401);
  assert.equal((again.json() as { code: string }).code, 'session.link_used');

  // latchkey console --user alice: her session is her own token, verified by the services.
  const link = await consoleLink(sys, 'alice', ['data-eng']);
  const base = new URL(link).origin;
  const alice = cookieOf(await http('GET', link));
  const who = await http('GET', `${base}/api/v1/whoami`, { cookie: alice });
  assert.equal(who.status, 200, who.body);
  assert.deepEqual(who.json(), { principal: 'alice', platformAdmin: false, groups: ['data-eng'] });
  assert.equal(who.headers['cache-control'], 'no-store');
  assert.match(String(who.headers['content-security-policy']), /^default-src 'self'; script-src 'self';/);

  // A write with the cookie and no CSRF token is refused; with it, it goes through.
  const noCsrf = await http('POST', `${base}/api/v1/session/logout`, { cookie: alice });
  assert.equal(noCsrf.status, 403);
  assert.equal((noCsrf.json() as { code: string }).code, 'session.csrf_missing');
  const csrf = ((await http('GET', `${base}/api/v1/session`, { cookie: alice })).json() as { csrfToken: string })
    .csrfToken;
  const out = await http('POST', `${base}/api/v1/session/logout`, { cookie: alice, 'x-csrf-token': csrf });
  assert.equal(out.status, 204, out.body);

  // A cookie altered by one character is refused.
  const tampered = alice.slice(0, -3) + (alice.at(-3) === 'A' ? 'B' : 'A') + alice.slice(-2);
  const bad = await http('GET', `${base}/api/v1/whoami`, { cookie: tampered });
  assert.equal(bad.status, 401);
  assert.equal((bad.json() as { code: string }).code, 'session.invalid');
});
