import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  firstStructuredReference,
  injectionsOf,
  parseTemplate,
  parseWorkloadSpec,
  referencesOf,
  renderForRuntime,
  renderValues,
  S3A_SETTINGS,
  SPARK_REDACTION_KEY,
  SPARK_REDACTION_REGEX,
  specWarnings,
  withSparkRedaction,
  type WorkloadSpec,
} from './workload-spec.js';

const spec = (doc: unknown) => JSON.stringify(doc);
const VAULT_ID = '0f5c6a2e-3d41-4b7a-9e08-6c2d1b4a7f35';
const managed = (key: string, id = 'analytics') => ({ key, source: { type: 'MANAGED', id } });
const vault = (key: string) => ({ key, source: { type: 'VAULT', id: VAULT_ID } });
const run = { command: ['node', 'job.js'] };
const parseInAnalytics = (doc: unknown) => parseWorkloadSpec(spec(doc), 'analytics');

/** One document of every kind, in the seed API's payload shape, using every field the kind has. */
const EVERY_KIND: Record<string, Record<string, unknown>> = {
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

test('a storage config: region, bucket and pathStyle are literals, each checked with what is expected', () => {
  const problems = problemsOf({
    name: 's',
    kind: 'STORAGE_CONFIG',
    region: 'us east',
    bucket: 'Lake_Raw',
    pathStyle: 'yes',
  });
  assert.deepEqual(problems, [
    '$.region: expected an S3 region name such as "us-east-1" or "eu-west-3" (letters, digits, "-", "_", ".")',
    '$.bucket: expected an S3 bucket name: 3-63 lower-case letters, digits, "." or "-", starting and ending with a letter or digit',
    '$.pathStyle: expected true (the bucket goes in the path: MinIO, most self-hosted stores) or false (in the host name)',
  ]);
  assert.deepEqual(problemsOf({ name: 'c', kind: 'COMPUTE', bucket: 'lake' }), [
    `$.bucket: misplaced for a COMPUTE: a COMPUTE workload takes envVars and sparkConf at the top level`,
  ]);
  // Without run: a storage config is a configuration, accepted as such.
  const bare = parseInAnalytics({ name: 'lake', kind: 'STORAGE_CONFIG', bucket: 'lake', pathStyle: false });
  assert.deepEqual(bare, { name: 'lake', kind: 'STORAGE_CONFIG', bucket: 'lake', pathStyle: false });
});

test('a storage config: storageSecret wins over secretKey, which is then neither resolved nor injected', () => {
  const both = parseWorkloadSpec(spec(EVERY_KIND.STORAGE_CONFIG), 'analytics');
  assert.deepEqual(
    referencesOf(both, 'analytics').map((r) => r.refId),
    ['MANAGED:analytics:lake_secret'],
  );
  const rendered = renderForRuntime(both, new Map([['MANAGED:analytics:lake_secret', 'from-the-catalog']]));
  assert.equal(rendered.sparkConf[S3A_SETTINGS.secretKey], 'from-the-catalog');
  assert.deepEqual(rendered.literalSecrets, []);
  assert.deepEqual(specWarnings(both), [
    '$.secretKey is kept only as the fallback: $.storageSecret is used while it is set, and $.secretKey is neither resolved nor injected',
  ]);

  // Without storageSecret the legacy field is the one used, placeholders and all.
  const legacy = parseWorkloadSpec(
    spec({ name: 'lake', kind: 'STORAGE_CONFIG', accessKey: vault('ak'), secretKey: '${secrets.old_secret}' }),
    'analytics',
  );
  assert.deepEqual(
    referencesOf(legacy, 'analytics').map((r) => r.refId),
    [`VAULT:${VAULT_ID}:ak`, 'LEGACY:old_secret'],
  );
  const r2 = renderForRuntime(
    legacy,
    new Map([
      [`VAULT:${VAULT_ID}:ak`, 'access-id'],
      ['LEGACY:old_secret', 'old-value'],
    ]),
  );
  assert.equal(r2.sparkConf[S3A_SETTINGS.accessKey], 'access-id');
  assert.equal(r2.sparkConf[S3A_SETTINGS.secretKey], 'old-value');
  assert.deepEqual(specWarnings(legacy), []);
});

test('a literal secretKey is accepted with a warning, and redacted from output like a resolved value', () => {
  const literal = parseWorkloadSpec(
    spec({ name: 'lake', kind: 'STORAGE_CONFIG', secretKey: 'my-plaintext-secret-value' }),
    'analytics',
  );
  assert.deepEqual(referencesOf(literal, 'analytics'), []);
  const rendered = renderForRuntime(literal, new Map());
  assert.equal(rendered.sparkConf[S3A_SETTINGS.secretKey], 'my-plaintext-secret-value');
  assert.deepEqual(rendered.literalSecrets, ['my-plaintext-secret-value']);
  assert.equal(specWarnings(literal).length, 1);
  assert.match(specWarnings(literal)[0]!, /literal credential.*reference it with \$\.storageSecret/);
});

test('every reference form: structured (managed, alias, global, Vault) and placeholders mixed with text', () => {
  const w = parseInAnalytics({
    name: 'etl',
    kind: 'SPARK_JOB',
    template: {
      envVars: {
        A: { key: 'db_password', source: { type: 'KUBERNETES', id: 'analytics' } },
        B: 'jdbc:postgresql://db/x?password=${secrets.db_password}&u=${secrets.user}',
        C: 'plain',
        D: managed('shared', 'global'),
        E: vault('team_key'),
        F: 'cost: $${secrets.not_a_ref}',
      },
      sparkConf: { 'spark.x': '${secrets.user}' },
    },
  });
  const refs = referencesOf(w, 'analytics');
  assert.deepEqual(refs, [
    {
      refId: 'MANAGED:analytics:db_password',
      key: 'db_password',
      sourceType: 'MANAGED',
      sourceId: 'analytics',
      legacy: false,
    },
    { refId: 'LEGACY:db_password', key: 'db_password', sourceType: 'MANAGED', sourceId: 'analytics', legacy: true },
    { refId: 'LEGACY:user', key: 'user', sourceType: 'MANAGED', sourceId: 'analytics', legacy: true },
    { refId: 'MANAGED:global:shared', key: 'shared', sourceType: 'MANAGED', sourceId: 'global', legacy: false },
    { refId: `VAULT:${VAULT_ID}:team_key`, key: 'team_key', sourceType: 'VAULT', sourceId: VAULT_ID, legacy: false },
  ]);
  const values = new Map([
    ['MANAGED:analytics:db_password', 'p1'],
    ['LEGACY:db_password', 'p2'],
    ['LEGACY:user', 'u'],
    ['MANAGED:global:shared', 'g'],
    [`VAULT:${VAULT_ID}:team_key`, 'v'],
  ]);
  const rendered = renderForRuntime(w, values);
  assert.deepEqual(rendered.env, {
    A: 'p1',
    B: 'jdbc:postgresql://db/x?password=p2&u=u',
    C: 'plain',
    D: 'g',
    E: 'v',
    F: 'cost: ${secrets.not_a_ref}',
  });
  assert.deepEqual(rendered.sparkConf, { 'spark.x': 'u', [SPARK_REDACTION_KEY]: SPARK_REDACTION_REGEX });
  assert.deepEqual(renderValues({ X: '${secrets.user}!' }, values), { X: 'u!' });
});

test('$${ escapes a literal placeholder', () => {
  assert.deepEqual(parseTemplate('a $${secrets.X} b'), [{ text: 'a ${secrets.X} b' }]);
});

test("spark.redaction.regex is Spark's secret pattern, appended to the workload's own and never replacing it", () => {
  assert.equal(SPARK_REDACTION_REGEX, '(?i)secret|password|token|access[.]?key');
  assert.equal(withSparkRedaction(undefined), SPARK_REDACTION_REGEX);
  assert.equal(withSparkRedaction('  '), SPARK_REDACTION_REGEX);
  assert.equal(withSparkRedaction('(?i)credential'), `(?i)credential|${SPARK_REDACTION_REGEX}`);
  assert.equal(withSparkRedaction(`${SPARK_REDACTION_REGEX}|apikey`), `${SPARK_REDACTION_REGEX}|apikey`);

  const own = parseInAnalytics({
    name: 'w',
    kind: 'SPARK_JOB',
    template: { sparkConf: { [SPARK_REDACTION_KEY]: '(?i)my[.]custom|${secrets.extra_pattern}' } },
  });
  const rendered = renderForRuntime(own, new Map([['LEGACY:extra_pattern', 'cred']]));
  assert.equal(rendered.sparkConf[SPARK_REDACTION_KEY], `(?i)my[.]custom|cred|${SPARK_REDACTION_REGEX}`);
  // The pattern still matches what the workload matched, and Spark's secret keys too.
  const asJs = (p: string) => new RegExp(p.replaceAll('(?i)', ''), 'i');
  const pattern = asJs(rendered.sparkConf[SPARK_REDACTION_KEY]!);
  for (const key of ['my.custom', 'cred', 'spark.hadoop.fs.s3a.access.key', 'db.PASSWORD', 'api_token', 'secret'])
    assert.match(key, pattern);

  // Every kind that hands Spark conf to its runtime carries it, even with none of its own.
  for (const kind of ['COMPUTE', 'SPARK_JOB', 'SPARK_STREAMING_JOB', 'SDK_SPARK_JOB', 'STORAGE_CONFIG']) {
    const w = parseWorkloadSpec(spec({ name: 'w', kind }), 'analytics');
    assert.equal(renderForRuntime(w, new Map()).sparkConf[SPARK_REDACTION_KEY], SPARK_REDACTION_REGEX, kind);
  }
  const notebook = parseWorkloadSpec(spec(EVERY_KIND.JUPYTER_CONTAINER), 'analytics');
  assert.deepEqual(renderForRuntime(notebook, new Map([['LEGACY:db_password', 'x']])).sparkConf, {});
});

/** The problems of a refused workload, by JSON path. */
function problemsOf(doc: unknown, domain = 'analytics'): string[] {
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

test('the first structured reference of a spec is named by its JSON path; placeholders and literals are none', () => {
  const ref = { key: 'k', source: { type: 'MANAGED' as const, id: 'global' } };
  const base = { name: 'w', run: { command: ['true'] } };
  assert.equal(
    firstStructuredReference({
      ...base,
      kind: 'COMPUTE',
      envVars: { A: '${secrets.a}', B: 'x' },
      sparkConf: { 'spark.a': '1' },
    }),
    undefined,
  );
  assert.equal(firstStructuredReference({ ...base, kind: 'COMPUTE', envVars: { A: 'x', B: ref } }), '$.envVars.B');
  assert.equal(
    firstStructuredReference({ ...base, kind: 'COMPUTE', sparkConf: { 'spark.x.key': ref } }),
    '$.sparkConf.spark.x.key',
  );
  assert.equal(
    firstStructuredReference({
      ...base,
      kind: 'SPARK_JOB',
      template: { envVars: { A: '${secrets.a}' }, sparkConf: { 's.k': ref } },
    }),
    '$.template.sparkConf.s.k',
  );
  assert.equal(
    firstStructuredReference({ ...base, kind: 'JUPYTER_CONTAINER', config: { envVars: { DB: ref } } }),
    '$.config.envVars.DB',
  );
  assert.equal(firstStructuredReference({ ...base, kind: 'STORAGE_CONFIG', accessKey: ref }), '$.accessKey');
  assert.equal(
    firstStructuredReference({
      ...base,
      kind: 'STORAGE_CONFIG',
      accessKey: 'AKIA',
      secretKey: '${secrets.s}',
      storageSecret: ref,
    }),
    '$.storageSecret',
  );
  assert.equal(firstStructuredReference({ ...base, kind: 'STORAGE_CONFIG', secretKey: '${secrets.s}' }), undefined);
});
