// What the workload spec tests share: a document of every kind in the seed
// API's payload shape, reference builders, and the problems of a refusal.
import assert from 'node:assert/strict';
import { parseWorkloadSpec } from '../workload-spec-parser.js';

export const spec = (doc: unknown) => JSON.stringify(doc);
export const VAULT_ID = '0f5c6a2e-3d41-4b7a-9e08-6c2d1b4a7f35';
export const managed = (key: string, id = 'analytics') => ({ key, source: { type: 'MANAGED', id } });
export const vault = (key: string) => ({ key, source: { type: 'VAULT', id: VAULT_ID } });
export const run = { command: ['node', 'job.js'] };
export const parseInAnalytics = (doc: unknown) => parseWorkloadSpec(spec(doc), 'analytics');

/** One document of every kind, in the seed API's payload shape, using every field the kind has. */
export const EVERY_KIND: Record<string, Record<string, unknown>> = {
  COMPUTE: {
    name: 'cluster',
    kind: 'COMPUTE',
    description: 'the shared cluster',
    envVars: { DB_PASSWORD: '${secrets.db_password}', TOKEN: vault('api_token') },
    sparkConf: { 'spark.hadoop.fs.s3a.secret.key': managed('s3_secret') },
    run,
  },
  SPARK_JOB: {
    name: 'nightly-etl',
    kind: 'SPARK_JOB',
    template: {
      envVars: { API_KEY: '${secrets.api_key}' },
      sparkConf: { 'spark.hadoop.fs.s3a.access.key': '${secrets.s3_access_key}' },
    },
    run,
  },
  SPARK_STREAMING_JOB: {
    name: 'stream',
    kind: 'SPARK_STREAMING_JOB',
    template: { envVars: { KAFKA_PASSWORD: managed('kafka', 'global') }, sparkConf: { 'spark.x': 'plain' } },
    run,
  },
  SDK_SPARK_JOB: {
    name: 'sdk',
    kind: 'SDK_SPARK_JOB',
    template: { envVars: { A: 'x=${secrets.a}&y=${secrets.b}' }, sparkConf: {} },
  },
  JUPYTER_CONTAINER: {
    name: 'notebook',
    kind: 'JUPYTER_CONTAINER',
    config: { envVars: { DB_PASSWORD: '${secrets.db_password}' } },
    run,
  },
  STORAGE_CONFIG: {
    name: 'lake',
    kind: 'STORAGE_CONFIG',
    endpoint: 'https://minio.internal:9000',
    region: 'eu-west-3',
    bucket: 'lake-raw',
    pathStyle: true,
    accessKey: 'AKIAEXAMPLE',
    secretKey: '${secrets.old_secret}',
    storageSecret: managed('lake_secret'),
    run,
  },
};

/** The problems of a refused workload, by JSON path. */
export function problemsOf(doc: unknown, domain = 'analytics'): string[] {
  try {
    parseWorkloadSpec(spec(doc), domain);
  } catch (err) {
    const e = err as Error & { code?: string };
    assert.equal(e.code, 'workload.invalid');
    const m = /has (\d+) problem\(s\): (.*)$/s.exec(e.message);
    assert.ok(m, e.message);
    const list = m[2]!.split('; $').map((x, i) => (i === 0 ? x : `$${x}`));
    assert.equal(list.length, Number(m[1]));
    return list;
  }
  assert.fail('the workload was accepted');
}
