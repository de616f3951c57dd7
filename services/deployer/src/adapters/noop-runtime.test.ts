import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import type { RunSpec } from '../domain/ports.js';
import { NoopRuntime } from './noop-runtime.js';

const spec = (deploymentId: string, workloadId: string): RunSpec => ({
  deploymentId,
  workloadId,
  workload: 'job',
  domain: 'analytics',
  command: ['does-not-exist'],
  env: { PASSWORD: 'hunter2-prod' },
  sparkConf: {},
  secrets: ['hunter2-prod'],
});

test('the noop runtime runs nothing: a deployment is running until stopped, then reports a stop with the reason', async () => {
  const rt = new NoopRuntime();
  const exits: [number | null, string | null, string | undefined][] = [];
  const { pid } = await rt.start(spec('d1', 'w1'), {
    onLine: () => assert.fail('nothing runs, so nothing prints'),
    onExit: (code, signal, reason) => exits.push([code, signal, reason]),
  });
  assert.equal(pid, 0);
  assert.deepEqual(rt.running(), [{ deploymentId: 'd1', workloadId: 'w1' }]);
  assert.equal(await rt.stop('d1', 'replaced by deployment d2'), true);
  assert.deepEqual(exits, [[null, 'SIGTERM', 'replaced by deployment d2']]);
  assert.deepEqual(rt.running(), []);
  assert.equal(await rt.stop('d1', 'again'), false, 'a deployment stops once');
  assert.equal(exits.length, 1);
});

test('stopAll stops every deployment the noop runtime holds, and it keeps no value', async () => {
  const rt = new NoopRuntime();
  const stopped: string[] = [];
  for (const id of ['d1', 'd2']) {
    await rt.start(spec(id, `w-${id}`), { onLine: () => undefined, onExit: () => stopped.push(id) });
  }
  assert.doesNotMatch(inspect(rt, { depth: 10, showHidden: true }), /hunter2/);
  await rt.stopAll('the deployer running it stopped');
  assert.deepEqual(stopped.sort(), ['d1', 'd2']);
  assert.deepEqual(rt.running(), []);
});
