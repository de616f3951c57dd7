import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTemplate, parseWorkloadSpec, referencesOf, renderValues } from './workload-spec.js';

const spec = (doc: unknown) => JSON.stringify(doc);

test('a workload with both reference forms yields each distinct reference once', () => {
  const w = parseWorkloadSpec(
    spec({
      name: 'etl',
      kind: 'COMPUTE',
      envVars: {
        A: { key: 'db_password', source: { type: 'KUBERNETES', id: 'analytics' } },
        B: 'jdbc:postgresql://db/x?password=${secrets.db_password}&u=${secrets.user}',
        C: 'plain',
      },
      sparkConf: { 'spark.x': '${secrets.user}' },
      run: { command: ['node', 'job.js'] },
    }),
    'analytics',
  );
  const refs = referencesOf(w, 'analytics');
  assert.deepEqual(
    refs.map((r) => r.refId),
    ['MANAGED:analytics:db_password', 'LEGACY:db_password', 'LEGACY:user'],
  );
  const values = new Map([
    ['MANAGED:analytics:db_password', 'p1'],
    ['LEGACY:db_password', 'p2'],
    ['LEGACY:user', 'u'],
  ]);
  assert.deepEqual(renderValues(w.envVars, values), {
    A: 'p1',
    B: 'jdbc:postgresql://db/x?password=p2&u=u',
    C: 'plain',
  });
  assert.deepEqual(renderValues(w.sparkConf, values), { 'spark.x': 'u' });
});

test('$${ escapes a literal placeholder', () => {
  assert.deepEqual(parseTemplate('a $${secrets.X} b'), [{ text: 'a ${secrets.X} b' }]);
});

test('every problem of a bad workload is reported with its JSON path', () => {
  assert.throws(
    () =>
      parseWorkloadSpec(
        spec({
          name: 'bad name!',
          kind: 'NOPE',
          extra: 1,
          envVars: {
            X: { key: 'k', source: { type: 'S3', id: 'a' } },
            Y: '${secrets.bad key}',
            Z: { key: 'k', source: { type: 'MANAGED', id: 'finance' } },
          },
          run: { command: [] },
        }),
        'analytics',
      ),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'workload.invalid');
      for (const path of [
        '$.name',
        '$.kind',
        '$.extra',
        '$.envVars.X.source.type',
        '$.envVars.Y',
        '$.envVars.Z.source.id',
        '$.run.command',
      ]) {
        assert.ok(err.message.includes(path), `${path} missing from: ${err.message}`);
      }
      return true;
    },
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
