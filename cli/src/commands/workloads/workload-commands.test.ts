import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DeployerServiceServer } from '@latchkey/proto';
import { main } from '../../main.js';
import { ETL_HELD, etlDeployment, fakeWorkload } from '../../testing/fake-records.js';
import { useFakeServices } from '../../testing/fake-services.js';

const listWorkloads: DeployerServiceServer['listWorkloads'] = (call, cb) => {
  cb(null, {
    workloads: [
      fakeWorkload('etl', {
        stale: true,
        specJson: JSON.stringify({ name: 'etl', redeployPolicy: { mode: 'auto' } }),
        redeployPolicy: { mode: 'auto', window: '', maxConcurrent: 1 },
        staleReasons: [
          { key: 'db_password', scope: 'analytics', deployedVersion: 4, currentVersion: 5, change: 'updated' },
        ],
        liveDeployment: etlDeployment('d-1', 'deployed'),
        lastDeployment: etlDeployment('d-1', 'deployed'),
      }),
      fakeWorkload('report', {
        domain: 'finance',
        stale: true,
        staleReasons: [{ key: 'token', scope: 'global', deployedVersion: 1, currentVersion: 0, change: 'deleted' }],
        liveDeployment: etlDeployment('d-7', 'exited'),
        lastDeployment: etlDeployment('d-8', 'resolving'),
      }),
    ],
  });
};

const getWorkload: DeployerServiceServer['getWorkload'] = (call, cb) => {
  cb(
    null,
    fakeWorkload(call.request.name, {
      specJson: JSON.stringify({
        name: call.request.name,
        redeployPolicy: { mode: 'auto', window: '02:00-04:00', maxConcurrent: 2 },
      }),
      redeployPolicy: { mode: 'auto', window: '02:00-04:00', maxConcurrent: 2 },
      appliedBy: 'bob',
      stale: true,
      staleSince: '2025-03-03T12:10:00.000Z',
      staleReasons: [
        { key: 'db_password', scope: 'analytics', deployedVersion: 4, currentVersion: 5, change: 'updated' },
      ],
      liveDeployment: etlDeployment('d-1', 'deployed', { versions: ETL_HELD }),
      lastDeployment: etlDeployment('d-2', 'failed', { reasons: ['db_password: gone'] }),
    }),
  );
};

const fake = useFakeServices({ deployer: { listWorkloads, getWorkload } });

test('workload list --stale without --domain lists every readable domain, with what changed', async () => {
  const out = fake.io();
  assert.equal(await main(['workload', 'list', '--stale'], out), 0);
  assert.deepEqual(fake.last('listWorkloads'), { domain: '', stale: true });
  assert.match(out.stdoutLines[0] ?? '', /^DOMAIN\s+NAME\s+KIND\s+STALE\s+REDEPLOY\s+STATUS\s+DEPLOYMENT\s+CHANGED$/);
  assert.match(
    out.stdoutLines[1] ?? '',
    /^analytics\s+etl\s+COMPUTE\s+yes\s+auto\s+running\s+d-1\s+db_password \(analytics\) 4->5$/,
  );
  // A deployment on its way is what the list shows.
  assert.match(
    out.stdoutLines[2] ?? '',
    /^finance\s+report\s+COMPUTE\s+yes\s+manual\s+resolving\s+d-8\s+token \(global\) 1->deleted$/,
  );
  const scoped = fake.io();
  assert.equal(await main(['workload', 'list', '--domain', 'analytics'], scoped), 0);
  assert.deepEqual(fake.last('listWorkloads'), { domain: 'analytics', stale: false });
  assert.match(scoped.stdoutLines[0] ?? '', /^NAME\s+KIND\s+STALE\s+REDEPLOY\s+STATUS\s+DEPLOYMENT\s+UPDATED$/);
});

test('workload get shows the policy, since when it is stale, what runs with the versions it holds, and a later failed attempt', async () => {
  const out = await fake.run(['workload', 'get', 'etl', '--domain', 'analytics'], 0);
  const text = out.stdoutLines.join('\n');
  assert.match(
    text,
    /\nredeploy policy: auto, inside 02:00-04:00 \(UTC\), at most 2 at once in the domain, as bob \(who last applied it\)\n/,
  );
  assert.match(
    text,
    /\nstale: yes \(since 2025-03-03T12:10:00\.000Z\)\n {2}db_password \(analytics\): deployed version 4, now version 5 \(updated\)\n/,
  );
  assert.match(
    text,
    /\nrunning:\n {2}deployment d-1 deployed\n {4}by mia \(deploy\) at [^\n]+; runs on deployer-2\n {4}secret versions it holds:\n/,
  );
  assert.match(text, / {6}db_password\s+MANAGED\s+analytics\s+4\n/);
  assert.match(text, /\nlast deployment:\n {2}deployment d-2 failed\n[^]*reason: db_password: gone/);
});
