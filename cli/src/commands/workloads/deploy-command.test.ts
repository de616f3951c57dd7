import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Deployment, DeployerServiceServer, PlannedReference } from '@latchkey/proto';
import { main } from '../../main.js';
import { fakeDeployment } from '../../testing/fake-records.js';
import { useFakeServices } from '../../testing/fake-services.js';

const VAULT_ID = '0f5c6a2e-3d41-4b7a-9e08-6c2d1b4a7f35';

const deployment = (status: string, extra: Partial<Deployment> = {}): Deployment =>
  fakeDeployment({ id: 'd-1', workload: 'job', status, principal: 'admin', ...extra });

const WAITING = [
  'waiting: resolution attempt 1 of 6 found a backend unavailable; retrying with backoff',
  'db_password (LEGACY:db_password): Vault integration team could not be read (vault.sealed) [vault.sealed]',
];

function plannedRef(refId: string, key: string, extra: Partial<PlannedReference> = {}): PlannedReference {
  return {
    refId,
    key,
    sourceType: 'MANAGED',
    ok: true,
    scope: 'analytics',
    version: 3,
    shadowedGlobal: false,
    code: '',
    message: '',
    retryable: false,
    ...extra,
  };
}

/** How often the fake deployer was asked for the deployment since the last deploy. */
let polls = 0;

const deploy: DeployerServiceServer['deploy'] = (call, cb) => {
  polls = 0;
  const ids: Record<string, string> = { broken: 'd-2', waits: 'd-3' };
  cb(null, deployment('pending', { workload: call.request.name, id: ids[call.request.name] ?? 'd-1' }));
};
const getDeployment: DeployerServiceServer['getDeployment'] = (call, cb) => {
  polls++;
  if (call.request.id === 'd-3') {
    // Waits for a sealed Vault over two polls, then resolves.
    if (polls < 3) cb(null, deployment('resolving', { id: 'd-3', reasons: WAITING, attempts: 1 }));
    else
      cb(
        null,
        deployment('deployed', {
          id: 'd-3',
          attempts: 1,
          warnings: ['resolved on attempt 2 of 6, after waiting for an unavailable backend'],
        }),
      );
    return;
  }
  if (polls < 3) cb(null, deployment('resolving', { id: call.request.id }));
  else if (call.request.id === 'd-2')
    cb(null, deployment('failed', { id: 'd-2', reasons: ['DB_PASSWORD: not found in domain analytics'] }));
  else
    cb(
      null,
      deployment('deployed', {
        versions: [{ refId: 'r', key: 'DB_PASSWORD', sourceType: 'MANAGED', scope: 'analytics', version: 3 }],
      }),
    );
};
const dryRun: DeployerServiceServer['dryRun'] = (call, cb) => {
  const good = plannedRef('LEGACY:db_password', 'db_password', { shadowedGlobal: true });
  cb(
    null,
    call.request.name === 'broken'
      ? {
          domain: call.request.domain,
          workload: 'broken',
          ok: false,
          references: [
            good,
            plannedRef('MANAGED:analytics:absent', 'absent', {
              ok: false,
              scope: '',
              version: 0,
              code: 'secret.not_found',
              message: 'secret absent not found in domain analytics',
            }),
            plannedRef(`VAULT:${VAULT_ID}:team`, 'team', {
              sourceType: 'VAULT',
              ok: false,
              scope: '',
              version: 0,
              code: 'vault.sealed',
              message: 'Vault integration team could not be read (vault.sealed)',
              retryable: true,
            }),
          ],
          warnings: [],
        }
      : {
          domain: call.request.domain,
          workload: call.request.name,
          ok: true,
          references: [
            good,
            plannedRef(`VAULT:${VAULT_ID}:team`, 'team', { sourceType: 'VAULT', scope: VAULT_ID, version: 7 }),
          ],
          warnings: ['${secrets.db_password} resolves to domain analytics’s db_password, which shadows the global key'],
        },
  );
};

const fake = useFakeServices({ deployer: { deploy, getDeployment, dryRun } });

test('deploy --wait polls until deployed and prints the versions received', async () => {
  const io = fake.io();
  assert.equal(await main(['deploy', 'job', '--domain', 'analytics', '--wait'], io), 0);
  const out = io.stdoutLines.join('\n');
  assert.match(out, /deployment d-1 deployed/);
  assert.match(out, /DB_PASSWORD\s+MANAGED\s+analytics\s+3/);
});

test('deploy --wait exits 1 on failure and prints every reason', async () => {
  const io = fake.io();
  assert.equal(await main(['deploy', 'broken', '--domain', 'analytics', '--wait'], io), 1);
  assert.match(
    io.stdoutLines.join('\n'),
    /deployment d-2 failed\n {2}reason: DB_PASSWORD: not found in domain analytics/,
  );
});

test('deploy --wait says what it waits for while a backend is unavailable, once per change', async () => {
  const io = fake.io();
  assert.equal(await main(['deploy', 'waits', '--domain', 'analytics', '--wait'], io), 0);
  assert.deepEqual(io.stdoutLines, [
    'deployment d-3 pending; waiting...',
    'deployment d-3 resolving',
    ...WAITING.map((r) => `  reason: ${r}`),
    'deployment d-3 deployed',
    '  warning: resolved on attempt 2 of 6, after waiting for an unavailable backend',
  ]);
});

test('deploy --dry-run prints per reference the source, scope and version a deployment would use', async () => {
  const io = fake.io();
  assert.equal(await main(['deploy', 'job', '--domain', 'analytics', '--dry-run'], io), 0);
  assert.equal(
    io.stdoutLines[0],
    'dry run of job in domain analytics: 2 reference(s) would resolve; nothing was deployed',
  );
  assert.match(io.stdoutLines[1] ?? '', /^ {2}REFERENCE\s+SOURCE\s+SCOPE\s+VERSION\s+OUTCOME$/);
  assert.match(
    io.stdoutLines[2] ?? '',
    /^ {2}\$\{secrets\.db_password\}\s+MANAGED\s+analytics\s+3\s+ok \(shadows global\)$/,
  );
  assert.match(io.stdoutLines[3] ?? '', new RegExp(`^ {2}team\\s+VAULT\\s+${VAULT_ID}\\s+7\\s+ok$`));
  assert.match(io.stdoutLines[4] ?? '', /^warning: .*shadows the global key$/);
  assert.equal(io.stdoutLines.length, 5);

  const json = fake.io();
  assert.equal(await main(['deploy', 'job', '--domain', 'analytics', '--dry-run', '--json'], json), 0);
  const plan = JSON.parse(json.stdoutLines.join('\n')) as {
    ok: boolean;
    references: { scope: string; version: number }[];
  };
  assert.equal(plan.ok, true);
  assert.deepEqual(
    plan.references.map((r) => [r.scope, r.version]),
    [
      ['analytics', 3],
      [VAULT_ID, 7],
    ],
  );
});

test('deploy --dry-run exits 1 naming every reference that would fail, and whether it would be retried', async () => {
  const io = fake.io();
  assert.equal(await main(['deploy', 'broken', '--domain', 'analytics', '--dry-run'], io), 1);
  const out = io.stdoutLines.join('\n');
  assert.match(out, /^dry run of broken in domain analytics: 2 of 3 reference\(s\) would fail; nothing was deployed/);
  assert.match(out, /absent\s+MANAGED\s+-\s+-\s+secret\.not_found: secret absent not found in domain analytics/);
  assert.match(out, /team\s+VAULT\s+-\s+-\s+vault\.sealed \(would be retried\): Vault integration team/);
  assert.deepEqual(io.stderrLines, ['latchkey: a deployment of broken would fail now; nothing was deployed']);
});

test('deploy without --wait prints the id and status at once', async () => {
  const io = fake.io();
  assert.equal(await main(['deploy', 'job', '--domain', 'analytics'], io), 0);
  assert.deepEqual(io.stdoutLines, ['deployment d-1 pending']);
});

test('--dry-run with --wait is a usage error', async () => {
  const io = fake.io();
  assert.equal(await main(['deploy', 'job', '--domain', 'analytics', '--dry-run', '--wait'], io), 2);
  assert.match(io.stderrLines.join('\n'), /--dry-run deploys nothing, so there is nothing to --wait for/);
});
