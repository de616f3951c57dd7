import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { waitFor } from '@latchkey/testing';
import { recordedCli } from './recorded-cli.js';
import { startSystem } from './system-harness.js';
import { applyWorkload, computeWorkload } from './workload-files.js';

test('with two replicas of every service each deployment runs exactly once', async (t) => {
  const sys = await startSystem({ replicas: 2 });
  t.after(() => sys.cleanup());
  const { ok, okPoll } = recordedCli(sys);
  const logs = await readdir(join(sys.home, 'logs'));
  for (const s of ['ras', 'catalog', 'resolver', 'deployer']) {
    assert.equal(logs.filter((f) => f.startsWith(`${s}-`)).length, 2, `two ${s} replicas run`);
  }
  await ok(['domain', 'create', 'finance']);
  await ok(['secret', 'put', 'token', '--domain', 'finance'], randomBytes(16).toString('hex'));
  // Each run prints its deployment id; a deployment started twice (by two replicas) would print it twice
  // into its output. (A sandboxed workload can write nowhere else the test could read.)
  const job = `console.log('ran ' + process.env.LATCHKEY_DEPLOYMENT_ID)`;
  const names = Array.from({ length: 16 }, (_, i) => `job-${i}`);
  for (const name of names)
    await applyWorkload(ok, sys.home, 'finance', computeWorkload(name, { T: '${secrets.token}' }, job));
  // One deployment of each, started together without waiting.
  const ids = await Promise.all(
    names.map(async (name) => {
      const r = await ok(['deploy', name, '--domain', 'finance', '--json']);
      return (JSON.parse(r.stdout) as { id: string }).id;
    }),
  );
  const runsOf = async (name: string, id: string, cli = ok): Promise<string[]> =>
    (await cli(['logs', name, '--domain', 'finance', '--deployment', id])).stdout
      .split('\n')
      .filter((l) => l.includes(`ran ${id}`));
  await waitFor(
    async () => {
      for (const [i, name] of names.entries()) if ((await runsOf(name, ids[i]!, okPoll)).length === 0) return false;
      return true;
    },
    { what: `${ids.length} workload runs`, timeoutMs: 60_000 },
  );
  // Once every workload's last deployment has ended, a double start would have written by now.
  await waitFor(
    async () => {
      const r = await okPoll(['workload', 'list', '--domain', 'finance', '--json']);
      const names = (JSON.parse(r.stdout) as { workloads: { name: string }[] }).workloads.map((w) => w.name);
      for (const name of names) {
        const w = JSON.parse((await okPoll(['workload', 'get', name, '--domain', 'finance', '--json'])).stdout) as {
          lastDeployment?: { id: string; status: string };
        };
        if (w.lastDeployment?.status !== 'exited' || !ids.includes(w.lastDeployment.id)) return false;
      }
      return names.length === 16;
    },
    { what: 'every deployment to end', timeoutMs: 60_000 },
  );
  for (const [i, name] of names.entries()) {
    assert.equal((await runsOf(name, ids[i]!)).length, 1, `${name}: its deployment ran exactly once`);
  }
});
