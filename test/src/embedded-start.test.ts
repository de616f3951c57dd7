import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childEnv, runCli, startSystem, CLI } from './system-harness.js';
import { spawn } from 'node:child_process';

function runUp(env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'up'], {
      env: { ...childEnv(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('close', (code) => resolve({ code, out }));
  });
}

test('a second start finds its data again, with the key files private', async (t) => {
  const home = await mkdtemp(join(tmpdir(), 'latchkey-restart-'));
  const running: Awaited<ReturnType<typeof startSystem>>[] = [];
  // One hook, in order: the second system must be down before its folder goes.
  t.after(async () => {
    for (const sys of running) await sys.cleanup();
    await rm(home, { recursive: true, force: true });
  });
  const first = await startSystem({ home });
  assert.match(first.output(), /Latchkey is ready.*\d+\.\d+\.\d+\.\d+:\d+/);
  assert.equal((await runCli(home, ['domain', 'create', 'ops'])).code, 0);
  assert.equal((await runCli(home, ['secret', 'put', 'kept', '--domain', 'ops'], 'kept-value')).code, 0);
  assert.equal(((await stat(join(home, 'kek.json'))).mode & 0o777).toString(8), '600');
  const kek = await readFile(join(home, 'kek.json'), 'utf8');
  assert.equal(await first.stop(), 0, 'Ctrl-C stops cleanly');
  const down = await runCli(home, ['status']);
  assert.notEqual(down.code, 0, 'status fails when nothing runs');

  running.push(await startSystem({ home }));
  assert.equal(await readFile(join(home, 'kek.json'), 'utf8'), kek, 'the same key-encryption key');
  const list = await runCli(home, ['secret', 'list', '--domain', 'ops', '--json']);
  assert.equal(list.code, 0, list.stderr);
  assert.deepEqual(
    (JSON.parse(list.stdout) as { secrets: { key: string }[] }).secrets.map((s) => s.key),
    ['kept'],
  );
  // The value is still readable: a second put makes version 2 of the same secret.
  const put = await runCli(home, ['secret', 'put', 'kept', '--domain', 'ops', '--json'], 'kept-value-2');
  assert.equal((JSON.parse(put.stdout) as { version: number }).version, 2);
});

test('a port already in use is one clear line, not a stack trace', async (t) => {
  const home = await mkdtemp(join(tmpdir(), 'latchkey-port-'));
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    blocker.close();
    await rm(home, { recursive: true, force: true });
  });
  const port = (blocker.address() as { port: number }).port;
  const r = await runUp({ LATCHKEY_HOME: home, LATCHKEY_NATS_PORT: String(port), LATCHKEY_PG_PORT: '0' });
  assert.notEqual(r.code, 0);
  assert.match(r.out, new RegExp(`port ${port}.*in use`));
  assert.ok(!/\n\s+at /.test(r.out), `no stack trace: ${r.out}`);
});

test('an unusable data folder is one clear line', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'latchkey-bad-home-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'not-a-folder');
  await writeFile(file, 'x');
  const r = await runUp({ LATCHKEY_HOME: file });
  assert.notEqual(r.code, 0);
  assert.match(r.out, /data folder/);
  assert.ok(r.out.trim().split('\n').length <= 2, r.out);
});
