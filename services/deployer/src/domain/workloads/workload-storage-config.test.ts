import { test } from 'node:test';
import assert from 'node:assert/strict';
import { referencesOf } from './workload-references.js';
import { renderForRuntime, specWarnings } from './workload-render.js';
import { parseWorkloadSpec } from './workload-spec-parser.js';
import { S3A_SETTINGS } from './workload-spec-types.js';
import { EVERY_KIND, parseInAnalytics, problemsOf, spec, vault, VAULT_ID } from './test/workload-spec-fixture.js';

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
