import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeSecret } from '../../testing/fake-records.js';
import { main } from '../../main.js';
import { useFakeServices } from '../../testing/fake-services.js';

const fake = useFakeServices({
  catalog: {
    inventory: (call, cb) => {
      const used = {
        secret: { ...fakeSecret('db_password', 3), rotateEvery: '90d' },
        workloadCount: 2,
        workloads: [] as string[],
        unreferenced: false,
        rotationDue: true,
        rotationDueAt: '2025-04-03T00:00:00.000Z',
      };
      if (call.request.usedByKey === 'db_password') {
        cb(null, { entries: [{ ...used, workloads: ['analytics/nightly-etl', 'analytics/report'] }] });
        return;
      }
      cb(null, {
        entries: [
          used,
          {
            secret: fakeSecret('old_token', 1),
            workloadCount: 0,
            workloads: [],
            unreferenced: true,
            rotationDue: false,
            rotationDueAt: '',
          },
          {
            secret: { ...fakeSecret('api_key', 2), rotateEvery: '36h' },
            workloadCount: 1,
            workloads: [],
            unreferenced: false,
            rotationDue: false,
            rotationDueAt: '2099-01-01T12:00:00.000Z',
          },
        ],
      });
    },
  },
});

test('inventory flags unreferenced secrets and those due for rotation; --used-by lists the workloads', async () => {
  const out = fake.io();
  assert.equal(await main(['inventory', '--domain', 'analytics'], out), 0);
  assert.deepEqual(fake.last('inventory'), { scope: { domain: 'analytics', global: false }, usedByKey: '' });
  assert.match(out.stdoutLines[0] ?? '', /^KEY +SOURCE +VERSION +UPDATED +BY +WORKLOADS +ROTATION$/);
  assert.match(
    out.stdoutLines[1] ?? '',
    /^db_password +MANAGED +3 +2025-01-03T00:00:00Z +alice +2 +90d, DUE since 2025-04-03T00:00:00.000Z$/,
  );
  assert.match(out.stdoutLines[2] ?? '', /^old_token +MANAGED +1 +.* +0 \(unreferenced\) +-$/);
  assert.match(out.stdoutLines[3] ?? '', /^api_key +MANAGED +2 +.* +1 +36h, due 2099-01-01T12:00:00.000Z$/);
  assert.equal(
    out.stdoutLines[4],
    '1 of 3 secrets are due for rotation (db_password): put a new value with latchkey secret put KEY',
  );
  assert.equal(out.stdoutLines[5], '1 of 3 secrets are referenced by no workload');
  const json = fake.io();
  assert.equal(await main(['inventory', '--domain', 'analytics', '--json'], json), 0);
  const entries = (JSON.parse(json.stdoutLines.join('\n')) as { entries: Record<string, unknown>[] }).entries;
  assert.deepEqual(
    entries.map((e) => [e['rotationDue'], e['rotationDueAt']]),
    [
      [true, '2025-04-03T00:00:00.000Z'],
      [false, ''],
      [false, '2099-01-01T12:00:00.000Z'],
    ],
  );
  const used = fake.io();
  assert.equal(await main(['inventory', '--domain', 'analytics', '--used-by', 'db_password'], used), 0);
  assert.equal(fake.last<{ usedByKey: string }>('inventory').usedByKey, 'db_password');
  assert.deepEqual(used.stdoutLines.slice(2), [
    'workloads that reference db_password:',
    '  analytics/nightly-etl',
    '  analytics/report',
  ]);
  const neither = fake.io();
  assert.equal(await main(['inventory'], neither), 2);
  assert.match(neither.stderrLines[0] ?? '', /--domain DOMAIN or --global is required/);
});
