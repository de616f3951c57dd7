import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DeployerServiceServer } from '@latchkey/proto';
import { main } from '../../main.js';
import { ETL_HELD, etlDeployment } from '../../testing/fake-records.js';
import { useFakeServices } from '../../testing/fake-services.js';

/** How often the fake deployer was asked for each deployment. */
const polls = new Map<string, number>();

const redeploy: DeployerServiceServer['redeploy'] = (call, cb) => {
  cb(null, {
    results: call.request.stale
      ? [
          {
            workload: 'alpha',
            deployment: etlDeployment('r-1', 'resolving', { trigger: 'redeploy' }),
            code: '',
            message: '',
          },
          {
            workload: 'beta',
            deployment: undefined,
            code: 'redeploy.in_flight',
            message: 'deployment r-0 is already resolving: not redeployed again',
          },
        ]
      : [
          {
            workload: call.request.name,
            deployment: etlDeployment(call.request.name === 'stuck' ? 'r-stuck' : 'r-2', 'resolving', {
              trigger: 'redeploy',
            }),
            code: '',
            message: '',
          },
        ],
  });
};

const getDeployment: DeployerServiceServer['getDeployment'] = (call, cb) => {
  const n = (polls.get(call.request.id) ?? 0) + 1;
  polls.set(call.request.id, n);
  if (call.request.id === 'r-stuck') {
    cb(null, etlDeployment('r-stuck', 'resolving', { trigger: 'redeploy' }));
    return;
  }
  cb(
    null,
    etlDeployment(call.request.id, n < 2 ? 'resolving' : 'deployed', { trigger: 'redeploy', versions: ETL_HELD }),
  );
};

const fake = useFakeServices({ deployer: { redeploy, getDeployment } });

test('redeploy takes a NAME or --stale, never both nor neither', async () => {
  const before = fake.calls('redeploy');
  const neither = fake.io();
  assert.equal(await main(['redeploy', '--domain', 'analytics'], neither), 2);
  assert.match(neither.stderrLines.join('\n'), /missing NAME \(or --stale to redeploy every stale workload\)/);
  const both = fake.io();
  assert.equal(await main(['redeploy', 'etl', '--stale', '--domain', 'analytics'], both), 2);
  assert.match(both.stderrLines.join('\n'), /give either a workload NAME or --stale, not both/);
  const noDomain = fake.io();
  assert.equal(await main(['redeploy', '--stale'], noDomain), 2);
  assert.match(noDomain.stderrLines.join('\n'), /--domain is required/);
  assert.equal(fake.calls('redeploy'), before, 'nothing was sent');
});

test('redeploy --stale reports each workload, and exits 1 when one was not redeployed', async () => {
  const out = fake.io();
  assert.equal(await main(['redeploy', '--stale', '--domain', 'analytics'], out), 1);
  assert.deepEqual(fake.last('redeploy'), { domain: 'analytics', name: '', stale: true });
  assert.deepEqual(out.stdoutLines, [
    'alpha: deployment r-1 resolving',
    'beta: not redeployed: deployment r-0 is already resolving: not redeployed again (redeploy.in_flight)',
  ]);
  assert.deepEqual(out.stderrLines, ['latchkey: 1 of 2 workload(s) were not redeployed']);
});

test('redeploy NAME --wait waits for the new deployment and shows the versions it holds', async () => {
  const out = fake.io();
  assert.equal(await main(['redeploy', 'etl', '--domain', 'analytics', '--wait'], out), 0);
  assert.deepEqual(fake.last('redeploy'), { domain: 'analytics', name: 'etl', stale: false });
  assert.equal(out.stdoutLines[0], 'etl: deployment r-2 deployed');
  assert.equal(out.stdoutLines[1], '  by mia (redeploy) at 2025-03-03T12:00:00.000Z; runs on deployer-2');
  assert.equal(out.stdoutLines[2], '  secret versions it holds:');
  assert.match(out.stdoutLines[3] ?? '', /^ {4}REFERENCE\s+SOURCE\s+SCOPE\s+VERSION$/);
  assert.match(out.stdoutLines[4] ?? '', /^ {4}db_password\s+MANAGED\s+analytics\s+4$/);
  assert.match(out.stdoutLines[5] ?? '', /^ {4}\$\{secrets\.api_token\}\s+MANAGED\s+global\s+2$/);
  assert.match(out.stdoutLines[6] ?? '', /^ {4}team\s+VAULT\s+0f5c6a2e\s+7$/);
});

test('redeploy --wait that times out says so for that workload and exits 1', async () => {
  const out = fake.io();
  assert.equal(await main(['redeploy', 'stuck', '--domain', 'analytics', '--wait', '--timeout', '1'], out), 1);
  assert.equal(out.stdoutLines.length, 1);
  assert.match(out.stdoutLines[0] ?? '', /^stuck: deployment r-stuck is still resolving after 1s: check it later with/);
  assert.deepEqual(out.stderrLines, ['latchkey: 1 of 1 workload(s) were not redeployed successfully']);
});

test('redeploy --wait --json says why a deployment could not be waited for', async () => {
  const out = fake.io();
  assert.equal(
    await main(['redeploy', 'stuck', '--domain', 'analytics', '--wait', '--timeout', '1', '--json'], out),
    1,
  );
  const parsed = JSON.parse(out.stdoutLines.join('\n')) as { results: { workload: string; waitError?: string }[] };
  assert.equal(parsed.results[0]?.workload, 'stuck');
  assert.match(parsed.results[0]?.waitError ?? '', /is still resolving after 1s/);
});
