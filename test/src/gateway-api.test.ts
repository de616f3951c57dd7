import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { waitFor } from '@latchkey/testing';
import { findLeak } from './canary-scan.js';
import { ok, problemOf, systemGatewayApi, type Answer, type ApiCall } from './gateway-client.js';
import { recordedCli } from './recorded-cli.js';
import { startSystem, type CliResult, type RunningSystem } from './system-harness.js';
import { STAY_UP, workloadScript } from './workload-files.js';

// Issue 15 §1: the seed's workload endpoints over HTTPS, against the real embedded system,
// each call made with the caller's own token (the one latchkey login makes).

let sys: RunningSystem;
let api: ApiCall;
const answers: Answer[] = [];
const cliOutputs: CliResult[] = [];
const tokens = { admin: '', alice: '', mallory: '' };
const canary = (name: string) => `${name}-${randomBytes(12).toString('hex')}`;
const values = { db: canary('db'), warehouse: canary('warehouse'), api: canary('api'), s3: canary('s3') };

before(async () => {
  sys = await startSystem();
  const { ok: cli, outputs } = recordedCli(sys);
  assert.match(sys.output(), /^Console: https:\/\/127\.0\.0\.1:\d+\/$/m);
  // The CLI stays the admin; the API's callers get tokens of their own.
  api = await systemGatewayApi(sys, answers, tokens);
  await Promise.all([cli(['domain', 'create', 'analytics']), cli(['domain', 'create', 'finance'])]);
  await Promise.all([
    cli(['domain', 'grant', 'analytics', '--user', 'alice', '--role', 'member']),
    cli(['domain', 'grant', 'finance', '--user', 'mallory', '--role', 'member']),
    cli(['secret', 'put', 'db_password', '--domain', 'analytics'], values.db),
    cli(['secret', 'put', 'warehouse_path', '--domain', 'analytics'], values.warehouse),
    cli(['secret', 'put', 'api_key', '--domain', 'analytics'], values.api),
    cli(['secret', 'put', 's3_access_key', '--domain', 'analytics'], values.s3),
  ]);
  cliOutputs.push(...outputs);
});
after(async () => {
  await sys?.cleanup();
});

/** The seed's payloads (shared/reference/seeds/001), each with a name (and a command for the process runtime). */
const run = { command: [process.execPath, '-e', 'setInterval(()=>{},1000)'] };
const SEED = [
  {
    path: '/api/v2/domains/analytics/compute',
    kind: 'COMPUTE',
    body: {
      name: 'cluster',
      envVars: { DB_PASSWORD: '${secrets.db_password}' },
      sparkConf: { 'spark.hadoop.fs.s3a.secret.key': '${secrets.warehouse_path}' },
      run,
    },
  },
  ...(
    [
      ['/api/v2/domains/analytics/spark/jobs', 'SPARK_JOB', 'nightly'],
      ['/api/v2/domains/analytics/spark/streaming/jobs', 'SPARK_STREAMING_JOB', 'stream'],
      ['/api/v2/domains/analytics/sdk/spark/jobs', 'SDK_SPARK_JOB', 'sdk'],
    ] as const
  ).map(([path, kind, name]) => ({
    path,
    kind,
    body: {
      name,
      template: {
        envVars: { API_KEY: '${secrets.api_key}' },
        sparkConf: {
          'spark.hadoop.fs.s3a.access.key': { key: 's3_access_key', source: { type: 'KUBERNETES', id: 'analytics' } },
        },
      },
      run,
    },
  })),
  {
    path: '/api/v1/domains/analytics/jupyter-containers',
    kind: 'JUPYTER_CONTAINER',
    body: { name: 'notebook', config: { envVars: { DB_PASSWORD: '${secrets.db_password}' } }, run },
  },
  {
    path: '/api/v1/domains/analytics/storage-configs',
    kind: 'STORAGE_CONFIG',
    body: { name: 'lake', secretKey: 'my-plaintext-secret-value' },
  },
];

test('each of the six seed kinds is applied at its endpoint with the seed payload as it is, read back, and listed', async () => {
  for (const s of SEED) {
    const created = ok(await api('POST', s.path, tokens.alice, s.body), 201);
    assert.equal(created['kind'], s.kind);
    assert.equal(created['appliedBy'], 'alice', 'applied as the caller, not as the gateway');
    const got = ok(await api('GET', `${s.path}/${s.body.name}`, tokens.alice));
    // KUBERNETES is taken as MANAGED (the design's alias), as by the CLI.
    const expected = JSON.parse(JSON.stringify({ ...s.body, kind: s.kind }).replaceAll('"KUBERNETES"', '"MANAGED"'));
    assert.deepEqual(got['spec'], expected, `${s.kind} comes back as it was applied`);
    const list = ok(await api('GET', s.path, tokens.alice)) as { workloads: { name: string; kind: string }[] };
    assert.deepEqual(
      list.workloads.map((w) => [w.name, w.kind]),
      [[s.body.name, s.kind]],
      "a kind's list holds that kind only",
    );
  }
  // The deployer's warning about the seed's literal secretKey reaches the caller.
  const lake = ok(await api('PUT', '/api/v1/domains/analytics/storage-configs/lake', tokens.alice, SEED[5]?.body));
  assert.match(String((lake['warnings'] as string[])[0]), /\$\.secretKey holds a literal credential/);
  const all = ok(await api('GET', '/api/v1/domains/analytics/workloads', tokens.alice)) as {
    workloads: { name: string }[];
  };
  assert.deepEqual(all.workloads.map((w) => w.name).sort(), [
    'cluster',
    'lake',
    'nightly',
    'notebook',
    'sdk',
    'stream',
  ]);
  assert.deepEqual(ok(await api('GET', '/api/v1/workloads?stale=true', tokens.alice)), { workloads: [] });

  // A bad document: the deployer's own message naming the JSON path, as for the CLI.
  const bad = await api('POST', '/api/v2/domains/analytics/spark/jobs', tokens.alice, {
    name: 'misplaced',
    envVars: { A: 'x' },
  });
  assert.equal(bad.status, 400);
  const p = problemOf(bad);
  assert.equal(p.code, 'workload.invalid');
  assert.match(p.detail, /\$\.envVars: misplaced for a SPARK_JOB: put environment variables at \$\.template\.envVars/);
});

test('deploy one through the API, read its logs with the value masked, refuse its delete while it runs, stop it, delete it', async () => {
  const script = workloadScript("console.log('db is', process.env.DB_PASSWORD);", STAY_UP);
  const body = {
    envVars: { DB_PASSWORD: '${secrets.db_password}' },
    run: { command: [process.execPath, '-e', script] },
  };
  ok(await api('PUT', '/api/v2/domains/analytics/compute/printer', tokens.alice, body), 201);
  const plan = ok(await api('POST', '/api/v1/domains/analytics/workloads/printer/dry-run', tokens.alice));
  assert.equal(plan['ok'], true);
  const deployment = ok(await api('POST', '/api/v1/domains/analytics/workloads/printer/deploy', tokens.alice), 202);
  assert.equal(deployment['principal'], 'alice');
  const logs = await waitFor(
    async () => {
      const a = ok(await api('GET', '/api/v1/domains/analytics/workloads/printer/logs', tokens.alice)) as {
        lines?: { line: string }[];
      };
      return a.lines?.find((l) => l.line.startsWith('db is')) ? a : undefined;
    },
    { what: "printer's output through the gateway", timeoutMs: 60_000 },
  );
  const line = logs.lines?.find((l) => l.line.startsWith('db is'))?.line ?? '';
  assert.equal(line.includes(values.db), false);
  assert.match(line, /^db is \[REDACTED\]/);
  const id = String(deployment['id']);
  await waitFor(
    async () =>
      ok(await api('GET', `/api/v1/domains/analytics/deployments/${id}`, tokens.alice))['status'] === 'deployed' ||
      undefined,
    { what: 'the deployment to run', timeoutMs: 60_000 },
  );

  const refused = await api('DELETE', '/api/v2/domains/analytics/compute/printer', tokens.alice);
  assert.equal(refused.status, 409);
  const p = problemOf(refused);
  assert.equal(p.code, 'workload.running');
  assert.match(p.detail, /cannot be deleted while its deployment .* runs: stop it first with latchkey stop printer/);
  ok(await api('GET', '/api/v2/domains/analytics/compute/printer', tokens.alice));

  ok(await api('POST', '/api/v1/domains/analytics/workloads/printer/stop', tokens.alice));
  await waitFor(
    async () =>
      ok(await api('GET', `/api/v1/domains/analytics/deployments/${id}`, tokens.alice))['status'] === 'stopped' ||
      undefined,
    { what: 'the deployment to stop', timeoutMs: 60_000 },
  );
  const deleted = ok(await api('DELETE', '/api/v2/domains/analytics/compute/printer', tokens.alice));
  assert.equal(deleted['name'], 'printer');
  const gone = await api('GET', '/api/v2/domains/analytics/compute/printer', tokens.alice);
  assert.equal(gone.status, 404);
  assert.equal(problemOf(gone).code, 'workload.not_found');
  const audit = (await sys.cli(['audit', '--json', '--limit', '1000', '--domain', 'analytics'])).stdout;
  const records = (JSON.parse(audit) as { records: { actor: string; action: string; resource: string }[] }).records;
  assert.ok(
    records.some((r) => r.actor === 'alice' && r.action === 'workload.delete' && r.resource === 'workload:printer'),
    'the delete is audited with its principal',
  );
});

test('a user of another domain gets the same problem+json for an existing and a missing workload, whatever the verb', async () => {
  const calls: [string, (name: string) => string][] = [
    ['GET', (n) => `/api/v2/domains/analytics/spark/jobs/${n}`],
    ['DELETE', (n) => `/api/v2/domains/analytics/spark/jobs/${n}`],
    ['POST', (n) => `/api/v1/domains/analytics/workloads/${n}/deploy`],
    ['POST', (n) => `/api/v1/domains/analytics/workloads/${n}/dry-run`],
    ['POST', (n) => `/api/v1/domains/analytics/workloads/${n}/stop`],
    ['GET', (n) => `/api/v1/domains/analytics/workloads/${n}/logs`],
  ];
  for (const [method, path] of calls) {
    const existing = await api(method, path('nightly'), tokens.mallory);
    const missing = await api(method, path('ghost-job'), tokens.mallory);
    assert.equal(existing.status, 403, `${method} ${path('nightly')}: ${existing.text}`);
    assert.equal(problemOf(existing).code, 'ras.permission_denied');
    assert.deepEqual(
      problemOf(missing),
      JSON.parse(existing.text.replaceAll('nightly', 'ghost-job')),
      `${method}: the same answer for a missing workload`,
    );
    assert.equal(existing.text.includes('nightly') ? missing.text.includes('ghost-job') : true, true);
  }
  // Writing into the other domain, and listing it, are refused the same way.
  const write = await api('PUT', '/api/v2/domains/analytics/spark/jobs/nightly', tokens.mallory, { template: {} });
  assert.equal(problemOf(write).code, 'ras.permission_denied');
  const list = await api('GET', '/api/v1/domains/analytics/workloads', tokens.mallory);
  assert.equal(problemOf(list).code, 'ras.permission_denied');
  // Her own listing of every domain shows nothing of analytics.
  assert.deepEqual(ok(await api('GET', '/api/v1/workloads', tokens.mallory)), { workloads: [] });
  // Still there, as alice sees it.
  ok(await api('GET', '/api/v2/domains/analytics/spark/jobs/nightly', tokens.alice));
  // No token at all: 401, and a token the services do not accept: 401 from them.
  assert.equal(problemOf(await api('GET', '/api/v1/whoami', undefined)).code, 'auth.unauthenticated');
  const forged = await api('GET', '/api/v1/whoami', 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJl');
  assert.equal(forged.status, 401);
  assert.deepEqual(ok(await api('GET', '/api/v1/whoami', tokens.alice)), {
    principal: 'alice',
    platformAdmin: false,
    groups: [],
  });
});

test('the OpenAPI document lists the seed endpoints, and no answer, log, row or message holds a planted value', async () => {
  const doc = ok(await api('GET', '/api/openapi.json', undefined)) as { paths: Record<string, object> };
  for (const p of [
    '/api/v2/domains/{domain}/compute',
    '/api/v2/domains/{domain}/compute/{name}',
    '/api/v2/domains/{domain}/spark/streaming/jobs',
    '/api/v1/domains/{domain}/jupyter-containers/{name}',
    '/api/v1/domains/{domain}/storage-configs',
    '/api/v1/domains/{domain}/workloads/{name}/logs',
  ]) {
    assert.ok(doc.paths[p], `${p} is documented`);
  }
  assert.ok(answers.length > 40, 'the scan reads the answers');
  const logs = join(sys.home, 'logs');
  const logTexts = await Promise.all(
    (await readdir(logs)).map(async (f) => [f, await readFile(join(logs, f), 'utf8')] as const),
  );
  assert.ok(
    logTexts.some(([f]) => f.startsWith('gateway-')),
    'the gateway logs are read',
  );
  for (const c of Object.values(values)) {
    for (const a of answers) assert.equal(findLeak(a.text, c), undefined, `an API answer holds ${c}: ${a.text}`);
    for (const [f, text] of logTexts) assert.equal(findLeak(text, c), undefined, `service log ${f} holds ${c}`);
    for (const r of cliOutputs) assert.equal(findLeak(r.stdout + r.stderr, c), undefined, `CLI output holds ${c}`);
    assert.equal(findLeak(sys.output(), c), undefined, `latchkey up output holds ${c}`);
  }
});
