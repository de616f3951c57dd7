import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { parseWorkloadSpec } from './workload-spec-parser.js';
import { specWarnings } from './workload-render.js';
import {
  credentialReason,
  findPlaintextCredentials,
  isHighEntropy,
  jsonPath,
  plaintextCredentialWarnings,
} from './plaintext-credentials.js';

const parse = (doc: unknown) => parseWorkloadSpec(JSON.stringify(doc), 'analytics');
const run = { command: ['node', 'job.js'] };
const hex = (n: number) => randomBytes(n).toString('hex');
const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

// Shapes built at run time, so this file holds no token-shaped literal itself.
const SHAPES: Record<string, string> = {
  aws: `AKIA${'IOSFODNN7EXAMPLE'}`,
  privateKey: `-----BEGIN RSA PRIVATE KEY-----\nMIIEow${hex(20)}\n-----END RSA PRIVATE KEY-----`,
  jwt: `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({ sub: 'svc', iat: 1 })}.${hex(16)}`,
  github: `ghp_${'a1B2c3D4e5F6g7H8i9J0'.repeat(2)}`,
  githubPat: `github_pat_${'11ABCDEFG0'.repeat(3)}`,
  slack: `xoxb-${'1234567890'}-${hex(8)}`,
  postgresUrl: `postgresql://etl:${hex(6)}@db.internal:5432/warehouse`,
  jdbcPassword: `jdbc:sqlserver://db.internal;user=etl;password=${hex(6)};encrypt=true`,
};

test('a value of every well-known credential shape is found, whatever its name', () => {
  for (const [what, value] of Object.entries(SHAPES)) {
    assert.notEqual(credentialReason('SETTING', value), undefined, `${what} is found`);
  }
  assert.match(credentialReason('X', SHAPES['aws'] ?? '') ?? '', /AWS access key/);
  assert.match(credentialReason('X', SHAPES['privateKey'] ?? '') ?? '', /private-key block/);
  assert.match(credentialReason('X', SHAPES['jwt'] ?? '') ?? '', /JWT/);
  assert.match(credentialReason('X', SHAPES['github'] ?? '') ?? '', /GitHub/);
  assert.match(credentialReason('X', SHAPES['slack'] ?? '') ?? '', /Slack/);
  assert.match(credentialReason('X', SHAPES['postgresUrl'] ?? '') ?? '', /connection string with a password/);
  assert.match(credentialReason('X', SHAPES['jdbcPassword'] ?? '') ?? '', /connection string with a password/);
});

test("a name matching Spark's redaction pattern flags a literal, unless it is plainly something else", () => {
  for (const name of [
    'DB_PASSWORD',
    'client_secret',
    'API_TOKEN',
    'AWS_ACCESS_KEY',
    'spark.hadoop.fs.s3a.access.key',
    'spark.authenticate.secret',
  ]) {
    assert.match(credentialReason(name, 'hunter22') ?? '', /redaction pattern/, name);
  }
  for (const value of ['true', 'false', '8080', '/run/secrets/db', 'https://auth.example.com/token', 'abc']) {
    assert.equal(credentialReason('DB_PASSWORD', value), undefined, value);
  }
  assert.equal(credentialReason('LOG_LEVEL', 'debug-verbose-mode'), undefined);
  assert.equal(credentialReason('spark.executor.memory', '4g'), undefined);
});

test('a high-entropy value under a credential-like name is found; an ordinary one is not', () => {
  const random = randomBytes(24).toString('base64');
  assert.equal(isHighEntropy(random), true);
  assert.equal(isHighEntropy('aaaaaaaaaaaaaaaaaaaa'), false);
  assert.equal(isHighEntropy('short1A'), false);
  assert.equal(isHighEntropy('two words but long enough'), false);
  assert.match(credentialReason('STRIPE_API_KEY', random) ?? '', /high-entropy/);
  assert.match(credentialReason('signing.key', random) ?? '', /high-entropy/);
  assert.equal(credentialReason('STRIPE_API_KEY', 'test-mode'), undefined);
  assert.equal(credentialReason('CACHE_DIR', random), undefined, 'not a credential-like name');
});

test('findings name the JSON path of each kind of field, with where a reference replaces the literal', () => {
  const spark = parse({
    name: 'etl',
    kind: 'SPARK_JOB',
    template: {
      envVars: { DB_PASSWORD: 'hunter22', MODE: 'batch', DSN: '${secrets.db_user}:pw-literal' },
      sparkConf: { 'spark.hadoop.fs.s3a.secret.key': SHAPES['github'], 'spark.executor.memory': '4g' },
    },
    run,
  });
  const found = findPlaintextCredentials(spark);
  assert.deepEqual(
    found.map((f) => [f.path, f.referenceAt]),
    [
      ['$.template.envVars.DB_PASSWORD', ['template', 'envVars', 'DB_PASSWORD']],
      [
        '$.template.sparkConf["spark.hadoop.fs.s3a.secret.key"]',
        ['template', 'sparkConf', 'spark.hadoop.fs.s3a.secret.key'],
      ],
    ],
  );
  const withPlaceholder = parse({
    name: 'etl',
    kind: 'COMPUTE',
    envVars: {
      DB_URL: `postgresql://etl:${'${secrets.db_password}'}@db/w`,
      PASSWORD_HINT: `${'${secrets.x}'} ${SHAPES['aws']}`,
    },
    run,
  });
  const [hint, ...rest] = findPlaintextCredentials(withPlaceholder);
  assert.equal(rest.length, 0, 'a password given as a placeholder is no literal credential');
  assert.equal(hint?.path, '$.envVars.PASSWORD_HINT');
  assert.equal(hint?.template, true);
  assert.equal(hint?.referenceAt, undefined, 'text around placeholders cannot be replaced by one reference');

  const storage = parse({
    name: 's3',
    kind: 'STORAGE_CONFIG',
    endpoint: `https://minio:${hex(8)}@minio.internal`,
    accessKey: SHAPES['aws'],
    secretKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  });
  assert.deepEqual(
    findPlaintextCredentials(storage).map((f) => [f.path, f.referenceAt]),
    [
      ['$.endpoint', undefined],
      ['$.accessKey', ['accessKey']],
      ['$.secretKey', ['storageSecret']],
    ],
  );
});

test('warnings name the path and the reason and never echo the value; a path already warned about is not repeated', () => {
  const canary = `canary-${hex(12)}`;
  const spec = parse({
    name: 's3',
    kind: 'STORAGE_CONFIG',
    accessKey: `AKIA${'ABCDEFGHIJKLMNOP'}`,
    secretKey: canary,
  });
  const own = specWarnings(spec);
  const warnings = plaintextCredentialWarnings(spec, 'analytics', own);
  assert.deepEqual(warnings.length, 1, 'the legacy $.secretKey already has its own warning');
  assert.match(
    warnings[0] ?? '',
    /^\$\.accessKey holds a literal that looks like a credential \(it has the shape of an AWS access key id\)/,
  );
  assert.match(warnings[0] ?? '', /latchkey migrate --domain analytics/);
  for (const w of [...own, ...warnings, JSON.stringify(findPlaintextCredentials(spec))]) {
    assert.equal(w.includes(canary), false, 'no value in a warning or a finding');
    assert.equal(w.includes('ABCDEFGHIJKLMNOP'), false, 'no value in a warning or a finding');
  }
  assert.deepEqual(
    plaintextCredentialWarnings(parse({ name: 'c', kind: 'COMPUTE', envVars: { MODE: 'x' }, run }), 'a'),
    [],
  );
});

test('jsonPath writes identifiers after a dot and anything else in brackets', () => {
  assert.equal(jsonPath(['envVars', 'DB_PASSWORD']), '$.envVars.DB_PASSWORD');
  assert.equal(jsonPath(['sparkConf', 'spark.a.b']), '$.sparkConf["spark.a.b"]');
  assert.equal(jsonPath(['envVars', 'A-"B']), '$.envVars["A-\\"B"]');
});
