import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { describeExit, ServiceStartError, startServiceProcess } from './service-process.js';

async function fakeService(source: string): Promise<{ entry: string; dir: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'latchkey-svc-'));
  const entry = path.join(dir, 'main.mjs');
  await writeFile(entry, source);
  return { entry, dir };
}

const READY = `
import net from 'node:net';
const server = net.createServer().listen(Number(process.env.LATCHKEY_GRPC_PORT), '127.0.0.1', () => {
  console.log(JSON.stringify({ level: 30, msg: 'listening', replica: process.env.LATCHKEY_REPLICA_ID }));
  process.send({ type: 'ready', service: 'ras', port: server.address().port });
});
process.on('SIGTERM', () => { console.log(JSON.stringify({ level: 30, msg: 'draining' })); server.close(); process.disconnect(); });
`;

test('waits for the ready message, logs to the file, and stops on SIGTERM', async () => {
  const { entry, dir } = await fakeService(READY);
  const logFile = path.join(dir, 'ras-1.log');
  const proc = await startServiceProcess({
    service: 'ras',
    replica: 1,
    entry,
    env: { ...process.env, LATCHKEY_GRPC_PORT: '0', LATCHKEY_REPLICA_ID: 'ras-1' },
    logFile,
  });
  assert.equal(proc.id, 'ras-1');
  assert.ok(proc.port > 0);
  assert.equal(proc.address, `127.0.0.1:${proc.port}`);
  await proc.stop();
  const exit = await proc.exited;
  assert.equal(exit.code, 0);
  const log = await readFile(logFile, 'utf8');
  assert.match(log, /"msg":"listening","replica":"ras-1"/);
  assert.match(log, /"msg":"draining"/);
});

test('a service that exits before ready is reported with its own error message and log tail', async () => {
  const { entry, dir } = await fakeService(`
    console.log(JSON.stringify({ level: 30, msg: 'starting' }));
    console.error(JSON.stringify({ level: 50, msg: 'port 7401 is already in use: set LATCHKEY_RAS_PORT' }));
    process.exit(3);
  `);
  await assert.rejects(
    startServiceProcess({ service: 'ras', replica: 1, entry, env: process.env, logFile: path.join(dir, 'ras-1.log') }),
    (e: unknown) => {
      assert.ok(e instanceof ServiceStartError);
      assert.match(
        e.message,
        /^service ras-1 exited before it was ready \(exit code 3\): port 7401 is already in use: set LATCHKEY_RAS_PORT \(log: /,
      );
      assert.equal(e.logTail.length, 2);
      return true;
    },
  );
});

test('a service that never reports ready is killed at the deadline', async () => {
  const { entry, dir } = await fakeService(`setInterval(() => {}, 1000); process.on('SIGTERM', () => {});`);
  const started = Date.now();
  await assert.rejects(
    startServiceProcess({
      service: 'catalog',
      replica: 2,
      entry,
      env: process.env,
      logFile: path.join(dir, 'c.log'),
      readyTimeoutMs: 300,
      stopGraceMs: 200,
    }),
    /service catalog-2 did not report ready within 0s/,
  );
  assert.ok(Date.now() - started < 5000);
});

test('aborting stops a service that is still starting', async () => {
  const { entry, dir } = await fakeService(`setInterval(() => {}, 1000);`);
  const abort = new AbortController();
  setTimeout(() => abort.abort(), 200);
  await assert.rejects(
    startServiceProcess({
      service: 'deployer',
      replica: 1,
      entry,
      env: process.env,
      logFile: path.join(dir, 'd.log'),
      signal: abort.signal,
    }),
    /cancelled/,
  );
});

/** A ready fake service that sends heartbeats every 50 ms until `then` runs on its main thread. */
const beatingThen = (then: string) => `
import net from 'node:net';
const server = net.createServer().listen(Number(process.env.LATCHKEY_GRPC_PORT), '127.0.0.1', () => {
  process.send({ type: 'ready', service: 'resolver', port: server.address().port });
  let beats = 0;
  const beat = setInterval(() => {
    process.send({ type: 'alive' });
    if (++beats === 5) { clearInterval(beat); ${then} }
  }, 50);
});
process.on('SIGTERM', () => { server.close(); process.disconnect(); });
`;

/** Starts a fake service that liveness watches with a short timeout; it logs to `<dir>/<service>-<replica>.log`. */
const startWatched = (
  fake: { entry: string; dir: string },
  service: 'resolver' | 'ras',
  replica: number,
  livenessTimeoutMs: number,
) =>
  startServiceProcess({
    service,
    replica,
    entry: fake.entry,
    env: { ...process.env, LATCHKEY_GRPC_PORT: '0' },
    logFile: path.join(fake.dir, `${service}-${replica}.log`),
    livenessTimeoutMs,
  });

test('a ready service whose heartbeats stop while its main thread spins is killed, and its exit says why (busy)', async () => {
  const fake = await fakeService(beatingThen('for (;;) {}'));
  const proc = await startWatched(fake, 'resolver', 1, 1_000);
  const exit = await proc.exited;
  assert.equal(exit.signal, 'SIGKILL');
  assert.match(
    exit.reason ?? '',
    /^killed by latchkey up: no heartbeat for 1\.\d s, its event loop is blocked \(its main thread is running without pause, \d+% of a core: code that does not return\); it is started again$/,
  );
  assert.match(describeExit(exit), /^signal SIGKILL, killed by latchkey up: no heartbeat/);
  assert.match(
    await readFile(path.join(fake.dir, 'resolver-1.log'), 'utf8'),
    /"level":50,.*"msg":"resolver-1 killed by latchkey up: no heartbeat/,
  );
});

test('a ready service whose main thread waits forever in the kernel is killed, and its exit names the wait', async () => {
  // Atomics.wait on a value nobody changes: the main thread sleeps in futex, no CPU, no heartbeat.
  const fake = await fakeService(beatingThen('Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);'));
  const proc = await startWatched(fake, 'resolver', 2, 1_000);
  const exit = await proc.exited;
  assert.equal(exit.signal, 'SIGKILL');
  assert.match(exit.reason ?? '', /its main thread is waiting \(state S, futex in futex\w*, 0% of a core\)/);
});

test('a service that keeps its heartbeats going past the timeout, or sends none at all, is not judged', async () => {
  // It runs for three timeouts, beating; then exits by itself with code 0: the launcher never killed it.
  const beatingFake = await fakeService(`
import net from 'node:net';
const server = net.createServer().listen(Number(process.env.LATCHKEY_GRPC_PORT), '127.0.0.1', () => {
  process.send({ type: 'ready', service: 'ras', port: server.address().port });
  const beat = setInterval(() => process.send({ type: 'alive' }), 50);
  setTimeout(() => { clearInterval(beat); server.close(); process.disconnect(); }, 1_500);
});`);
  const beating = await startWatched(beatingFake, 'ras', 1, 500);
  assert.deepEqual(await beating.exited, { code: 0, signal: null });
  // One that never sends a heartbeat (an older build, a fake) and exits after three timeouts, by itself.
  const silentFake = await fakeService(`
import net from 'node:net';
const server = net.createServer().listen(Number(process.env.LATCHKEY_GRPC_PORT), '127.0.0.1', () => {
  process.send({ type: 'ready', service: 'ras', port: server.address().port });
  setTimeout(() => { server.close(); process.disconnect(); }, 1_500);
});`);
  const silent = await startWatched(silentFake, 'ras', 2, 500);
  assert.deepEqual(await silent.exited, { code: 0, signal: null });
});
