import { test } from 'node:test';
import assert from 'node:assert/strict';
import { injectionsOf, referencesOf } from './workload-references.js';
import { renderForRuntime, specWarnings } from './workload-render.js';
import { parseWorkloadSpec } from './workload-spec-parser.js';
import { S3A_SETTINGS, type WorkloadSpec } from './workload-spec-types.js';
import { EVERY_KIND, managed, parseInAnalytics, spec } from './test/workload-spec-fixture.js';

test('every kind round-trips in its own payload shape: what is applied is what is stored and shown', () => {
  for (const [kind, doc] of Object.entries(EVERY_KIND)) {
    const parsed = parseWorkloadSpec(spec(doc), 'analytics');
    assert.equal(parsed.kind, kind);
    assert.deepEqual(JSON.parse(JSON.stringify(parsed)), doc, `${kind} as stored`);
    // What the repo stores and get shows is accepted again unchanged.
    assert.deepEqual(parseWorkloadSpec(JSON.stringify(parsed), 'analytics'), parsed, `${kind} re-applied`);
  }
});

test('the KUBERNETES alias is stored as MANAGED, numbers and booleans as strings', () => {
  const parsed = parseInAnalytics({
    name: 'w',
    kind: 'COMPUTE',
    envVars: { A: { key: 'k', source: { type: 'KUBERNETES', id: 'analytics' } }, N: 42, B: true },
  });
  assert.deepEqual(parsed.envVars, { A: managed('k'), N: '42', B: 'true' });
});

test('each kind injects its values where its shape puts them', () => {
  const parse = (kind: string) => parseWorkloadSpec(spec(EVERY_KIND[kind]), 'analytics');
  assert.deepEqual(injectionsOf(parse('COMPUTE')), {
    env: EVERY_KIND.COMPUTE!.envVars,
    sparkConf: EVERY_KIND.COMPUTE!.sparkConf,
    spark: true,
  });
  for (const kind of ['SPARK_JOB', 'SPARK_STREAMING_JOB', 'SDK_SPARK_JOB']) {
    const template = EVERY_KIND[kind]!.template as { envVars: object; sparkConf: object };
    assert.deepEqual(injectionsOf(parse(kind)), { env: template.envVars, sparkConf: template.sparkConf, spark: true });
  }
  assert.deepEqual(injectionsOf(parse('JUPYTER_CONTAINER')), {
    env: { DB_PASSWORD: '${secrets.db_password}' },
    sparkConf: {},
    spark: false,
  });
  assert.deepEqual(injectionsOf(parse('STORAGE_CONFIG')), {
    env: {},
    sparkConf: {
      [S3A_SETTINGS.endpoint]: 'https://minio.internal:9000',
      [S3A_SETTINGS.region]: 'eu-west-3',
      [S3A_SETTINGS.pathStyle]: 'true',
      [S3A_SETTINGS.accessKey]: 'AKIAEXAMPLE',
      [S3A_SETTINGS.secretKey]: managed('lake_secret'),
    },
    spark: true,
  });
  assert.deepEqual(S3A_SETTINGS, {
    endpoint: 'spark.hadoop.fs.s3a.endpoint',
    region: 'spark.hadoop.fs.s3a.endpoint.region',
    pathStyle: 'spark.hadoop.fs.s3a.path.style.access',
    accessKey: 'spark.hadoop.fs.s3a.access.key',
    secretKey: 'spark.hadoop.fs.s3a.secret.key',
  });
});

test('a workload stored in the flat shape of an earlier version is still injected, with a warning', () => {
  const stored = {
    name: 'old',
    kind: 'SPARK_JOB',
    envVars: { A: '${secrets.a}' },
    sparkConf: { 'spark.b': managed('b') },
  } as WorkloadSpec;
  assert.deepEqual(
    referencesOf(stored, 'analytics').map((r) => r.refId),
    ['LEGACY:a', 'MANAGED:analytics:b'],
  );
  const rendered = renderForRuntime(
    stored,
    new Map([
      ['LEGACY:a', 'va'],
      ['MANAGED:analytics:b', 'vb'],
    ]),
  );
  assert.deepEqual(rendered.env, { A: 'va' });
  assert.equal(rendered.sparkConf['spark.b'], 'vb');
  assert.match(specWarnings(stored)[0]!, /flat shape of an earlier version.*template\.envVars/);
  assert.deepEqual(specWarnings(parseWorkloadSpec(spec(EVERY_KIND.COMPUTE), 'analytics')), []);
});

test('run.image and run.resources are kept for the kubernetes runtime; numbers become quantities', () => {
  const parsed = parseInAnalytics({
    name: 'w',
    kind: 'COMPUTE',
    run: {
      command: ['spark-submit', 'job.py'],
      image: 'apache/spark:3.5.1',
      resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '2Gi', cpu: 2, 'nvidia.com/gpu': 1 } },
    },
  });
  assert.deepEqual(parsed.run, {
    command: ['spark-submit', 'job.py'],
    image: 'apache/spark:3.5.1',
    resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '2Gi', cpu: '2', 'nvidia.com/gpu': '1' } },
  });
});
