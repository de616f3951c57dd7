import { test } from 'node:test';
import assert from 'node:assert/strict';
import { firstStructuredReference, parseTemplate, referencesOf } from './workload-references.js';
import { renderForRuntime, renderValues, withSparkRedaction } from './workload-render.js';
import { parseWorkloadSpec } from './workload-spec-parser.js';
import { SPARK_REDACTION_KEY, SPARK_REDACTION_REGEX } from './workload-spec-types.js';
import { EVERY_KIND, managed, parseInAnalytics, spec, vault, VAULT_ID } from './test/workload-spec-fixture.js';

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
