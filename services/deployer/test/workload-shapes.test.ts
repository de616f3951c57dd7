import assert from 'node:assert/strict';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { migrate } from '@latchkey/db';
import { tempDir } from '@latchkey/testing';
import { PostgresWorkloadRepo } from '../src/adapters/postgres-workload-repo.js';
import { referencesOf, specWarnings, type WorkloadSpec } from '../src/domain/workload-spec.js';
import { migratedPool, MIGRATIONS, usePostgres } from './deployer-test-support.js';
import { testWorkloadService } from './deployer-services.js';

const VAULT_ID = 'b3c1f0de-8f0a-4c55-9d1e-5a1f2f0c7e11';

const postgres = usePostgres();

const ref = (type: string, id: string, key: string) => ({ key, source: { type, id } });

/** A Spark job's template: a placeholder in each of its sections. */
const SPARK_TEMPLATE = {
  envVars: { API_KEY: '${secrets.api_key}' },
  sparkConf: { 'spark.hadoop.fs.s3a.access.key': '${secrets.s3_access_key}' },
};

/** The seed API's payload of each kind, as `latchkey workload apply -f` takes it. */
const KINDS: Record<string, object> = {
  COMPUTE: {
    name: 'cluster',
    kind: 'COMPUTE',
    envVars: { DB_PASSWORD: '${secrets.db_password}' },
    sparkConf: { 'spark.hadoop.fs.s3a.secret.key': ref('MANAGED', 'analytics', 'warehouse') },
    run: { command: ['true'] },
  },
  SPARK_JOB: { name: 'job', kind: 'SPARK_JOB', template: SPARK_TEMPLATE },
  SPARK_STREAMING_JOB: {
    name: 'stream',
    kind: 'SPARK_STREAMING_JOB',
    template: { envVars: { T: ref('VAULT', VAULT_ID, 'kafka') } },
  },
  SDK_SPARK_JOB: { name: 'sdk', kind: 'SDK_SPARK_JOB', template: { sparkConf: { 'spark.a': 'literal' } } },
  JUPYTER_CONTAINER: {
    name: 'notebook',
    kind: 'JUPYTER_CONTAINER',
    description: 'team notebook',
    config: { envVars: { DB_PASSWORD: '${secrets.db_password}' } },
  },
  STORAGE_CONFIG: {
    name: 'lake',
    kind: 'STORAGE_CONFIG',
    endpoint: 'https://s3.eu-west-1.amazonaws.com',
    accessKey: ref('MANAGED', 'global', 'lake_access_key'),
    secretKey: '${secrets.lake_secret_old}',
    storageSecret: ref('KUBERNETES', 'analytics', 'lake_secret'),
  },
};

test('every kind round-trips through apply and get, and lists with its kind', async (t) => {
  const pool = await migratedPool(t, postgres(), 'deployer_shapes');
  const workloads = testWorkloadService(new PostgresWorkloadRepo(pool));
  for (const [kind, doc] of Object.entries(KINDS)) {
    const applied = await workloads.apply('admin', 'analytics', JSON.stringify(doc));
    assert.equal(applied.workload.kind, kind);
    const got = await workloads.get('admin', 'analytics', applied.workload.name);
    // As applied, except that the KUBERNETES alias is shown as MANAGED.
    const expected = JSON.parse(JSON.stringify(doc).replaceAll('"KUBERNETES"', '"MANAGED"')) as object;
    assert.deepEqual(JSON.parse(JSON.stringify(got.workload.spec)), expected, kind);
    assert.deepEqual(got.warnings, applied.warnings);
  }
  const storage = await workloads.get('admin', 'analytics', 'lake');
  assert.deepEqual(storage.warnings, [
    '$.secretKey is kept only as the fallback: $.storageSecret is used while it is set, and $.secretKey is neither resolved nor injected',
  ]);
  assert.deepEqual(
    (await workloads.list('admin', 'analytics')).map(({ workload: w }) => [w.name, w.kind]),
    [
      ['cluster', 'COMPUTE'],
      ['job', 'SPARK_JOB'],
      ['lake', 'STORAGE_CONFIG'],
      ['notebook', 'JUPYTER_CONTAINER'],
      ['sdk', 'SDK_SPARK_JOB'],
      ['stream', 'SPARK_STREAMING_JOB'],
    ],
  );
  // The reference index has what a deployment would resolve: not the fallback.
  const { rows } = await pool.query<{ ref_id: string }>(
    `SELECT r.ref_id FROM workload_refs r JOIN workloads w ON w.id = r.workload_id WHERE w.name = 'lake' ORDER BY 1`,
  );
  assert.deepEqual(
    rows.map((r) => r.ref_id),
    ['MANAGED:analytics:lake_secret', 'MANAGED:global:lake_access_key'],
  );
});

test('the migration moves workloads stored flat by earlier versions into their kind’s shape, keeping their references', async (t) => {
  const before003 = await tempDir('deployer-migrations-');
  t.after(() => before003.cleanup());
  for (const f of ['001_workloads.sql', '002_reference_index.sql'])
    await copyFile(join(MIGRATIONS, f), join(before003.path, f));
  const pool = await migratedPool(t, postgres(), 'deployer_shapes', before003.path);

  // What earlier versions stored: every kind flat, always with both maps.
  const flat = (name: string, kind: string, envVars: object, sparkConf: object = {}) => ({
    name,
    kind,
    envVars,
    sparkConf,
    run: { command: ['true'] },
  });
  const stored: Record<string, object> = {
    compute: flat('compute', 'COMPUTE', { A: '${secrets.a}' }, { 'spark.b': ref('MANAGED', 'analytics', 'b') }),
    spark: flat('spark', 'SPARK_JOB', { A: '${secrets.a}' }, { 'spark.b': ref('MANAGED', 'global', 'b') }),
    streaming: flat('streaming', 'SPARK_STREAMING_JOB', {}),
    sdk: flat('sdk', 'SDK_SPARK_JOB', { A: ref('VAULT', VAULT_ID, 'v') }),
    notebook: flat('notebook', 'JUPYTER_CONTAINER', { A: '${secrets.a}' }),
    'notebook-with-conf': flat('notebook-with-conf', 'JUPYTER_CONTAINER', {}, { 'spark.x': '${secrets.x}' }),
    storage: flat('storage', 'STORAGE_CONFIG', {}),
    'storage-with-env': flat('storage-with-env', 'STORAGE_CONFIG', { S: '${secrets.s}' }),
  };
  let n = 0;
  for (const doc of Object.values(stored)) {
    const d = doc as { name: string; kind: string };
    await pool.query('INSERT INTO workloads (id, domain, name, kind, spec) VALUES ($1, $2, $3, $4, $5)', [
      `00000000-0000-4000-8000-00000000000${++n}`,
      'analytics',
      d.name,
      d.kind,
      JSON.stringify(doc),
    ]);
  }

  assert.equal((await migrate(pool, MIGRATIONS))[0], '003_per_kind_specs.sql');
  const { rows } = await pool.query<{ name: string; spec: WorkloadSpec }>('SELECT name, spec FROM workloads');
  const now = new Map(rows.map((r) => [r.name, r.spec]));
  const run = { command: ['true'] };
  assert.deepEqual(now.get('compute'), stored.compute, 'COMPUTE keeps its top-level maps');
  assert.deepEqual(now.get('spark'), {
    name: 'spark',
    kind: 'SPARK_JOB',
    template: { envVars: { A: '${secrets.a}' }, sparkConf: { 'spark.b': ref('MANAGED', 'global', 'b') } },
    run,
  });
  assert.deepEqual(now.get('streaming'), {
    name: 'streaming',
    kind: 'SPARK_STREAMING_JOB',
    template: { envVars: {}, sparkConf: {} },
    run,
  });
  assert.deepEqual(now.get('notebook'), {
    name: 'notebook',
    kind: 'JUPYTER_CONTAINER',
    config: { envVars: { A: '${secrets.a}' } },
    run,
  });
  assert.deepEqual(now.get('storage'), { name: 'storage', kind: 'STORAGE_CONFIG', run });
  // No place in their kind's shape: left as stored, still injected, and flagged.
  for (const name of ['notebook-with-conf', 'storage-with-env']) {
    assert.deepEqual(now.get(name), stored[name]);
    assert.match(specWarnings(now.get(name)!)[0]!, /flat shape of an earlier version/);
  }
  for (const [name, before] of Object.entries(stored)) {
    const spec = now.get(name)!;
    assert.deepEqual(
      referencesOf(spec, 'analytics'),
      referencesOf(before as WorkloadSpec, 'analytics'),
      `${name} resolves the same references`,
    );
    if (!['notebook-with-conf', 'storage-with-env'].includes(name)) assert.deepEqual(specWarnings(spec), []);
  }
});
