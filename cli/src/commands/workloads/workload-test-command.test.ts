import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DeployerServiceServer, WorkloadTestResult } from '@latchkey/proto';
import { main } from '../../main.js';
import { useFakeServices } from '../../testing/fake-services.js';

const base = (name: string): WorkloadTestResult => ({
  domain: 'analytics',
  workload: name,
  ok: true,
  code: '',
  message: 'the endpoint accepted a request signed with these credentials: bucket lake-raw can be listed',
  endpoint: 'http://127.0.0.1:9000',
  region: 'eu-west-3',
  bucket: 'lake-raw',
  references: [
    {
      refId: 'MANAGED:analytics:lake_secret',
      key: 'lake_secret',
      sourceType: 'MANAGED',
      ok: true,
      scope: 'analytics',
      version: 4,
      shadowedGlobal: false,
      code: '',
      message: '',
      retryable: false,
    },
  ],
  warnings: [],
  httpStatus: 200,
});

const testWorkload: DeployerServiceServer['testWorkload'] = (call, cb) => {
  if (call.request.name === 'lake') return cb(null, base('lake'));
  cb(null, {
    ...base(call.request.name),
    ok: false,
    code: 'storage.no_such_bucket',
    message: 'no such bucket lake-raw (NoSuchBucket): check $.bucket',
    endpoint: '',
    region: 'us-east-1',
    httpStatus: 404,
  });
};

const fake = useFakeServices({ deployer: { testWorkload } });

test('workload test prints ok with the bucket, endpoint, region and the references used; exit 0', async () => {
  const io = await fake.run(['workload', 'test', 'lake', '--domain', 'analytics'], 0);
  const out = io.stdoutLines.join('\n');
  assert.match(
    out,
    /^connection test of lake: ok: bucket lake-raw at http:\/\/127\.0\.0\.1:9000 \(region eu-west-3\) answered HTTP 200; nothing was started/,
  );
  assert.match(out, /lake_secret\s+MANAGED\s+analytics\s+4\s+ok/);
  assert.deepEqual(fake.seen.get('testWorkload'), [{ domain: 'analytics', name: 'lake' }]);
});

test('workload test of a failing connection prints the reason and its code; exit 1; --json is the result', async () => {
  const io = fake.io();
  assert.equal(await main(['workload', 'test', 'gone', '--domain', 'analytics'], io), 1);
  assert.match(
    io.stdoutLines[0] ?? '',
    /^connection test of gone failed: no such bucket lake-raw \(NoSuchBucket\): check \$\.bucket \[storage\.no_such_bucket\]; bucket lake-raw at the AWS endpoint of us-east-1/,
  );
  const json = fake.io();
  assert.equal(await main(['workload', 'test', 'gone', '--domain', 'analytics', '--json'], json), 1);
  const r = JSON.parse(json.stdoutLines.join('\n')) as { ok: boolean; code: string; httpStatus: number };
  assert.deepEqual([r.ok, r.code, r.httpStatus], [false, 'storage.no_such_bucket', 404]);
});

test('workload test without --domain says what is missing', async () => {
  const io = fake.io();
  assert.notEqual(await main(['workload', 'test', 'lake'], io), 0);
  assert.match(io.stderrLines.join('\n'), /--domain/);
});
