import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseWorkloadSpec } from './workload-spec-parser.js';
import { managed, parseInAnalytics, problemsOf, run, spec } from './test/workload-spec-fixture.js';

test('misplaced fields are refused with their path and where the kind takes them, all at once', () => {
  const problems = problemsOf({
    name: 'job',
    kind: 'SPARK_JOB',
    envVars: { A: 'x' },
    sparkConf: { 'spark.a': 'b' },
    config: { envVars: {} },
    secretKey: 'k',
    template: { envVars: { B: 'y' }, image: 'spark:3' },
  });
  assert.deepEqual(problems, [
    '$.envVars: misplaced for a SPARK_JOB: put environment variables at $.template.envVars (a SPARK_JOB takes template.envVars and template.sparkConf)',
    '$.sparkConf: misplaced for a SPARK_JOB: put Spark conf at $.template.sparkConf (a SPARK_JOB takes template.envVars and template.sparkConf)',
    '$.config: misplaced for a SPARK_JOB: a SPARK_JOB takes template.envVars and template.sparkConf',
    '$.secretKey: misplaced for a SPARK_JOB: a SPARK_JOB takes template.envVars and template.sparkConf',
    '$.template.image: unknown field (allowed: envVars, sparkConf); a SPARK_JOB takes template.envVars and template.sparkConf',
  ]);

  const notebook = problemsOf({
    name: 'nb',
    kind: 'JUPYTER_CONTAINER',
    envVars: { A: 'x' },
    sparkConf: {},
    config: { envVars: { A: 'x' }, sparkConf: { 'spark.a': 'b' } },
  });
  assert.deepEqual(notebook, [
    '$.envVars: misplaced for a JUPYTER_CONTAINER: put environment variables at $.config.envVars (a JUPYTER_CONTAINER takes config.envVars only (no Spark conf))',
    '$.sparkConf: a JUPYTER_CONTAINER has no Spark conf: a JUPYTER_CONTAINER takes config.envVars only (no Spark conf)',
    '$.config.sparkConf: a JUPYTER_CONTAINER has no Spark conf: a JUPYTER_CONTAINER takes config.envVars only (no Spark conf)',
  ]);

  const compute = problemsOf({ name: 'c', kind: 'COMPUTE', template: { envVars: {} }, storageSecret: managed('k') });
  assert.deepEqual(
    compute.map((p) => p.split(':')[0]),
    ['$.template', '$.storageSecret'],
  );
  assert.match(compute[0]!, /a COMPUTE workload takes envVars and sparkConf at the top level/);

  const storage = problemsOf({ name: 's', kind: 'STORAGE_CONFIG', envVars: { AWS_SECRET_ACCESS_KEY: 'x' } });
  assert.deepEqual(storage, [
    '$.envVars: a STORAGE_CONFIG has no environment variables: a STORAGE_CONFIG takes endpoint, region, bucket, pathStyle, accessKey (the access key id), secretKey (legacy literal) and storageSecret (a reference), and no envVars or sparkConf',
  ]);
});

test('unknown kinds, unknown fields, malformed references and impossible sources are all reported together', () => {
  const problems = problemsOf({
    name: 'bad name!',
    kind: 'NOTEBOOK',
    extra: 1,
    template: {
      envVars: {
        X: { key: 'k', source: { type: 'S3', id: 'a' } },
        Y: '${secrets.bad key}',
        Z: managed('k', 'finance'),
        V: { key: 'k', source: { type: 'VAULT', id: 'my-vault' } },
        W: { key: 'bad key', source: { type: 'MANAGED', id: 'global', region: 'eu' }, note: 'x' },
        'BAD-NAME': 'x',
        L: ['list'],
        U: 'x ${secrets.unterminated',
      },
    },
    run: { command: [] },
  });
  assert.deepEqual(
    problems.map((p) => p.slice(0, p.indexOf(': '))),
    [
      '$.name',
      '$.kind',
      '$.extra',
      '$.template.envVars.X.source.type',
      '$.template.envVars.Y',
      '$.template.envVars.Z.source.id',
      '$.template.envVars.V.source.id',
      '$.template.envVars.W',
      '$.template.envVars.W.key',
      '$.template.envVars.W.source',
      '$.template.envVars.BAD-NAME',
      '$.template.envVars.L',
      '$.template.envVars.U',
      '$.run.command',
    ],
  );
  const text = problems.join('\n');
  assert.match(text, /\$\.kind: unknown kind "NOTEBOOK": expected one of COMPUTE, SPARK_JOB/);
  assert.match(text, /domain finance is not this workload's domain \(analytics\)/);
  assert.match(text, /"my-vault" is not a Vault integration id: .*latchkey vault list --domain analytics/);
  assert.match(text, /\$\.template\.envVars\.X\.source\.type: expected MANAGED, KUBERNETES or VAULT, got "S3"/);

  const storage = problemsOf({
    name: 's',
    kind: 'STORAGE_CONFIG',
    secretKey: managed('k'),
    storageSecret: '${secrets.k}',
    accessKey: { key: 'k' },
    endpoint: 7,
  });
  assert.deepEqual(
    storage.map((p) => p.slice(0, p.indexOf(': '))),
    ['$.secretKey', '$.storageSecret', '$.accessKey.source', '$.endpoint'],
  );
  assert.match(storage[0]!, /put a structured reference in \$\.storageSecret/);
  assert.match(storage[1]!, /a literal or "\$\{secrets\.KEY\}" goes in \$\.secretKey/);
});

test('a missing kind is named, and the document must be a JSON object', () => {
  assert.deepEqual(problemsOf({ name: 'w' }), [
    '$.kind: missing: expected one of COMPUTE, SPARK_JOB, SPARK_STREAMING_JOB, SDK_SPARK_JOB, JUPYTER_CONTAINER, STORAGE_CONFIG',
  ]);
  assert.throws(() => parseWorkloadSpec('[1]', 'analytics'), { code: 'workload.invalid', message: /JSON object/ });
});

test('a credential pasted into a field a refusal quotes is named by its shape, never quoted', () => {
  const key = 'AKIAQUOTEDCANARY0001';
  const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYW5hcnkifQ.c2lnbmF0dXJlY2FuYXJ5';
  const refused = (doc: unknown, shape: RegExp) =>
    assert.throws(
      () => parseInAnalytics(doc),
      (e: Error) => {
        assert.match(e.message, shape);
        assert.ok(!e.message.includes(key) && !e.message.includes(jwt), e.message);
        return true;
      },
    );
  refused(
    { name: 'w', kind: key },
    /unknown kind a string of 20 characters \(not quoted: it has the shape of an AWS access key id\)/,
  );
  refused(
    { name: 'w', kind: 'COMPUTE', run, envVars: { X: { key: 'x', source: { type: jwt, id: 'analytics' } } } },
    /got a string of 64 characters \(not quoted: it has the shape of a JWT\)/,
  );
});

test('malformed JSON is refused with the parser position', () => {
  assert.throws(() => parseWorkloadSpec('{"name": ', 'analytics'), { code: 'workload.malformed_json' });
});

test('a secret placeholder on the command line is refused', () => {
  assert.throws(
    () => parseWorkloadSpec(spec({ name: 'w', kind: 'COMPUTE', run: { command: ['echo', '${secrets.X}'] } }), 'a'),
    /never go on a command line/,
  );
});

test('a bad image or resource is refused with the path of each problem', () => {
  const problems = problemsOf({
    name: 'w',
    kind: 'COMPUTE',
    run: {
      command: ['x'],
      image: 'spark 3.5',
      resources: { requests: { cpu: 'lots', 'Bad Name': '1' }, limits: 'big', reserve: {} },
    },
  });
  const paths = problems.map((p) => p.slice(0, p.indexOf(': ')));
  assert.deepEqual(paths.sort(), [
    '$.run.image',
    '$.run.resources.limits',
    '$.run.resources.requests.Bad Name',
    '$.run.resources.requests.cpu',
    '$.run.resources.reserve',
  ]);
  assert.ok(problems.some((p) => /quantity such as "500m"/.test(p)));
});
