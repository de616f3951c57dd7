import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@latchkey/testing';
import { launchSystem, REPO, systemPids } from './system-harness.js';

test("a supervisor's SIGTERM to the npm start process alone stops every process of the system", async (t) => {
  const home = await mkdtemp(join(tmpdir(), 'latchkey-npm-start-'));
  t.after(async () => {
    for (const pid of await systemPids(home)) process.kill(pid, 'SIGKILL');
    await rm(home, { recursive: true, force: true });
  });
  const npm = await launchSystem({
    home,
    command: { file: 'npm', args: ['start', '--silent'], cwd: REPO },
    timeoutMs: 180_000,
  });
  assert.ok((await systemPids(home)).length >= 6, 'npm, the launcher, NATS, PostgreSQL and the services run');

  process.kill(npm.child.pid!, 'SIGTERM'); // that pid only, as systemd or a container runtime would
  await npm.exited;
  const left = await waitFor(async () => ((await systemPids(home)).length === 0 ? true : undefined), {
    what: 'every process of the system to end',
    timeoutMs: 60_000,
  }).catch(async () => (await systemPids(home)).join(','));
  assert.equal(left, true, `still running after the SIGTERM: ${String(left)}`);
});
