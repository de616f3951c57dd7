import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { findFreePort, startPostgres, type PostgresHandle } from '@latchkey/embedded';
import { waitFor } from '@latchkey/testing';
import { isPidAlive } from '../local-state/connection-file.js';
import { Supervisor } from './supervisor.js';

test('a SIGKILLed PostgreSQL is restarted by the supervisor on its port and data folder, and takes connections again', async (t) => {
  const parent = await mkdtemp(path.join(tmpdir(), 'latchkey-pg-sup-'));
  // As root PostgreSQL runs as OS user postgres, which must enter the folder.
  await chmod(parent, 0o755);
  const dataDir = path.join(parent, 'data');
  const port = await findFreePort();
  const start = (): Promise<PostgresHandle> =>
    startPostgres({ dataDir, port, password: 'pw-supervised', databases: ['kept'], durable: false });
  const lines: string[] = [];
  let gaveUp = '';
  const first = await start();
  const sup = new Supervisor({
    name: 'PostgreSQL',
    first,
    restart: start,
    report: (l) => lines.push(l),
    keepRunning: () => true,
    giveUp: (why) => (gaveUp = why),
    firstDelayMs: 100,
  });
  t.after(async () => {
    await sup.stop();
    await rm(parent, { recursive: true, force: true });
  });

  process.kill(first.pid, 'SIGKILL');
  assert.deepEqual(await first.exited, { code: null, signal: 'SIGKILL' }, 'its exit is seen, with the signal');
  // The orphaned backends can hold the old shared memory a moment: a failed restart is tried again.
  await waitFor(() => sup.current !== first && lines.some((l) => l.includes('PostgreSQL restarted')), {
    what: 'PostgreSQL to be restarted',
    timeoutMs: 60_000,
  });
  const second = sup.current;
  assert.equal(second.port, port, 'on the same port');
  assert.notEqual(second.pid, first.pid);
  assert.ok(isPidAlive(second.pid));
  assert.match(lines[0]!, /PostgreSQL stopped unexpectedly \(signal SIGKILL\); restarting it in 100 ms \(restart 1\)/);
  assert.equal(second.dataDir, first.dataDir, 'on the same data folder');
  // It takes connections (this one creates a database).
  await second.createDatabase('made_after_restart');
  assert.equal(gaveUp, '');

  // Asked to stop: its exit is not restarted.
  await sup.stop();
  await second.exited;
  assert.equal(isPidAlive(second.pid), false);
  assert.equal(lines.filter((l) => l.includes('restarted')).length, 1);
});
