import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { waitFor } from '@latchkey/testing';
import { assertNowhere } from './canary-scan.js';
import { recordedCli } from './recorded-cli.js';
import { startSystem } from './system-harness.js';

interface DeploymentJson {
  id: string;
  status: string;
  trigger?: string;
  versions?: { key: string; scope: string; sourceType: string; version: number }[];
}
interface WorkloadJson {
  name: string;
  stale?: boolean;
  liveDeployment?: DeploymentJson;
  lastDeployment?: DeploymentJson;
}

test('rotation through the CLI: a manual workload stays stale and running until redeploy, an auto one is redeployed by its policy; stop stops either', async (t) => {
  // A short cooldown and scan so that the policy acts within the test.
  const sys = await startSystem({
    env: { LATCHKEY_REDEPLOY_COOLDOWN_S: '1', LATCHKEY_REDEPLOY_SCAN_INTERVAL_S: '1' },
  });
  t.after(() => sys.cleanup());
  const { outputs, cli, ok, okPoll } = recordedCli(sys);
  const get = async (name: string) =>
    JSON.parse((await ok(['workload', 'get', name, '--domain', 'analytics', '--json'])).stdout) as WorkloadJson;
  const canaries = [1, 2].map((i) => `rotated-${i}-${randomBytes(12).toString('hex')}`);

  await ok(['domain', 'create', 'analytics']);
  await ok(['secret', 'put', 'db_password', '--domain', 'analytics'], canaries[0]);
  // Runs until stopped.
  const run = { command: [process.execPath, '-e', 'setInterval(() => {}, 1000)'] };
  const env = { DB_PASSWORD: { key: 'db_password', source: { type: 'MANAGED', id: 'analytics' } } };
  const docs = {
    'by-hand': { name: 'by-hand', kind: 'COMPUTE', envVars: env, run },
    'by-policy': {
      name: 'by-policy',
      kind: 'COMPUTE',
      envVars: env,
      run,
      redeployPolicy: { mode: 'auto', maxConcurrent: 1 },
    },
  };
  for (const [name, doc] of Object.entries(docs)) {
    const file = join(sys.home, `${name}.json`);
    await writeFile(file, JSON.stringify(doc));
    await ok(['workload', 'apply', '-f', file, '--domain', 'analytics']);
    await ok(['deploy', name, '--domain', 'analytics', '--wait']);
  }
  const firstByHand = await get('by-hand');
  const firstByPolicy = await get('by-policy');
  assert.equal(firstByHand.liveDeployment?.status, 'deployed');
  assert.deepEqual(
    firstByHand.liveDeployment?.versions?.map((v) => [v.key, v.sourceType, v.scope, v.version]),
    [['db_password', 'MANAGED', 'analytics', 1]],
  );
  const shown = await ok(['workload', 'get', 'by-policy', '--domain', 'analytics']);
  assert.match(shown.stdout, /redeploy policy: auto, at any time, at most 1 at once in the domain/);
  assert.match(shown.stdout, /running:\n {2}deployment \S+ deployed\n/);

  // One rotation.
  await ok(['secret', 'put', 'db_password', '--domain', 'analytics'], canaries[1]);
  const redeployed = await waitFor(
    async () => {
      const w = await get('by-policy');
      const live = w.liveDeployment;
      return live && live.id !== firstByPolicy.liveDeployment?.id && live.status === 'deployed' ? w : undefined;
    },
    { what: 'the auto workload to be redeployed', timeoutMs: 60_000 },
  );
  assert.equal(redeployed.liveDeployment?.trigger, 'auto');
  assert.deepEqual(
    redeployed.liveDeployment?.versions?.map((v) => v.version),
    [2],
  );
  assert.notEqual(redeployed.stale, true);
  const stale = JSON.parse((await ok(['workload', 'list', '--stale', '--domain', 'analytics', '--json'])).stdout) as {
    workloads?: WorkloadJson[];
  };
  assert.deepEqual(
    (stale.workloads ?? []).map((w) => w.name),
    ['by-hand'],
  );
  // The manual one still runs what it started with: nothing restarted it.
  const byHand = await get('by-hand');
  assert.equal(byHand.liveDeployment?.id, firstByHand.liveDeployment?.id);
  assert.equal(byHand.liveDeployment?.status, 'deployed');
  assert.equal(byHand.lastDeployment?.id, firstByHand.liveDeployment?.id, 'no other deployment of it');
  // The policy's old deployment was replaced and stopped.
  await waitFor(
    async () => {
      const r = await okPoll(['workload', 'list', '--domain', 'analytics']);
      return /by-policy\s+COMPUTE\s+no\s+auto\s+running/.test(r.stdout);
    },
    { what: 'by-policy to show as running and not stale', timeoutMs: 10_000 },
  );

  // Redeploy the stale ones by hand; then nothing is stale.
  const again = await ok(['redeploy', '--stale', '--domain', 'analytics', '--wait']);
  assert.match(again.stdout, /^by-hand: deployment \S+ deployed$/m);
  assert.doesNotMatch(again.stdout, /by-policy/);
  assert.match(
    (await ok(['workload', 'list', '--stale', '--domain', 'analytics'])).stdout,
    /no stale workloads in domain analytics/,
  );
  assert.deepEqual(
    (await get('by-hand')).liveDeployment?.versions?.map((v) => v.version),
    [2],
  );

  // Stop: waits until stopped; a second stop says it already is.
  const stopped = await ok(['stop', 'by-hand', '--domain', 'analytics']);
  assert.match(stopped.stdout, /^deployment \S+ stopped$/m);
  assert.match(stopped.stdout, /reason: stopped by admin/);
  assert.match((await ok(['stop', 'by-hand', '--domain', 'analytics'])).stdout, /workload by-hand is already stopped/);
  await ok(['stop', 'by-policy', '--domain', 'analytics']);
  const nothing = await cli(['stop', 'never-applied', '--domain', 'analytics']);
  assert.equal(nothing.code, 1);
  assert.match(nothing.stderr, /workload never-applied not found in domain analytics/);
  assert.equal((await get('by-policy')).liveDeployment?.status, 'stopped');

  await assertNowhere(sys, canaries, outputs);
});
