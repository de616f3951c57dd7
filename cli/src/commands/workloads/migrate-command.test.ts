import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { status } from '@grpc/grpc-js';
import type {
  ApplyWorkloadRequest,
  DeployerServiceServer,
  PutSecretRequest,
  CatalogServiceServer,
} from '@latchkey/proto';
import { fakeSecret, fakeWorkload } from '../../testing/fake-records.js';
import { fail, useFakeServices } from '../../testing/fake-services.js';
import { keyForField, planMigration } from './migrate-plan.js';

const canary = `canary-${randomBytes(12).toString('hex')}`;
const shared = `shared-${randomBytes(12).toString('hex')}`;

const etl = fakeWorkload('etl', {
  kind: 'SPARK_JOB',
  specJson: JSON.stringify({
    name: 'etl',
    kind: 'SPARK_JOB',
    template: { envVars: { DB_PASSWORD: canary, MODE: 'batch' }, sparkConf: { 'spark.a.token': shared } },
  }),
  plaintextCredentials: [
    {
      path: '$.template.envVars.DB_PASSWORD',
      segments: ['template', 'envVars', 'DB_PASSWORD'],
      reason: "its name matches Spark's redaction pattern",
      referenceAt: ['template', 'envVars', 'DB_PASSWORD'],
    },
    {
      path: '$.template.sparkConf["spark.a.token"]',
      segments: ['template', 'sparkConf', 'spark.a.token'],
      reason: "its name matches Spark's redaction pattern",
      referenceAt: ['template', 'sparkConf', 'spark.a.token'],
    },
  ],
});
const s3 = fakeWorkload('s3', {
  kind: 'STORAGE_CONFIG',
  specJson: JSON.stringify({ name: 's3', kind: 'STORAGE_CONFIG', endpoint: 'https://u:p@minio', secretKey: shared }),
  plaintextCredentials: [
    { path: '$.endpoint', segments: ['endpoint'], reason: 'a connection string with a password', referenceAt: [] },
    { path: '$.secretKey', segments: ['secretKey'], reason: 'x', referenceAt: ['storageSecret'] },
  ],
});
const clean = fakeWorkload('clean');

let migrated = false;
const listWorkloads: DeployerServiceServer['listWorkloads'] = (_call, cb) =>
  cb(null, { workloads: migrated ? [clean] : [etl, s3, clean] });
const applyWorkload: DeployerServiceServer['applyWorkload'] = (call, cb) => {
  const name = (JSON.parse(call.request.specJson) as { name: string }).name;
  cb(null, fakeWorkload(name, { specJson: call.request.specJson }));
};
const listSecrets: CatalogServiceServer['listSecrets'] = (_call, cb) =>
  cb(null, { secrets: [fakeSecret('DB_PASSWORD', 3)] });
let version = 0;
/** When set, the catalog refuses puts as ras refuses a caller who may not manage the domain's secrets. */
let refusePuts = false;
const putSecret: CatalogServiceServer['putSecret'] = (call, cb) => {
  if (refusePuts) {
    fail(cb, status.PERMISSION_DENIED, 'permission.denied', 'mallory may not manage secrets in domain analytics');
    return;
  }
  cb(null, fakeSecret(call.request.key, ++version));
};

const fake = useFakeServices({ deployer: { listWorkloads, applyWorkload }, catalog: { listSecrets, putSecret } });

test('migrate --dry-run reports every move and changes nothing; no value is printed', async () => {
  migrated = false;
  const out = await fake.run(['migrate', '--domain', 'analytics', '--dry-run'], 0);
  assert.equal(fake.calls('putSecret'), 0);
  assert.equal(fake.calls('applyWorkload'), 0);
  assert.deepEqual(out.stdoutLines, [
    'migrate domain analytics (dry run: nothing changed)',
    'would put secret DB_PASSWORD_2 in domain analytics (from etl $.template.envVars.DB_PASSWORD; DB_PASSWORD was taken (the domain has a secret of that name))',
    'would put secret spark.a.token in domain analytics (from etl $.template.sparkConf["spark.a.token"], s3 $.secretKey)',
    'would update workload etl: $.template.envVars.DB_PASSWORD -> DB_PASSWORD_2, $.template.sparkConf["spark.a.token"] -> spark.a.token',
    'would update workload s3: $.secretKey -> spark.a.token',
    'not moved: s3 $.endpoint: this field takes no reference, or the literal also holds ${secrets.KEY} placeholders: move it by hand',
  ]);
  for (const line of [...out.stdoutLines, ...out.stderrLines]) {
    assert.ok(!line.includes(canary) && !line.includes(shared), 'no value printed');
  }
});

test('migrate puts each distinct value once, applies the specs with references, and reports it; --json holds no value', async () => {
  migrated = false;
  const out = await fake.run(['migrate', '--domain', 'analytics', '--json'], 0);
  const puts = fake.seen.get('putSecret') as PutSecretRequest[];
  assert.deepEqual(
    puts.map((p) => [p.key, Buffer.from(p.value).toString('utf8'), p.scope]),
    [
      ['DB_PASSWORD_2', canary, { domain: 'analytics', global: false }],
      ['spark.a.token', shared, { domain: 'analytics', global: false }],
    ],
  );
  const applied = (fake.seen.get('applyWorkload') as ApplyWorkloadRequest[]).map((r) => JSON.parse(r.specJson));
  const ref = (key: string) => ({ key, source: { type: 'MANAGED', id: 'analytics' } });
  assert.deepEqual(applied[0].template, {
    envVars: { DB_PASSWORD: ref('DB_PASSWORD_2'), MODE: 'batch' },
    sparkConf: { 'spark.a.token': ref('spark.a.token') },
  });
  assert.deepEqual(applied[1], {
    name: 's3',
    kind: 'STORAGE_CONFIG',
    endpoint: 'https://u:p@minio',
    storageSecret: ref('spark.a.token'),
  });
  const text = out.stdoutLines.join('\n');
  assert.ok(!text.includes(canary) && !text.includes(shared), 'no value in the report');
  const report = JSON.parse(text) as { secrets: { key: string; version: number }[]; dryRun: boolean };
  assert.equal(report.dryRun, false);
  assert.deepEqual(
    report.secrets.map((s) => s.key),
    ['DB_PASSWORD_2', 'spark.a.token'],
  );
  assert.ok(report.secrets.every((s) => s.version > 0));
});

test('a caller refused the first put changes nothing: no workload is applied, the refusal is the error, and no value is printed', async () => {
  migrated = false;
  refusePuts = true;
  try {
    const out = await fake.run(['migrate', '--domain', 'analytics'], 1);
    assert.equal(fake.calls('putSecret'), 1);
    assert.equal(fake.calls('applyWorkload'), 0, 'no spec is rewritten before every value is stored');
    assert.match(out.stderrLines.join('\n'), /mallory may not manage secrets in domain analytics/);
    for (const line of [...out.stdoutLines, ...out.stderrLines]) {
      assert.ok(!line.includes(canary) && !line.includes(shared), 'no value printed');
    }
  } finally {
    refusePuts = false;
  }
});

test('migrate with nothing left to move says so and changes nothing', async () => {
  migrated = true;
  const out = await fake.run(['migrate', '--domain', 'analytics'], 0);
  assert.deepEqual(out.stdoutLines, [
    'no plaintext credentials in the workloads of domain analytics: nothing to migrate',
  ]);
  assert.equal(fake.calls('putSecret') + fake.calls('applyWorkload'), 0);
});

test('keys are derived from the field; STORAGE_CONFIG fields take the workload name; names in use get a suffix', () => {
  assert.equal(keyForField('etl', ['envVars', 'DB_PASSWORD']), 'DB_PASSWORD');
  assert.equal(keyForField('etl', ['sparkConf', 'spark.x.secret']), 'spark.x.secret');
  assert.equal(keyForField('s3', ['secretKey']), 's3.secretKey');
  assert.equal(keyForField('etl', ['envVars', 'weird name/€']), 'weird_name__');
  const two = (n: string, v: string) =>
    fakeWorkload(n, {
      specJson: JSON.stringify({ name: n, kind: 'COMPUTE', envVars: { TOKEN: v } }),
      plaintextCredentials: [
        { path: '$.envVars.TOKEN', segments: ['envVars', 'TOKEN'], reason: 'r', referenceAt: ['envVars', 'TOKEN'] },
      ],
    });
  const plan = planMigration('a', [two('w1', 'value-one'), two('w2', 'value-two'), two('w3', 'value-one')], new Set());
  assert.deepEqual(
    plan.secrets.map((s) => [s.key, s.from, s.renamed]),
    [
      ['TOKEN', ['w1 $.envVars.TOKEN', 'w3 $.envVars.TOKEN'], undefined],
      ['TOKEN_2', ['w2 $.envVars.TOKEN'], 'TOKEN was taken (another value takes that name)'],
    ],
  );
});
