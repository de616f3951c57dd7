import assert from 'node:assert/strict';
import { chmod, chown, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Server } from '@grpc/grpc-js';
import { waitFor } from '@latchkey/testing';
import { CatalogServiceService } from '@latchkey/proto';
import { fakeIo } from '../testing/fake-io.js';
import { generateCredentials } from '../local-state/credentials-file.js';
import { fakeServerTls } from '../testing/fake-server-tls.js';
import { writeClientFiles } from '../testing/fake-services.js';
import { main } from '../main.js';

/**
 * The attack of issue 13 §4: a directory someone else prepared holds
 * `.latchkey/connection.json` pointing at their server. Running `secret put`
 * from there must send nothing to it: no connection, no token, no value.
 */
const TOKEN = 'alice-token-0123456789';
const VALUE = 'the-new-db-password';

/**
 * The attacker's server: a plain TCP listener that counts connections, keeps
 * the first bytes it is sent and hangs up (so that a call which does reach it
 * fails at once).
 */
let listener: net.Server;
let port = 0;
let connections = 0;
let received = Buffer.alloc(0);

before(async () => {
  listener = net.createServer((socket) => {
    connections++;
    socket.on('error', () => undefined);
    socket.once('data', (d: Buffer) => {
      received = Buffer.concat([received, d]);
      socket.destroy();
    });
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  port = (listener.address() as net.AddressInfo).port;
});

after(() => listener.close());

async function preparedDir(connection: Record<string, unknown>, mode = 0o600): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'latchkey-prepared-'));
  await mkdir(path.join(dir, '.latchkey'));
  const addr = `127.0.0.1:${port}`;
  const file = path.join(dir, '.latchkey', 'connection.json');
  await writeFile(
    file,
    JSON.stringify({
      catalog: addr,
      ras: addr,
      resolver: addr,
      deployer: addr,
      credentialsFile: '/nonexistent',
      natsUrl: '',
      caFile: '',
      insecure: true,
      pid: 1,
      ...connection,
    }),
  );
  await chmod(file, mode);
  return dir;
}

async function putFrom(dir: string, env: NodeJS.ProcessEnv = {}) {
  const before = { connections, bytes: received.length };
  const io = fakeIo({ stdin: VALUE, cwd: dir, env: { LATCHKEY_TOKEN: TOKEN, ...env } });
  const code = await main(['secret', 'put', 'DB_PASSWORD', '--domain', 'analytics'], io);
  return { code, stderr: io.stderrLines.join('\n'), sent: connections - before.connections, before };
}

function assertNothingSent(r: { sent: number }): void {
  assert.equal(r.sent, 0, 'the attacker saw no connection');
  assert.equal(received.includes(TOKEN), false, 'nor the token');
  assert.equal(received.includes(VALUE), false, 'nor the value');
}

test('a connection file of yours (0600) that says "insecure" does not make the CLI talk plaintext', async () => {
  const r = await putFrom(await preparedDir({}));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /says the services listen in plaintext, and the CLI never sends your token in plaintext/);
  assert.match(r.stderr, /if you started them yourself with latchkey up --insecure, set LATCHKEY_INSECURE=1/);
  assertNothingSent(r);
});

test('a connection file readable by others (0644) is refused, naming its mode and the fix', async () => {
  const r = await putFrom(await preparedDir({ insecure: false, caFile: '/etc/ssl/certs/ca-certificates.crt' }, 0o644));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /refusing the connection file .*connection\.json: its mode is 0644, not 0600/);
  assert.match(r.stderr, /LATCHKEY_CONNECTION=FILE/);
  assertNothingSent(r);
});

test('a connection file owned by someone else is refused, even with mode 0600', async (t) => {
  if (process.getuid?.() !== 0) {
    t.skip('needs root to give the file to another user');
    return;
  }
  const dir = await preparedDir({ insecure: false, caFile: '/etc/ssl/certs/ca-certificates.crt' });
  await chown(path.join(dir, '.latchkey', 'connection.json'), 65534, 65534);
  const r = await putFrom(dir);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /refusing the connection file .*: it is owned by uid 65534, not by you \(uid 0\)/);
  assertNothingSent(r);
});

test('an identity file someone else could write is refused too (you would act as them)', async () => {
  const dir = await preparedDir({ insecure: false, caFile: '/etc/ssl/certs/ca-certificates.crt' });
  const identity = path.join(dir, '.latchkey', 'identity.json');
  await writeFile(identity, JSON.stringify({ user: 'mallory', groups: [], token: 'x', expiresAt: '2999-01-01' }));
  await chmod(identity, 0o666);
  const io = fakeIo({ stdin: VALUE, cwd: dir });
  assert.equal(await main(['secret', 'put', 'K', '--domain', 'analytics'], io), 1);
  assert.match(io.stderrLines.join('\n'), /refusing the identity file .*identity\.json: its mode is 0666, not 0600/);
});

test('a server whose certificate is not from the CA the file names gets no token', async (t) => {
  // The attacker's gRPC server with TLS from its own CA; the file names another CA.
  const evil = await fakeServerTls(await mkdtemp(path.join(tmpdir(), 'latchkey-evil-ca-')));
  const trusted = await fakeServerTls(await mkdtemp(path.join(tmpdir(), 'latchkey-trusted-ca-')));
  let calls = 0;
  const server = new Server();
  server.addService(CatalogServiceService, {
    putSecret: (_call: unknown, cb: (e: Error) => void) => {
      calls++;
      cb(new Error('attacker'));
    },
  });
  const tlsPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', evil.credentials, (err, p) => (err ? reject(err) : resolve(p))),
  );
  t.after(() => server.forceShutdown());
  const addr = `127.0.0.1:${tlsPort}`;
  const dir = await preparedDir({
    catalog: addr,
    ras: addr,
    resolver: addr,
    deployer: addr,
    insecure: false,
    caFile: trusted.caFile,
  });
  const r = await putFrom(dir);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot reach catalog at 127\.0\.0\.1:\d+/);
  assert.equal(calls, 0, 'no call reached the server: the handshake failed before any token was sent');
});

test('only LATCHKEY_INSECURE=1 connects in plaintext, with a warning (and the attacker sees it: the check can fail)', async () => {
  const r = await putFrom(await preparedDir({}), { LATCHKEY_INSECURE: '1' });
  assert.match(r.stderr, /WARNING: LATCHKEY_INSECURE=1: connecting in PLAINTEXT/);
  assert.equal(r.code, 1, 'the listener hangs up');
  await waitFor(() => (received.includes('PRI * HTTP/2.0') ? true : undefined), {
    what: 'the HTTP/2 preface at the plaintext listener',
  });
  assert.ok(connections > r.before.connections);
});

test('LATCHKEY_CONNECTION names a file explicitly: used though not 0600, never for plaintext', async () => {
  const dir = await preparedDir({}, 0o644);
  const io = fakeIo({
    stdin: VALUE,
    cwd: tmpdir(),
    env: { LATCHKEY_TOKEN: TOKEN, LATCHKEY_CONNECTION: path.join(dir, '.latchkey', 'connection.json') },
  });
  const before = connections;
  assert.equal(await main(['secret', 'put', 'K', '--domain', 'analytics'], io), 1);
  assert.match(io.stderrLines.join('\n'), /says the services listen in plaintext/);
  assert.equal(connections, before);
});

test('an unreachable service is named with its address', async () => {
  const dead = await mkdtemp(path.join(tmpdir(), 'latchkey-dead-'));
  const { caFile } = await fakeServerTls(dead);
  await writeClientFiles(dead, { address: '127.0.0.1:1', caFile, creds: generateCredentials(), pid: 1 });
  const io = fakeIo({ env: { LATCHKEY_HOME: dead } });
  assert.equal(await main(['workload', 'list', '--domain', 'a'], io), 1);
  assert.match(io.stderrLines[0] ?? '', /^latchkey: cannot reach deployer at 127\.0\.0\.1:1 .*\(grpc\.unavailable\)$/);
  const status = fakeIo({ env: { LATCHKEY_HOME: dead } });
  assert.equal(await main(['status'], status), 1);
  assert.match(status.stdoutLines[1] ?? '', /^catalog\s+127\.0\.0\.1:1\s+down$/);
});
