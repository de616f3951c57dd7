import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@latchkey/testing';
import { REPO } from './system-harness.js';

/** pids of the processes started with this data folder (npm, the launcher, services, NATS, PostgreSQL). */
async function pidsOf(home: string): Promise<number[]> {
  const pids: number[] = [];
  for (const p of await readdir('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    const env = await readFile(`/proc/${p}/environ`, 'latin1').catch(() => '');
    if (env.split('\0').includes(`LATCHKEY_HOME=${home}`)) pids.push(Number(p));
  }
  return pids;
}

test("a supervisor's SIGTERM to the npm start process alone stops every process of the system", async (t) => {
  const home = await mkdtemp(join(tmpdir(), 'latchkey-npm-start-'));
  const npm = spawn('npm', ['start', '--silent'], {
    cwd: REPO,
    env: {
      ...process.env,
      LATCHKEY_HOME: home,
      LATCHKEY_NATS_PORT: '0',
      LATCHKEY_PG_PORT: '0',
      LATCHKEY_RAS_PORT: '0',
      LATCHKEY_CATALOG_PORT: '0',
      LATCHKEY_RESOLVER_PORT: '0',
      LATCHKEY_DEPLOYER_PORT: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(async () => {
    for (const pid of await pidsOf(home)) process.kill(pid, 'SIGKILL');
    await rm(home, { recursive: true, force: true });
  });
  let out = '';
  npm.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  npm.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<void>((resolve) => npm.once('exit', () => resolve()));
  await waitFor(() => out.includes('Latchkey is ready'), { what: `npm start to be ready: ${out}`, timeoutMs: 180_000 });
  assert.ok((await pidsOf(home)).length >= 6, 'npm, the launcher, NATS, PostgreSQL and the services run');

  process.kill(npm.pid!, 'SIGTERM'); // that pid only, as systemd or a container runtime would
  await exited;
  const left = await waitFor(async () => ((await pidsOf(home)).length === 0 ? true : undefined), {
    what: 'every process of the system to end',
    timeoutMs: 60_000,
  }).catch(async () => (await pidsOf(home)).join(','));
  assert.equal(left, true, `still running after the SIGTERM: ${String(left)}`);
});
