import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { waitFor } from '@latchkey/testing';
import { assertNowhere } from './canary-scan.js';
import { startRecordedSystem } from './recorded-cli.js';
import { applyWorkload, computeWorkload, managedRef } from './workload-files.js';

interface Deployment {
  id: string;
  status: string;
  reasons: string[];
}

interface Versions {
  versions: { version: number; state: string; current: boolean; heldBy: string[]; rolledBackFrom: number }[];
  kept: number;
  holdersKnown: boolean;
}

// One system for the whole story: recoverable delete (§2), then versions (§1), through the CLI.
test('through the CLI: a deleted secret fails deployments with secret.deleted until restored; versions, rollback and disable hold end to end; no value anywhere', async (t) => {
  const { sys, outputs, ok, okPoll, cli } = await startRecordedSystem(t);
  const canary = (n: number) => `versions-canary-${n}-${randomBytes(10).toString('hex')}`;
  const values = [canary(1), canary(2)];
  const A = ['--domain', 'analytics'];
  await ok(['domain', 'create', 'analytics']);
  await ok(['secret', 'put', 'db_password', ...A], values[0]);
  await applyWorkload(
    ok,
    sys.home,
    'analytics',
    computeWorkload('job', { DB: managedRef('db_password', 'analytics') }),
  );
  const deploy = async () => {
    const r = await cli(['deploy', 'job', ...A, '--wait', '--json']);
    return { code: r.code, d: JSON.parse(r.stdout) as Deployment };
  };
  assert.equal((await deploy()).d.status, 'deployed');

  // §2: in use, a delete needs --force, which does not skip the window.
  const inUse = await cli(['secret', 'delete', 'db_password', ...A]);
  assert.notEqual(inUse.code, 0);
  assert.match(inUse.stderr, /secret\.in_use/);
  const del = JSON.parse((await ok(['secret', 'delete', 'db_password', ...A, '--force', '--json'])).stdout) as {
    recoverUntil: string;
  };
  const until = Date.parse(del.recoverUntil);
  assert.ok(Math.abs(until - Date.now() - 7 * 86_400_000) < 120_000, `7 days by default: ${del.recoverUntil}`);
  const deleted = await ok(['secret', 'list', ...A, '--deleted']);
  assert.match(deleted.stdout, new RegExp(`db_password\\s+1\\s+\\S+\\s+admin\\s+${del.recoverUntil}`));
  assert.doesNotMatch((await ok(['secret', 'list', ...A])).stdout, /db_password/);

  const failed = await deploy();
  assert.notEqual(failed.code, 0);
  assert.equal(failed.d.status, 'failed');
  assert.equal(failed.d.reasons.length, 1);
  assert.match(failed.d.reasons[0] ?? '', /can be restored until .*\[secret\.deleted\]$/);
  assert.ok(failed.d.reasons[0]?.includes(del.recoverUntil), 'the reason says when the values are destroyed');

  const putBack = await cli(['secret', 'put', 'db_password', ...A], values[1]);
  assert.notEqual(putBack.code, 0, 'a put does not write over a recoverable secret');
  assert.match(putBack.stderr, /restore it, or destroy it now .*\(secret\.deleted\)/);
  await ok(['secret', 'restore', 'db_password', ...A]);
  assert.equal((await deploy()).d.status, 'deployed', 'restored as it was');

  // §1: a second version, then the listing says who holds which.
  await ok(['secret', 'put', 'db_password', ...A], values[1]);
  const listing = async () =>
    JSON.parse((await okPoll(['secret', 'versions', 'db_password', ...A, '--json'])).stdout) as Versions;
  const two = await listing();
  assert.equal(two.kept, 10);
  assert.equal(two.holdersKnown, true);
  assert.deepEqual(
    two.versions.map((v) => [v.version, v.current, v.state, v.heldBy ?? []]),
    [
      [2, true, 'enabled', []],
      [1, false, 'enabled', ['analytics/job']],
    ],
  );
  const table = await ok(['secret', 'versions', 'db_password', ...A]);
  assert.match(table.stdout, /1\s+\S+\s+admin\s+enabled\s+analytics\/job/);

  // Rollback to 1: version 3 with version 1's value; the workload (holding 1) is stale: 1 < 3.
  const rb = await ok(['secret', 'rollback', 'db_password', ...A, '--to', '1']);
  assert.match(rb.stdout, /db_password version 3 in domain analytics, with the value of version 1/);
  const stale = await waitFor(
    async () => {
      const w = JSON.parse((await okPoll(['workload', 'get', 'job', ...A, '--json'])).stdout) as {
        stale: boolean;
        staleReasons: { deployedVersion: number; currentVersion: number }[];
      };
      return w.stale && w.staleReasons.some((r) => r.currentVersion === 3) ? w : undefined;
    },
    { what: 'the workload to be stale after the rollback' },
  );
  assert.ok(stale.staleReasons.some((r) => r.deployedVersion === 1 && r.currentVersion === 3));

  // Disabled, the current version cannot be resolved; enabled again, it deploys.
  await ok(['secret', 'disable', 'db_password', ...A, '--version', '3']);
  const refused = await deploy();
  assert.equal(refused.d.status, 'failed');
  assert.match(refused.d.reasons[0] ?? '', /version 3 is disabled: enable it .*\[secret\.version_disabled\]$/);
  await ok(['secret', 'enable', 'db_password', ...A, '--version', '3']);
  assert.equal((await deploy()).d.status, 'deployed');
  const three = await waitFor(
    async () => {
      const l = await listing();
      return l.versions[0]?.heldBy?.includes('analytics/job') ? l : undefined;
    },
    { what: 'the listing to show the new deployment holding version 3' },
  );
  assert.deepEqual(
    three.versions.map((v) => [v.version, v.rolledBackFrom ?? 0, v.heldBy ?? []]),
    [
      [3, 1, ['analytics/job']],
      [2, 0, []],
      [1, 0, []],
    ],
  );

  // --recovery-days 0: destroyed now; nothing to restore.
  await ok(['secret', 'delete', 'db_password', ...A, '--force', '--recovery-days', '0']);
  assert.doesNotMatch((await ok(['secret', 'list', ...A, '--deleted'])).stdout, /db_password/);
  const gone = await cli(['secret', 'restore', 'db_password', ...A]);
  assert.notEqual(gone.code, 0);
  assert.match(gone.stderr, /its recovery window ended and its values were destroyed .*\(secret\.not_found\)$/m);

  await assertNowhere(sys, values, outputs);
});
