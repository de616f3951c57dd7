import assert from 'node:assert/strict';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  createServer,
  EMBEDDED_AUDIENCE,
  EMBEDDED_ISSUER,
  ensureLocalIssuer,
  jwtAuthenticator,
  localIssuerFiles,
  mintLocalToken,
  type Handlers,
  type LatchkeyServer,
} from '@latchkey/grpc';
import { silentLogger } from '@latchkey/logger';
import { RasServiceService, type RasServiceServer } from '@latchkey/proto';
import { writeConnectionFile } from '../../local-state/connection-file.js';
import { fakeIo } from '../../testing/fake-io.js';
import { fakeServerTls } from '../../testing/fake-server-tls.js';
import { identityFilePath, readIdentityFile, writeIdentityFile } from '../../local-state/identity-file.js';
import { main } from '../../main.js';

/**
 * A ras that answers WhoAmI with the caller as the services see it: the
 * token verified against the data folder's JWKS, as every service does.
 */
let home = '';
let server: LatchkeyServer;
let calls = 0;

before(async () => {
  home = await mkdtemp(path.join(tmpdir(), 'latchkey-identity-'));
  await ensureLocalIssuer(localIssuerFiles(home));
  // TLS with a certificate of its own CA, which the connection file names.
  const tls = await fakeServerTls(home);
  server = createServer({
    service: 'ras',
    logger: silentLogger,
    tls: tls.serviceTls,
    authenticate: await jwtAuthenticator({
      issuer: EMBEDDED_ISSUER,
      audience: EMBEDDED_AUDIENCE,
      jwksFile: localIssuerFiles(home).jwksFile,
    }),
  });
  const handlers = {
    ...Object.fromEntries(Object.keys(RasServiceService).map((n) => [n, () => Promise.reject(new Error(n))])),
    whoAmI: async (_req, ctx) => {
      calls++;
      return {
        principal: ctx.principal.id,
        platformAdmin: ctx.principal.id === 'admin',
        groups: [...ctx.principal.groups],
      };
    },
  } as Handlers<RasServiceServer>;
  server.addService<RasServiceServer>(RasServiceService, handlers);
  const addr = `127.0.0.1:${await server.listen('127.0.0.1', 0)}`;
  await writeConnectionFile(home, {
    catalog: addr,
    ras: addr,
    resolver: addr,
    deployer: addr,
    credentialsFile: path.join(home, 'credentials.json'),
    natsUrl: '',
    caFile: tls.caFile,
    insecure: false,
    pid: process.pid,
  });
});

after(async () => {
  await server.shutdown();
});

const run = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
  const io = fakeIo({ env: { LATCHKEY_HOME: home, ...env } });
  const code = await main(args, io);
  return { code, out: io.stdoutLines, err: io.stderrLines };
};

test('login --user alice --group ... stores a 0600 identity that the services take for alice with her groups', async () => {
  const login = await run(['login', '--user', 'alice', '--group', 'data-eng', '--group', 'ops']);
  assert.equal(login.code, 0, login.err.join('\n'));
  assert.match(
    login.out[0] ?? '',
    /^logged in as alice \(groups data-eng, ops\) until \d{4}-.*; stored in .*identity\.json$/,
  );
  assert.equal((await stat(identityFilePath(home))).mode & 0o777, 0o600);
  const stored = await readIdentityFile(home);
  assert.equal(stored?.user, 'alice');
  // About 12 hours.
  const hours = (Date.parse(stored?.expiresAt ?? '') - Date.now()) / 3_600_000;
  assert.ok(hours > 11.9 && hours <= 12, `expires in ${hours} h`);
  // The token is not printed without --print.
  assert.ok(!login.out.join('\n').includes(stored?.token ?? '-'));

  const who = await run(['whoami']);
  assert.equal(who.code, 0, who.err.join('\n'));
  assert.deepEqual(who.out.slice(0, 3), ['user: alice', 'groups: data-eng, ops', 'platform admin: no']);
  assert.match(who.out[3] ?? '', /^token: .*identity\.json \(expires /);
  const json = await run(['whoami', '--json']);
  assert.deepEqual(JSON.parse(json.out.join('\n')), {
    principal: 'alice',
    platformAdmin: false,
    groups: ['data-eng', 'ops'],
    tokenSource: 'identity file',
    expiresAt: stored?.expiresAt,
  });
});

test('--print writes the token alone to stdout (and still stores it); it verifies as that user', async () => {
  const r = await run(['login', '--user', 'bob', '--print', '--hours', '1']);
  assert.equal(r.code, 0);
  assert.equal(r.out.length, 1);
  const token = r.out[0] ?? '';
  assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
  assert.match(r.err[0] ?? '', /^logged in as bob until /);
  assert.equal((await readIdentityFile(home))?.token, token);
  const who = await run(['whoami'], { LATCHKEY_TOKEN: token });
  assert.equal(who.out[0], 'user: bob');
});

test('LATCHKEY_TOKEN overrides the stored identity', async () => {
  await run(['login', '--user', 'alice']);
  const { token } = await mintLocalToken(localIssuerFiles(home).signingKeyFile, {
    user: 'carol',
    groups: ['finance'],
    ttlSec: 600,
  });
  const who = await run(['whoami'], { LATCHKEY_TOKEN: token });
  assert.equal(who.code, 0, who.err.join('\n'));
  assert.deepEqual(who.out, ['user: carol', 'groups: finance', 'platform admin: no', 'token: LATCHKEY_TOKEN']);
  assert.equal((await run(['whoami'])).out[0], 'user: alice');
  // A login while LATCHKEY_TOKEN is set says which one wins.
  const login = await run(['login', '--user', 'alice'], { LATCHKEY_TOKEN: token });
  assert.match(login.err.join('\n'), /LATCHKEY_TOKEN is set and overrides this identity/);
});

test('a token the services refuse is reported with their reason, never echoed', async () => {
  const { token } = await mintLocalToken(localIssuerFiles(home).signingKeyFile, {
    user: 'mallory',
    groups: [],
    ttlSec: 600,
    audience: 'some-other-service',
  });
  const r = await run(['whoami'], { LATCHKEY_TOKEN: token });
  assert.equal(r.code, 1);
  assert.deepEqual(r.err, [
    'latchkey: the token is not meant for latchkey (its aud claim is wrong or missing) (auth.unauthenticated)',
  ]);
  assert.ok(!r.err.join('').includes(token.split('.')[1] ?? '-'));
});

test('an expired or missing identity is refused before anything is called, saying how to log in', async () => {
  const before = calls;
  await writeIdentityFile(home, { user: 'alice', groups: [], token: 'x.y.z', expiresAt: '2020-01-01T00:00:00.000Z' });
  const expired = await run(['whoami']);
  assert.equal(expired.code, 1);
  assert.deepEqual(expired.err, [
    'latchkey: your identity (alice) expired at 2020-01-01T00:00:00.000Z: run latchkey login --user alice again',
  ]);
  const empty = await mkdtemp(path.join(tmpdir(), 'latchkey-nobody-'));
  await writeFile(path.join(empty, 'connection.json'), await readFile(path.join(home, 'connection.json')));
  const none = await run(['whoami'], { LATCHKEY_HOME: empty });
  assert.match(none.err[0] ?? '', /you are not logged in \(no .*identity\.json\): run latchkey login --user NAME/);
  assert.equal(calls, before);
});

test('login without a local issuer says to start Latchkey first', async () => {
  const empty = await mkdtemp(path.join(tmpdir(), 'latchkey-noissuer-'));
  const r = await run(['login', '--user', 'alice'], { LATCHKEY_HOME: empty });
  assert.equal(r.code, 1);
  assert.match(r.err[0] ?? '', /there is no local issuer key .*: start Latchkey once with latchkey up/);
});

test('bad login arguments are usage errors that say what is wrong', async () => {
  const cases: [string[], RegExp][] = [
    [['login'], /--user is required/],
    [['login', '--user', 'a b'], /--user "a b" is not a user id/],
    [['login', '--user', 'service:catalog'], /is not a user id/],
    [['login', '--user', 'alice', '--group', 'x y'], /--group "x y" is not a group name/],
    [['login', '--user', 'alice', '--hours', '48'], /--hours must be a number of hours above 0 and at most 24, not 48/],
    [['login', '--user', 'alice', '--hours', 'soon'], /--hours must be/],
    [['login', '--user', 'alice', 'extra'], /unexpected argument "extra"/],
  ];
  for (const [args, message] of cases) {
    const r = await run(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.err[0] ?? '', message);
  }
});
