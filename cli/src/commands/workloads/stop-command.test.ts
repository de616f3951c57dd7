import assert from 'node:assert/strict';
import { test } from 'node:test';
import { status } from '@grpc/grpc-js';
import type { DeployerServiceServer } from '@latchkey/proto';
import { main } from '../../main.js';
import { ETL_STOPPING, etlDeployment } from '../../testing/fake-records.js';
import { fail, useFakeServices } from '../../testing/fake-services.js';

/** How often the fake deployer was asked for each deployment. */
const polls = new Map<string, number>();

const stopWorkload: DeployerServiceServer['stopWorkload'] = (call, cb) => {
  if (call.request.name === 'idle') {
    fail(
      cb,
      status.FAILED_PRECONDITION,
      'workload.not_running',
      'workload idle has nothing to stop: it was never deployed',
    );
    return;
  }
  if (call.request.name === 'done') {
    cb(null, { deployments: [etlDeployment('s-0', 'stopped')], alreadyStopped: true });
    return;
  }
  if (call.request.name === 'hung') {
    // Two deployments: one stops, the other's replica never reports it stopped.
    cb(null, {
      deployments: [
        etlDeployment('h-1', 'deployed', { stopRequestedAt: ETL_STOPPING.stopRequestedAt, stopRequestedBy: 'admin' }),
        ETL_STOPPING,
      ],
      alreadyStopped: false,
    });
    return;
  }
  cb(null, { deployments: [ETL_STOPPING], alreadyStopped: false });
};

const getDeployment: DeployerServiceServer['getDeployment'] = (call, cb) => {
  const n = (polls.get(call.request.id) ?? 0) + 1;
  polls.set(call.request.id, n);
  if (call.request.id === 's-1') {
    cb(
      null,
      n < 3
        ? ETL_STOPPING
        : etlDeployment('s-1', 'stopped', { reasons: ['stopped by admin'], stopRequestedBy: 'admin' }),
    );
    return;
  }
  // h-1: its replica never reports it stopped.
  cb(null, etlDeployment('h-1', 'deployed', { stopRequestedAt: ETL_STOPPING.stopRequestedAt }));
};

const fake = useFakeServices({ deployer: { stopWorkload, getDeployment } });

test('stop waits until the deployment has stopped where it ran, and prints how it ended', async () => {
  const out = fake.io();
  assert.equal(await main(['stop', 'etl', '--domain', 'analytics'], out), 0);
  assert.deepEqual(fake.last('stopWorkload'), { domain: 'analytics', name: 'etl' });
  assert.deepEqual(out.stdoutLines, [
    'deployment s-1 deployed; stopping...',
    'deployment s-1 stopped',
    '  by mia (deploy) at 2025-03-03T12:00:00.000Z; ran on deployer-2',
    '  reason: stopped by admin',
  ]);
  assert.ok((polls.get('s-1') ?? 0) >= 3, 'it polled until stopped');
});

test('stop --no-wait returns once the stop is recorded; stopping a stopped workload says so', async () => {
  const out = fake.io();
  assert.equal(await main(['stop', 'etl', '--domain', 'analytics', '--no-wait'], out), 0);
  assert.deepEqual(out.stdoutLines, [
    'deployment s-1 deployed: asked to stop; latchkey workload get etl --domain analytics shows when it has',
  ]);
  const done = fake.io();
  assert.equal(await main(['stop', 'done', '--domain', 'analytics'], done), 0);
  assert.deepEqual(done.stdoutLines, ['workload done is already stopped (deployment s-0)']);
});

test('stop with nothing running fails with the reason and its code', async () => {
  const out = fake.io();
  assert.equal(await main(['stop', 'idle', '--domain', 'analytics'], out), 1);
  assert.deepEqual(out.stderrLines, [
    'latchkey: workload idle has nothing to stop: it was never deployed (workload.not_running)',
  ]);
  const missing = fake.io();
  assert.equal(await main(['stop', '--domain', 'analytics'], missing), 2);
  assert.match(missing.stderrLines.join('\n'), /missing NAME/);
});

test('stop --wait that times out for one deployment reports it beside the one that stopped, and exits 1', async () => {
  const out = fake.io();
  assert.equal(await main(['stop', 'hung', '--domain', 'analytics', '--timeout', '1'], out), 1);
  assert.ok(out.stdoutLines.includes('deployment s-1 stopped'), out.stdoutLines.join('\n'));
  assert.ok(
    out.stdoutLines.some((l) => /^deployment h-1: deployment h-1 is still deployed after 1s/.test(l)),
    out.stdoutLines.join('\n'),
  );
  const json = fake.io();
  assert.equal(await main(['stop', 'hung', '--domain', 'analytics', '--timeout', '1', '--json'], json), 1);
  const parsed = JSON.parse(json.stdoutLines.join('\n')) as { deployments: { id: string; waitError?: string }[] };
  assert.deepEqual(
    parsed.deployments.map((d) => [d.id, d.waitError !== undefined]),
    [
      ['h-1', true],
      ['s-1', false],
    ],
  );
});
