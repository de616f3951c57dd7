// features.secretsV2 off (LATCHKEY_SECRETS_V2=false), the legacy mode: the
// deployer refuses structured references on apply, and on deploy, redeploy
// and dry run of a workload stored while V2 was on; placeholders still work,
// and only from global scope.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isLatchkeyError } from '@latchkey/errors';
import { silentLogger } from '@latchkey/logger';
import { FakeAuthorizer } from '@latchkey/testing';
import { PostgresRedeployRepo } from '../src/adapters/postgres-redeploy-repo.js';
import { PostgresWorkloadRepo } from '../src/adapters/postgres-workload-repo.js';
import { AutoRedeployService } from '../src/domain/staleness/auto-redeploy-service.js';
import {
  computeSpec,
  migratedPool,
  newKeys,
  RecordingRuntime,
  replica,
  resolve,
  rotated,
  TestClock,
  usePostgres,
} from './deployer-test-support.js';
import { testWorkloadService } from './deployer-services.js';

const postgres = usePostgres();

const structured = {
  name: 'nightly',
  kind: 'SPARK_JOB',
  template: {
    envVars: { MODE: 'batch', API_KEY: '${secrets.api_key}' },
    sparkConf: {
      'spark.hadoop.fs.s3a.secret.key': { key: 'warehouse', source: { type: 'KUBERNETES', id: 'analytics' } },
    },
  },
  run: { command: ['true'] },
};
const legacyOnly = {
  name: 'legacy',
  kind: 'COMPUTE',
  envVars: { DB_PASSWORD: '${secrets.db_password}' },
  run: { command: ['true'] },
};

const refusedWith = (doing: string, path: string) => (err: unknown) => {
  assert.ok(isLatchkeyError(err), String(err));
  assert.equal(err.code, 'workload.secrets_v2_disabled');
  assert.equal(err.kind, 'failed_precondition');
  assert.match(
    err.message,
    new RegExp(`^${doing} of workload \\w+ refused: ${path.replace(/[.$]/g, '\\$&')} is a structured secret reference`),
  );
  assert.match(
    err.message,
    /features\.secretsV2\.enabled: true in the Helm values; LATCHKEY_SECRETS_V2=true on the deployer and the resolver/,
  );
  return true;
};

test('with Secrets V2 off, a structured reference is refused on apply, naming its JSON path and how to turn V2 on; nothing is stored', async (t) => {
  const pool = await migratedPool(t, postgres(), 'v1_apply');
  const v1 = testWorkloadService(new PostgresWorkloadRepo(pool), { secretsV2: false });
  await assert.rejects(
    v1.apply('alice', 'analytics', JSON.stringify(structured)),
    refusedWith('apply', '$.template.sparkConf.spark.hadoop.fs.s3a.secret.key'),
  );
  const storage = {
    name: 'lake',
    kind: 'STORAGE_CONFIG',
    secretKey: '${secrets.lake_secret}',
    storageSecret: { key: 'lake_secret', source: { type: 'MANAGED', id: 'global' } },
  };
  await assert.rejects(
    v1.apply('alice', 'analytics', JSON.stringify(storage)),
    refusedWith('apply', '$.storageSecret'),
  );
  assert.deepEqual(await v1.list('alice', 'analytics'), []);

  // Placeholders only: applied as before.
  const { workload } = await v1.apply('alice', 'analytics', JSON.stringify(legacyOnly));
  assert.equal(workload.name, 'legacy');
  // The same document is accepted with V2 on.
  const v2 = testWorkloadService(new PostgresWorkloadRepo(pool));
  assert.equal((await v2.apply('alice', 'analytics', JSON.stringify(structured))).workload.name, 'nightly');
});

test('with Secrets V2 off, a workload stored while it was on is refused on deploy, redeploy and dry run, and no deployment is recorded', async (t) => {
  const pool = await migratedPool(t, postgres(), 'v1_deploy');
  const repo = new PostgresWorkloadRepo(pool);
  await testWorkloadService(repo).apply('alice', 'analytics', JSON.stringify(structured));
  const v1 = testWorkloadService(repo, { secretsV2: false });
  const path = '$.template.sparkConf.spark.hadoop.fs.s3a.secret.key';
  await assert.rejects(v1.deploy('alice', 'analytics', 'nightly'), refusedWith('deploy', path));
  await assert.rejects(v1.redeploy('alice', 'analytics', { name: 'nightly' }), refusedWith('redeploy', path));
  await assert.rejects(v1.dryRun('alice', 'analytics', 'nightly'), refusedWith('dry run', path));
  const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM deployments');
  assert.equal(rows[0]?.n, '0');
});

test('with Secrets V2 off, the deployer takes a placeholder only from global scope: an answer from the domain is refused', async (t) => {
  const pool = await migratedPool(t, postgres(), 'v1_scope');
  const repo = new PostgresWorkloadRepo(pool);
  const keys = newKeys();
  const runtime = new RecordingRuntime();
  const v1 = testWorkloadService(repo, { secretsV2: false, runtime, sealKeys: new Map([[keys.kid, keys]]) });
  await v1.apply('alice', 'analytics', JSON.stringify(legacyOnly));
  const fromDomain = await v1.deploy('alice', 'analytics', 'legacy');
  await assert.rejects(resolve({ repo, workloads: v1 }, keys, fromDomain, {}, 'analytics'), (err: unknown) => {
    assert.ok(isLatchkeyError(err));
    assert.match(err.message, /LEGACY:db_password \(scope analytics\)/);
    return true;
  });
  assert.deepEqual(runtime.started, []);
  // V2 on takes the same answer (the domain first, then global).
  const v2 = testWorkloadService(repo, { runtime, sealKeys: new Map([[keys.kid, keys]]) });
  const second = await v2.deploy('alice', 'analytics', 'legacy');
  await resolve({ repo, workloads: v2 }, keys, second, {}, 'analytics');
  assert.deepEqual(runtime.started, [second.id]);
  const fromGlobal = await v1.deploy('alice', 'analytics', 'legacy');
  await resolve({ repo, workloads: v1 }, keys, fromGlobal, {}, 'global');
  assert.deepEqual(runtime.started, [second.id, fromGlobal.id]);
});

test('with Secrets V2 off, a stale workload with a structured reference is not redeployed by its auto policy', async (t) => {
  const pool = await migratedPool(t, postgres(), 'v1_auto');
  const keys = newKeys();
  const authorizer = new FakeAuthorizer();
  const clock = new TestClock(new Date('2025-03-03T12:00:00Z'));
  const v2 = replica(pool, { name: 'deployer-a', keys, authorizer, clock, cooldownMs: 0 });
  const spec = computeSpec('auto-job', 'analytics', ['db_password'], { redeployPolicy: { mode: 'auto' } });
  await v2.workloads.apply('mia', 'analytics', JSON.stringify(spec));
  await resolve(v2, keys, await v2.workloads.deploy('mia', 'analytics', 'auto-job'), { db_password: 1 });
  await v2.workloads.onSecretChanged('secret.updated:analytics/db_password/2', rotated('analytics', 'db_password', 2));
  const w = await v2.repo.getWorkload('analytics', 'auto-job');
  assert.equal(w?.stale, true);
  const v1 = new AutoRedeployService({
    redeploys: new PostgresRedeployRepo(pool),
    workloads: v2.repo,
    authorizer,
    logger: silentLogger,
    onEvents: () => undefined,
    cooldownMs: 0,
    clock: clock.now,
    secretsV2: false,
  });
  assert.deepEqual(await v1.consider(w.id), { skip: 'refused' });
  const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM deployments WHERE trigger = 'auto'");
  assert.equal(rows[0]?.n, 0);
  // With V2 on the same workload is redeployed.
  assert.ok('redeployed' in (await v2.auto.consider(w.id)));
});
