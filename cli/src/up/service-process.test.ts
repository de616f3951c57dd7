import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ServiceStartError, startServiceProcess } from './service-process.js';

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
