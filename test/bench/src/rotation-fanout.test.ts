import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countOf } from './rotation-fanout.js';

test('countOf counts the workloads a workload.stale body names, as PostgreSQL prints it or compact', () => {
  const ev = {
    domain: 'fanout',
    changed: { scope: 'fanout', key: 'rotated_1000', currentVersion: 2, change: 'updated' },
    workloads: [1, 2, 3].map((i) => ({
      workloadId: `w${i}`,
      workload: `fan-${i}`,
      deployedVersion: 1,
      redeployMode: 'manual',
    })),
  };
  assert.equal(countOf(JSON.stringify(ev), '"workloadId"'), 3);
  assert.equal(countOf(JSON.stringify(ev, null, 1), '"workloadId"'), 3);
  assert.equal(countOf('{"workloads": []}', '"workloadId"'), 0);
  assert.equal(countOf('aaaa', 'aa'), 2, 'occurrences do not overlap');
});
