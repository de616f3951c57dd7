// Issue 19 §4: a STORAGE_CONFIG is a configuration (applied, dry-run and
// tested without run; deploy says what to do instead), and `latchkey
// workload test` resolves its credentials as a deployment does, then makes
// one SigV4-signed S3 request to its endpoint (the S3 emulator, which checks
// the signature), reporting ok or the precise reason. Through the CLI on one
// whole system.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startS3Emulator, waitFor } from '@latchkey/testing';
import { assertNowhere } from './canary-scan.js';
import { gatewayApi, ok as answered, type Answer } from './gateway-client.js';
import { auditRecords, startRecordedSystem } from './recorded-cli.js';
import { managedRef } from './workload-files.js';

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test('storage configs: applied, dry-run and tested without run; workload test signs one S3 request and names the precise reason; deploy says what to do instead', async (t) => {
  const canary = (name: string) => `${name}-${randomBytes(12).toString('hex')}`;
  const secret = canary('s3-secret');
  const wrongSecret = canary('s3-wrong');
  const accessKeyId = `AKIA${randomBytes(8).toString('hex').toUpperCase()}`;
  const s3 = await startS3Emulator({ region: 'eu-west-3' });
  t.after(() => s3.stop());
  s3.addKey(accessKeyId, secret);
  s3.addBucket('lake-raw', { objects: ['part-0.parquet'] });
  s3.addBucket('finance', { allow: ['AKIASOMEONEELSE'] });

  const { sys, outputs, cli, ok, okPoll } = await startRecordedSystem(t);
  await ok(['domain', 'create', 'analytics']);
  await ok(['secret', 'put', 'lake_access_key', '--domain', 'analytics'], accessKeyId);
  await ok(['secret', 'put', 'lake_secret', '--domain', 'analytics'], secret);
  await ok(['secret', 'put', 'wrong_secret', '--domain', 'analytics'], wrongSecret);
  await ok(['domain', 'grant', 'analytics', '--user', 'mel', '--role', 'member']);

  const apply = async (name: string, fields: Record<string, unknown>) => {
    const doc = {
      name,
      kind: 'STORAGE_CONFIG',
      endpoint: s3.url,
      region: 'eu-west-3',
      bucket: 'lake-raw',
      pathStyle: true,
      accessKey: managedRef('lake_access_key', 'analytics'),
      storageSecret: managedRef('lake_secret', 'analytics'),
      ...fields,
    };
    const file = join(sys.home, `${name}.json`);
    await writeFile(file, JSON.stringify(doc));
    // In this process (the same verb): a process per apply would only add start-up time.
    return okPoll(['workload', 'apply', '-f', file, '--domain', 'analytics']);
  };
  const testOf = (name: string, run = cli) => run(['workload', 'test', name, '--domain', 'analytics']);
  /** The test fails with `reason` (exit 1), having made exactly one request to the emulator. */
  const failsWith = async (name: string, reason: RegExp, code: string) => {
    const before = s3.requests.length;
    const r = await testOf(name);
    assert.equal(r.code, 1, `${name}: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, reason, name);
    assert.match(r.stdout, new RegExp(`\\[${code.replace('.', '\\.')}\\]`), name);
    assert.equal(s3.requests.length - before, 1, `${name}: one signed request`);
  };

  // Applied without run, with no warning that it cannot run.
  const applied = await apply('lake', {});
  assert.match(applied.stdout, /^workload lake applied/);
  assert.doesNotMatch(applied.stdout, /run\.command/);

  // The dry run checks the credentials' references and succeeds; it says what deploy would do.
  const dry = await ok(['deploy', 'lake', '--domain', 'analytics', '--dry-run']);
  assert.match(dry.stdout, /2 reference\(s\) would resolve/);
  assert.match(dry.stdout, /lake_secret\s+MANAGED\s+analytics\s+1\s+ok/);
  assert.match(dry.stdout, /is a STORAGE_CONFIG: .*latchkey workload test lake --domain analytics/);

  // Deploy is refused, with what to do instead; nothing was recorded or started.
  const deploy = await cli(['deploy', 'lake', '--domain', 'analytics']);
  assert.equal(deploy.code, 1);
  assert.match(
    deploy.stderr,
    /workload lake is a STORAGE_CONFIG: a set of credentials that other workloads and the platform use, not a process, so there is nothing to deploy; check its credentials and endpoint with latchkey workload test lake --domain analytics/,
  );
  const got = JSON.parse((await ok(['workload', 'get', 'lake', '--domain', 'analytics', '--json'])).stdout) as {
    lastDeployment?: unknown;
  };
  assert.equal(got.lastDeployment, undefined, 'no deployment recorded');

  // The connection test: ok, from one ListObjectsV2 signed with the resolved access key.
  const before = s3.requests.length;
  const good = await ok(['workload', 'test', 'lake', '--domain', 'analytics', '--json']);
  const result = JSON.parse(good.stdout) as Record<string, unknown> & {
    references: { key: string; version: number }[];
  };
  assert.equal(result.ok, true, good.stdout);
  assert.equal(result.httpStatus, 200);
  assert.deepEqual([result.endpoint, result.region, result.bucket], [s3.url, 'eu-west-3', 'lake-raw']);
  assert.deepEqual(result.references.map((r) => [r.key, r.version]).sort(), [
    ['lake_access_key', 1],
    ['lake_secret', 1],
  ]);
  assert.deepEqual(
    s3.requests.slice(before).map((r) => [r.method, r.bucket, r.accessKeyId, r.outcome]),
    [['GET', 'lake-raw', accessKeyId, 'ok']],
  );
  assert.match((await ok(['workload', 'test', 'lake', '--domain', 'analytics'])).stdout, /connection test of lake: ok/);
  // The same over HTTP, through the gateway, with the caller's own token.
  const m = /^API: (https:\/\/127\.0\.0\.1:\d+)\/api\/ /m.exec(sys.output());
  assert.ok(m?.[1], 'latchkey up printed the API URL');
  const answers: Answer[] = [];
  const api = gatewayApi(m[1], await readFile(join(sys.home, 'tls', 'ca.crt')), answers);
  const adminToken = (await ok(['login', '--user', 'admin', '--print'])).stdout.trim();
  const viaHttp = answered(await api('POST', '/api/v1/domains/analytics/workloads/lake/test', adminToken));
  assert.deepEqual([viaHttp['ok'], viaHttp['bucket'], viaHttp['httpStatus']], [true, 'lake-raw', 200]);

  // Each wrong setting gets its precise reason.
  await apply('wrong-secret', { storageSecret: managedRef('wrong_secret', 'analytics') });
  await failsWith('wrong-secret', /signature does not match: wrong secret key/, 'storage.signature_mismatch');
  await apply('unknown-key', { accessKey: 'AKIANOBODYKNOWS00000' });
  await failsWith('unknown-key', /bad credentials: the access key id is not known/, 'storage.bad_credentials');
  await apply('denied', { bucket: 'finance' });
  await failsWith('denied', /access denied: the credentials may not list bucket finance/, 'storage.access_denied');
  await apply('no-bucket', { bucket: 'no-such-bucket' });
  await failsWith('no-bucket', /no such bucket no-such-bucket/, 'storage.no_such_bucket');
  await apply('other-region', { region: 'us-east-1' });
  await failsWith('other-region', /wrong region: the endpoint expects eu-west-3/, 'storage.wrong_region');
  const port = await closedPort();
  await apply('unreachable', { endpoint: `http://127.0.0.1:${port}` });
  const down = await testOf('unreachable');
  assert.equal(down.code, 1);
  assert.match(down.stdout, new RegExp(`endpoint unreachable: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}`));

  // Not a storage config, or one without a bucket: refused with what to do, no request made.
  const requests = s3.requests.length;
  await ok(
    ['workload', 'apply', '-f', '-', '--domain', 'analytics'],
    JSON.stringify({ name: 'job', kind: 'COMPUTE', run: { command: ['true'] } }),
  );
  const compute = await testOf('job');
  assert.equal(compute.code, 1);
  assert.match(compute.stderr, /workload job is a COMPUTE: only a STORAGE_CONFIG has a connection to test.*--dry-run/);
  await apply('no-bucket-field', { bucket: undefined });
  const incomplete = await testOf('no-bucket-field');
  assert.match(incomplete.stderr, /storage config no-bucket-field cannot be tested: it has no \$\.bucket/);

  // Credentials that do not resolve (here a key that is not there) make no request: the
  // resolver's answer, per reference, is the reason, as for a deployment. The member asks.
  const mel = sys.cliAs((await ok(['login', '--user', 'mel', '--print'])).stdout.trim());
  await ok(['login', '--user', 'admin']);
  await apply('absent', { storageSecret: managedRef('not_there_yet', 'analytics') });
  const absent = await testOf('absent', mel);
  outputs.push(absent);
  assert.equal(absent.code, 1, absent.stdout + absent.stderr);
  assert.match(
    absent.stdout,
    /the credentials did not resolve, so no request was made: not_there_yet: .*\[secret\.not_found\]/,
  );
  // An outsider may not test at all.
  const outsider = sys.cliAs((await ok(['login', '--user', 'mallory', '--print'])).stdout.trim());
  await ok(['login', '--user', 'admin']);
  const refused = await testOf('lake', outsider);
  outputs.push(refused);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /permission_denied/);
  assert.equal(s3.requests.length, requests, 'no request for a refused or unresolved test');

  // The resolver recorded each read as a connection test, the deployer each test's outcome.
  await waitFor(
    async () => {
      const records = await auditRecords(ok, ['--domain', 'analytics']);
      const reads = records.filter(
        (r) => r.service === 'resolver' && /connection test of storage config lake/.test(r.reason),
      );
      const tests = records.filter((r) => r.action === 'workload.test' && r.resource === 'workload:lake');
      const failed = records.filter((r) => r.service === 'resolver' && r.actor === 'mel' && r.outcome === 'error');
      const refused = records.filter(
        (r) => r.actor === 'mallory' && r.action === 'workload.deploy' && r.outcome === 'deny',
      );
      return reads.length >= 2 && tests.some((r) => r.outcome === 'ok') && failed.length >= 1 && refused.length >= 1;
    },
    { what: 'the audit records of the connection tests', timeoutMs: 20_000 },
  );

  // No secret key, wrong or right, anywhere: outputs, HTTP answers, logs, rows, events.
  const http = answers.map((a) => a.text).join('\n');
  for (const v of [secret, wrongSecret, accessKeyId]) assert.ok(!http.includes(v), 'no value in an HTTP answer');
  await assertNowhere(sys, [secret, wrongSecret, accessKeyId], outputs);
});
