import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import type { ApplyWorkloadRequest, Workload } from '@latchkey/proto';
import { SEED_KINDS } from '../src/http/routes/workload-routes.js';
import { fail, jwtLike, startFakeGateway, type FakeGateway } from './gateway-fixture.js';

const auth = { authorization: `Bearer ${jwtLike('alice')}` };
let gw: FakeGateway;
let applied: ApplyWorkloadRequest[] = [];

const workload = (name: string, kind: string, spec: Record<string, unknown> = {}, fresh = true): Workload => ({
  id: `id-${name}`,
  domain: 'analytics',
  name,
  kind,
  specJson: JSON.stringify({ name, kind, ...spec }),
  stale: false,
  staleReasons: [],
  lastDeployment: undefined,
  createdAt: '2026-12-02T00:00:00.000Z',
  updatedAt: fresh ? '2026-12-02T00:00:00.000Z' : '2026-12-02T01:00:00.000Z',
  warnings: [],
  liveDeployment: undefined,
  staleSince: '',
  redeployPolicy: undefined,
  appliedBy: 'alice',
  plaintextCredentials: [],
});

before(async () => {
  gw = await startFakeGateway();
});
after(() => gw.close());
beforeEach(() => {
  gw.calls.length = 0;
  applied = [];
  gw.set({
    deployer: {
      applyWorkload: (call, cb) => {
        applied.push(call.request);
        const doc = JSON.parse(call.request.specJson) as { name: string; kind: string };
        cb(null, workload(doc.name, doc.kind, doc, doc.name !== 'existing'));
      },
    },
  });
});

const problem = (res: { headers: Record<string, unknown>; json(): unknown }) => {
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  return res.json() as { code: string; status: number; detail: string; errors?: { path: string; message: string }[] };
};

test('each seed kind’s endpoint passes the seed payload to the deployer as it came, with the endpoint’s kind filled in', async () => {
  const seed = {
    envVars: { DB_PASSWORD: '${secrets.db_password}', N: 42 },
    sparkConf: {
      'spark.hadoop.fs.s3a.access.key': { key: 's3_access_key', source: { type: 'KUBERNETES', id: 'analytics' } },
    },
  };
  for (const k of SEED_KINDS) {
    const url = k.collection.replace(':domain', 'analytics');
    const res = await gw.app.inject({ method: 'POST', url, headers: auth, payload: { name: 'w', ...seed } });
    assert.equal(res.statusCode, 201, k.kind);
    const last = applied.at(-1);
    assert.equal(last?.domain, 'analytics');
    // Not re-validated, not coerced (42 stays a number), nothing added but the kind.
    assert.deepEqual(JSON.parse(last?.specJson ?? ''), { name: 'w', ...seed, kind: k.kind });
    const body = res.json() as { name: string; kind: string; spec: Record<string, unknown> };
    assert.equal(body.kind, k.kind);
    assert.deepEqual(body.spec['envVars'], seed.envVars, 'the spec is answered as JSON, not a string');
  }
  assert.ok(gw.calls.every((c) => c.authorization[0] === auth.authorization));
});

test('PUT by name takes the name from the path; PUT on the collection and a replace answer 200', async () => {
  const put = await gw.app.inject({
    method: 'PUT',
    url: '/api/v2/domains/analytics/spark/jobs/nightly',
    headers: auth,
    payload: { template: { envVars: { A: '${secrets.api_key}' } } },
  });
  assert.equal(put.statusCode, 201);
  assert.deepEqual(JSON.parse(applied.at(-1)?.specJson ?? ''), {
    template: { envVars: { A: '${secrets.api_key}' } },
    name: 'nightly',
    kind: 'SPARK_JOB',
  });
  const replace = await gw.app.inject({
    method: 'PUT',
    url: '/api/v1/domains/analytics/storage-configs',
    headers: auth,
    payload: { name: 'existing', secretKey: '${secrets.lake}' },
  });
  assert.equal(replace.statusCode, 200);
});

test("apply's answer carries the deployer's warnings and plaintext-credential findings (paths, never values)", async () => {
  const finding = {
    path: '$.envVars.DB_PASSWORD',
    segments: ['envVars', 'DB_PASSWORD'],
    reason: "its name matches Spark's redaction pattern (secret, password, token, access key)",
    referenceAt: ['envVars', 'DB_PASSWORD'],
  };
  const warning = `${finding.path} holds a literal that looks like a credential (${finding.reason})`;
  gw.set({
    deployer: {
      applyWorkload: (call, cb) => {
        const doc = JSON.parse(call.request.specJson) as { name: string; kind: string };
        cb(null, { ...workload(doc.name, doc.kind, doc), warnings: [warning], plaintextCredentials: [finding] });
      },
    },
  });
  const res = await gw.app.inject({
    method: 'POST',
    url: '/api/v2/domains/analytics/compute',
    headers: auth,
    payload: { name: 'w', envVars: { DB_PASSWORD: 'hunter22' } },
  });
  assert.equal(res.statusCode, 201);
  const body = res.json() as { warnings: string[]; plaintextCredentials: unknown[] };
  assert.deepEqual(body.warnings, [warning]);
  assert.deepEqual(body.plaintextCredentials, [finding]);
});

test('a body that names another kind or another name is refused naming $.kind / $.name; a body that is not an object names $', async () => {
  const kind = await gw.app.inject({
    method: 'POST',
    url: '/api/v2/domains/analytics/compute',
    headers: auth,
    payload: { name: 'c', kind: 'SPARK_JOB' },
  });
  assert.equal(kind.statusCode, 400);
  const k = problem(kind);
  assert.equal(k.code, 'workload.kind_mismatch');
  assert.equal(k.errors?.[0]?.path, '$.kind');
  assert.match(k.detail, /this endpoint takes COMPUTE workloads, not "SPARK_JOB"/);
  const name = await gw.app.inject({
    method: 'PUT',
    url: '/api/v2/domains/analytics/compute/c',
    headers: auth,
    payload: { name: 'd' },
  });
  assert.equal(problem(name).code, 'workload.name_mismatch');
  assert.equal(problem(name).errors?.[0]?.path, '$.name');
  const array = await gw.app.inject({
    method: 'POST',
    url: '/api/v2/domains/analytics/compute',
    headers: auth,
    payload: [1, 2],
  });
  assert.equal(array.statusCode, 400);
  assert.deepEqual(problem(array).errors, [{ path: '$', message: 'must be object' }]);
  assert.equal(applied.length, 0, 'none reached the deployer');
});

test('the deployer’s own validation message (naming the JSON path) is the problem’s detail, unchanged', async () => {
  const message = 'the workload has 1 problem(s): $.envVars.X: expected a string, a number or a reference';
  gw.set({ deployer: { applyWorkload: (_c, cb) => fail(cb, status.INVALID_ARGUMENT, 'workload.invalid', message) } });
  const res = await gw.app.inject({
    method: 'POST',
    url: '/api/v2/domains/analytics/compute',
    headers: auth,
    payload: { name: 'c', envVars: { X: [] } },
  });
  assert.equal(res.statusCode, 400);
  assert.deepEqual(
    { code: problem(res).code, detail: problem(res).detail },
    { code: 'workload.invalid', detail: message },
  );
});

test('a kind’s list holds only that kind; one read at another kind’s endpoint is 404 workload.kind_mismatch', async () => {
  gw.set({
    deployer: {
      listWorkloads: (call, cb) => {
        assert.deepEqual(call.request, { domain: 'analytics', stale: true });
        cb(null, { workloads: [workload('a', 'COMPUTE'), workload('b', 'SPARK_JOB')] });
      },
      getWorkload: (_c, cb) => cb(null, workload('b', 'SPARK_JOB')),
    },
  });
  const list = await gw.app.inject({
    method: 'GET',
    url: '/api/v2/domains/analytics/compute?stale=true',
    headers: auth,
  });
  assert.deepEqual(
    (list.json() as { workloads: { name: string }[] }).workloads.map((w) => w.name),
    ['a'],
  );
  const get = await gw.app.inject({ method: 'GET', url: '/api/v2/domains/analytics/compute/b', headers: auth });
  assert.equal(get.statusCode, 404);
  assert.equal(problem(get).code, 'workload.kind_mismatch');
  const right = await gw.app.inject({ method: 'GET', url: '/api/v2/domains/analytics/spark/jobs/b', headers: auth });
  assert.equal(right.statusCode, 200);
});

test('DELETE deletes through the deployer, and its refusal of a running workload is 409 workload.running', async () => {
  let deleted = 0;
  gw.set({
    deployer: {
      getWorkload: (_c, cb) => cb(null, workload('etl', 'SPARK_JOB')),
      deleteWorkload: (call, cb) => {
        deleted++;
        if (deleted === 1) {
          fail(
            cb,
            status.FAILED_PRECONDITION,
            'workload.running',
            'workload etl cannot be deleted while ...: stop it first',
          );
          return;
        }
        assert.deepEqual(call.request, { domain: 'analytics', name: 'etl' });
        cb(null, { workload: workload('etl', 'SPARK_JOB') });
      },
    },
  });
  const url = '/api/v2/domains/analytics/spark/jobs/etl';
  const refused = await gw.app.inject({ method: 'DELETE', url, headers: auth });
  assert.equal(refused.statusCode, 409);
  assert.equal(problem(refused).code, 'workload.running');
  const ok = await gw.app.inject({ method: 'DELETE', url, headers: auth });
  assert.equal(ok.statusCode, 200);
  assert.equal((ok.json() as { name: string }).name, 'etl');
  const wrongKind = await gw.app.inject({
    method: 'DELETE',
    url: '/api/v2/domains/analytics/compute/etl',
    headers: auth,
  });
  assert.equal(wrongKind.statusCode, 404);
  assert.equal(deleted, 2, 'a delete at another kind’s endpoint never reaches DeleteWorkload');
});

test('deploy answers 202; logs pass the deployment, page token and size through', async () => {
  gw.set({
    deployer: {
      deploy: (_c, cb) =>
        cb(null, {
          id: 'dep-1',
          domain: 'analytics',
          workload: 'etl',
          status: 'resolving',
          reasons: [],
          versions: [],
          principal: 'alice',
          createdAt: '',
          updatedAt: '',
          pid: 0,
          exitCode: 0,
          warnings: [],
          attempts: 0,
          trigger: 'deploy',
          runner: '',
          stopRequestedAt: '',
          stopRequestedBy: '',
        }),
      getLogs: (call, cb) => {
        assert.deepEqual(call.request, {
          domain: 'analytics',
          name: 'etl',
          deploymentId: 'dep-1',
          pageToken: 'p',
          pageSize: 10,
        });
        cb(null, {
          deploymentId: 'dep-1',
          lines: [{ seq: 1, stream: 'stdout', line: 'hello ***', at: '' }],
          nextPageToken: 'n',
          more: false,
          ended: true,
          droppedLines: 0,
        });
      },
    },
  });
  const d = await gw.app.inject({
    method: 'POST',
    url: '/api/v1/domains/analytics/workloads/etl/deploy',
    headers: auth,
  });
  assert.equal(d.statusCode, 202);
  assert.equal((d.json() as { id: string }).id, 'dep-1');
  const logs = await gw.app.inject({
    method: 'GET',
    url: '/api/v1/domains/analytics/workloads/etl/logs?deployment=dep-1&pageToken=p&pageSize=10',
    headers: auth,
  });
  assert.equal(logs.statusCode, 200);
  assert.equal((logs.json() as { lines: { line: string }[] }).lines[0]?.line, 'hello ***');
  const bad = await gw.app.inject({
    method: 'GET',
    url: '/api/v1/domains/analytics/workloads/etl/logs?pageSize=0',
    headers: auth,
  });
  assert.deepEqual(problem(bad).errors, [{ path: 'query parameter pageSize', message: 'must be >= 1' }]);
});

test('a body nested thousands of levels deep (found by the fuzz: a 500 from JSON.stringify) is 400 request.too_deep naming where, and reaches no service', async () => {
  for (const deep of [
    `{"name": "w", "envVars": {"A": ${'{"a":'.repeat(8000)}1${'}'.repeat(8000)}}}`,
    `{"name": "w", "envVars": ${'['.repeat(20_000)}${']'.repeat(20_000)}}`,
  ]) {
    const res = await gw.app.inject({
      method: 'POST',
      url: '/api/v2/domains/analytics/compute',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: deep,
    });
    assert.equal(res.statusCode, 400, res.body);
    const p = problem(res);
    assert.equal(p.code, 'request.too_deep');
    assert.match(
      p.detail,
      /^\$\.envVars(\.A\.a\.a|\[0\]\[0\]).*: the request body nests objects and arrays more than 32 levels deep/,
    );
    assert.equal(p.errors?.[0]?.message, 'nested more than 32 levels deep');
  }
  assert.deepEqual(applied, [], 'the deployer was not called');
  // 32 levels are still taken.
  const fine = await gw.app.inject({
    method: 'POST',
    url: '/api/v2/domains/analytics/compute',
    headers: auth,
    payload: { name: 'w', envVars: { A: { key: 'k', source: { type: 'MANAGED', id: 'analytics' } } } },
  });
  assert.equal(fine.statusCode, 201, fine.body);
});
