import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { connect } from 'nats';
import { generateSealKeyPair, generateSigningKeyPair, seal, signatureProblem, signPayload } from '@latchkey/crypto';
import { unavailable, type LatchkeyError } from '@latchkey/errors';
import { planPayload, planSubject, type PlannedReference, type PlanReply, type PlanRequest } from '@latchkey/events';
import { startTestNats } from '@latchkey/testing';
import { NatsResolutionPlanner } from '../src/adapters/nats-resolution-planner.js';
import { PostgresWorkloadRepo } from '../src/adapters/postgres-workload-repo.js';
import { UNSANDBOXED_WARNING } from '../src/adapters/process-sandbox.js';
import type { ResolutionPlanner, RunSpec, WorkloadRuntime } from '../src/domain/ports.js';
import { migratedPool, usePostgres } from './deployer-test-support.js';
import { testWorkloadService } from './deployer-services.js';

const postgres = usePostgres();

/** Records what it would start; starts nothing. */
class RecordingRuntime implements WorkloadRuntime {
  readonly started: RunSpec[] = [];
  /** What every deployment it starts must carry (the process runtime's, when it runs without isolation). */
  warnings: string[] = [];
  start(spec: RunSpec): Promise<{ pid: number }> {
    this.started.push(spec);
    return Promise.resolve({ pid: 4242 });
  }
  stop(): Promise<boolean> {
    return Promise.resolve(false);
  }
  running(): { deploymentId: string; workloadId: string }[] {
    return [];
  }
  stopAll(): Promise<void> {
    return Promise.resolve();
  }
}

/** Answers with `reply` (or throws `error`); remembers each request. */
class FakePlanner implements ResolutionPlanner {
  readonly asked: { request: PlanRequest; timeoutMs: number }[] = [];
  constructor(
    public reply: PlanReply,
    public error?: LatchkeyError,
  ) {}
  plan(request: PlanRequest, timeoutMs: number): Promise<PlanReply> {
    this.asked.push({ request, timeoutMs });
    return this.error ? Promise.reject(this.error) : Promise.resolve(this.reply);
  }
}

const planned = (refId: string, key: string, extra: Partial<PlannedReference> = {}): PlannedReference => ({
  refId,
  key,
  sourceType: 'MANAGED',
  ok: true,
  scope: 'analytics',
  version: 1,
  shadowedGlobal: false,
  code: '',
  message: '',
  retryable: false,
  ...extra,
});

async function harness(t: TestContext, planner?: ResolutionPlanner) {
  const pool = await migratedPool(t, postgres(), 'deployer_resolution');
  const repo = new PostgresWorkloadRepo(pool);
  const runtime = new RecordingRuntime();
  const keys = generateSealKeyPair();
  const workloads = testWorkloadService(repo, {
    runtime,
    sealKeys: new Map([[keys.kid, keys]]),
    ...(planner ? { planner } : {}),
  });
  return { pool, repo, runtime, keys, workloads };
}

/** The resolver's answer for JOB's three references (each from the scope that answers it), sealed to the deployment. */
async function resolveJob(h: Awaited<ReturnType<typeof harness>>, deploymentId: string, warnings: string[]) {
  const values = {
    'LEGACY:db_password': 'v-1234',
    'MANAGED:analytics:later': 'v-5678',
    'MANAGED:global:forbidden': 'v-9',
  };
  await h.workloads.onResolved(`resolved:${deploymentId}`, {
    deploymentId,
    domain: 'analytics',
    versions: Object.keys(values).map((refId) => ({
      refId,
      key: refId.split(':').at(-1)!,
      sourceType: 'MANAGED',
      // The scope that answered: the one a structured reference names, the domain for ${secrets.KEY}.
      scope: refId.startsWith('MANAGED:') ? refId.split(':')[1]! : 'analytics',
      version: 1,
    })),
    sealed: seal(h.keys, Buffer.from(JSON.stringify(values)), deploymentId),
    warnings,
  });
}

const JOB = {
  name: 'etl',
  kind: 'SPARK_JOB',
  template: {
    envVars: { DB: '${secrets.db_password}', LATER: { key: 'later', source: { type: 'MANAGED', id: 'analytics' } } },
    sparkConf: { 'spark.x': { key: 'forbidden', source: { type: 'MANAGED', id: 'global' } } },
  },
  run: { command: ['true'] },
};

test('apply accepts references to keys that do not exist yet, with a warning for each problem the resolver found', async (t) => {
  const planner = new FakePlanner({
    ok: true,
    references: [
      planned('LEGACY:db_password', 'db_password', { shadowedGlobal: true }),
      planned('MANAGED:analytics:later', 'later', {
        ok: false,
        code: 'secret.not_found',
        message: 'secret later not found in domain analytics',
      }),
      planned('MANAGED:global:forbidden', 'forbidden', {
        ok: false,
        code: 'ras.permission_denied',
        message: 'mia may not secret.use in global scope',
      }),
    ],
    warnings: ['${secrets.db_password} resolves to domain analytics’s db_password, which shadows the global key'],
  });
  const h = await harness(t, planner);
  const { workload, warnings } = await h.workloads.apply('mia', 'analytics', JSON.stringify(JOB));
  assert.equal(workload.name, 'etl');
  assert.deepEqual(warnings, [
    'reference MANAGED:analytics:later does not exist yet (secret later not found in domain analytics): deployments fail until it is created',
    'reference MANAGED:global:forbidden: mia may not secret.use in global scope [ras.permission_denied]: a deployment would fail on it',
    '${secrets.db_password} resolves to domain analytics’s db_password, which shadows the global key',
  ]);
  assert.deepEqual(planner.asked, [
    {
      request: {
        mode: 'check',
        domain: 'analytics',
        workload: 'etl',
        principal: 'mia',
        references: [
          {
            refId: 'LEGACY:db_password',
            key: 'db_password',
            sourceType: 'MANAGED',
            sourceId: 'analytics',
            legacy: true,
          },
          {
            refId: 'MANAGED:analytics:later',
            key: 'later',
            sourceType: 'MANAGED',
            sourceId: 'analytics',
            legacy: false,
          },
          {
            refId: 'MANAGED:global:forbidden',
            key: 'forbidden',
            sourceType: 'MANAGED',
            sourceId: 'global',
            legacy: false,
          },
        ],
      },
      timeoutMs: 5000,
    },
  ]);
});

test('apply succeeds when the existence of keys cannot be checked, and says so', async (t) => {
  const planner = new FakePlanner(
    { ok: true, references: [], warnings: [] },
    unavailable('resolver.unavailable', 'no resolver is running to answer'),
  );
  const h = await harness(t, planner);
  const { warnings } = await h.workloads.apply('mia', 'analytics', JSON.stringify(JOB));
  assert.deepEqual(warnings, [
    'the existence of the referenced keys was not checked (resolver.unavailable: no resolver is running to answer); each deployment resolves them anyway',
  ]);
  // The catalog behind the resolver unreachable: the resolver answers each reference as not checked.
  planner.error = undefined;
  planner.reply = {
    ok: true,
    references: [
      planned('LEGACY:db_password', 'db_password', {
        ok: false,
        retryable: true,
        code: 'catalog.unavailable',
        message: 'the catalog could not be read: grpc.unavailable: connect ECONNREFUSED',
      }),
    ],
    warnings: [],
  };
  const again = await h.workloads.apply('mia', 'analytics', JSON.stringify(JOB));
  assert.deepEqual(again.warnings, [
    '${secrets.db_password} was not checked: the catalog could not be read: grpc.unavailable: connect ECONNREFUSED [catalog.unavailable]',
  ]);
  assert.ok(await h.repo.getWorkload('analytics', 'etl'), 'the workload was stored');
});

test('a dry run reports per reference what would be used, and records, publishes and starts nothing', async (t) => {
  const planner = new FakePlanner({
    ok: true,
    references: [
      planned('LEGACY:db_password', 'db_password', { version: 4 }),
      planned('MANAGED:analytics:later', 'later', { ok: false, code: 'secret.not_found', message: 'not found' }),
    ],
    warnings: [],
  });
  const h = await harness(t, planner);
  await h.workloads.apply('mia', 'analytics', JSON.stringify(JOB));
  planner.asked.length = 0;
  const plan = await h.workloads.dryRun('mia', 'analytics', 'etl');
  assert.equal(plan.ok, false, 'one reference would fail');
  assert.deepEqual(
    plan.references.map((r) => [r.refId, r.ok, r.scope, r.version, r.code]),
    [
      ['LEGACY:db_password', true, 'analytics', 4, ''],
      ['MANAGED:analytics:later', false, 'analytics', 1, 'secret.not_found'],
    ],
  );
  assert.deepEqual(
    planner.asked.map((a) => [a.request.mode, a.timeoutMs]),
    [['dry_run', 30_000]],
  );
  const counts = await h.pool.query<{ deployments: number; outbox: number }>(
    `SELECT (SELECT count(*) FROM deployments)::int AS deployments,
            (SELECT count(*) FROM outbox WHERE subject NOT LIKE 'latchkey.audit.%')::int AS outbox`,
  );
  assert.deepEqual(counts.rows[0], { deployments: 0, outbox: 0 }, 'no deployment and no event');
  assert.deepEqual(h.runtime.started, []);

  // The principal's groups travel with the question: ras decides with them.
  planner.asked.length = 0;
  await h.workloads.dryRun('mia', 'analytics', 'etl', ['data-eng']);
  await h.workloads.apply('mia', 'analytics', JSON.stringify(JOB), ['data-eng']);
  assert.deepEqual(
    planner.asked.map((a) => [a.request.mode, a.request.groups]),
    [
      ['dry_run', ['data-eng']],
      ['check', ['data-eng']],
    ],
  );

  // No run.command: the dry run says deploy would be refused.
  await h.workloads.apply('mia', 'analytics', JSON.stringify({ name: 'bare', kind: 'COMPUTE', envVars: { A: 'x' } }));
  const bare = await h.workloads.dryRun('mia', 'analytics', 'bare');
  assert.deepEqual(bare, {
    domain: 'analytics',
    workload: 'bare',
    ok: false,
    references: [],
    warnings: ['workload bare has no run.command: the process runtime needs one: deploy would be refused'],
  });

  // A storage config without run is a configuration: its dry run is ok and says what deploy does instead; deploy refuses it.
  await h.workloads.apply(
    'mia',
    'analytics',
    JSON.stringify({ name: 'lake', kind: 'STORAGE_CONFIG', bucket: 'lake-raw', accessKey: 'AKIAEXAMPLE' }),
  );
  const lake = await h.workloads.dryRun('mia', 'analytics', 'lake');
  assert.equal(lake.ok, true);
  assert.deepEqual(lake.warnings, [
    'workload lake is a STORAGE_CONFIG: a set of credentials that other workloads and the platform use, not a process, so there is nothing to deploy; check its credentials and endpoint with latchkey workload test lake --domain analytics, and reference its secrets from the workloads that use them (deploy would refuse it)',
  ]);
  await assert.rejects(
    h.workloads.deploy('mia', 'analytics', 'lake'),
    (e: Error & { code?: string }) =>
      e.code === 'workload.no_command' && /is a STORAGE_CONFIG: .*nothing to deploy/.test(e.message),
  );

  // Without a resolver to ask, a dry run is refused rather than reported as fine.
  const lonely = await harness(t);
  await lonely.workloads.apply('mia', 'analytics', JSON.stringify(JOB));
  await assert.rejects(lonely.workloads.dryRun('mia', 'analytics', 'etl'), {
    code: 'resolver.unavailable',
    kind: 'unavailable',
  });
});

test('while a backend is unavailable the deployment says it waits; once resolved the note gives way to the warnings', async (t) => {
  const h = await harness(t);
  await h.workloads.apply('mia', 'analytics', JSON.stringify(JOB));
  const d = await h.workloads.deploy('mia', 'analytics', 'etl');
  const failure = {
    refId: 'LEGACY:db_password',
    key: 'db_password',
    code: 'catalog.unavailable',
    message: 'the catalog could not be read: grpc.unavailable: connect ECONNREFUSED',
  };
  const retrying = (n: number, attempt: number, failures: (typeof failure)[]) =>
    h.workloads.onResolutionRetrying(`retrying:${d.id}:${n}`, {
      deploymentId: d.id,
      domain: 'analytics',
      attempt,
      maxAttempts: 6,
      failures,
    });
  await retrying(1, 2, [failure]);
  // An older attempt arriving late does not overwrite the newer one.
  await retrying(2, 1, []);
  const waiting = await h.workloads.getDeployment('mia', 'analytics', d.id);
  assert.equal(waiting.status, 'resolving');
  assert.equal(waiting.attempts, 2);
  assert.deepEqual(waiting.reasons, [
    'waiting: resolution attempt 2 of 6 found a backend unavailable; retrying with backoff',
    'db_password (LEGACY:db_password): the catalog could not be read: grpc.unavailable: connect ECONNREFUSED [catalog.unavailable]',
  ]);
  const { last } = await h.workloads.get('mia', 'analytics', 'etl');
  assert.deepEqual(last?.reasons, waiting.reasons, 'workload get shows it too');

  await resolveJob(h, d.id, ['resolved on attempt 3 of 6, after waiting for an unavailable backend']);
  const started = await h.workloads.getDeployment('mia', 'analytics', d.id);
  assert.equal(started.status, 'deployed');
  assert.deepEqual(started.reasons, []);
  assert.deepEqual(started.warnings, ['resolved on attempt 3 of 6, after waiting for an unavailable backend']);
  assert.equal(started.attempts, 2);
  // Later retry notes for a deployment that already started change nothing.
  await retrying(3, 5, [failure]);
  assert.deepEqual((await h.workloads.getDeployment('mia', 'analytics', d.id)).reasons, []);
  // The runtime got the template's values, and Spark's redaction pattern.
  assert.deepEqual(h.runtime.started[0]?.env, { DB: 'v-1234', LATER: 'v-5678' });
  assert.deepEqual(h.runtime.started[0]?.sparkConf, {
    'spark.x': 'v-9',
    'spark.redaction.regex': '(?i)secret|password|token|access[.]?key',
  });
});

test("a runtime that runs without isolation puts its warning on every deployment it starts, beside the resolver's", async (t) => {
  const h = await harness(t);
  // As ProcessRuntime does with LATCHKEY_PROCESS_ISOLATION=none (its own test checks the wording).
  h.runtime.warnings = [UNSANDBOXED_WARNING];
  await h.workloads.apply('mia', 'analytics', JSON.stringify(JOB));
  const d = await h.workloads.deploy('mia', 'analytics', 'etl');
  await resolveJob(h, d.id, ['a warning of the resolver']);
  // deploy --wait prints the deployment's warnings; workload get those of the live deployment.
  const started = await h.workloads.getDeployment('mia', 'analytics', d.id);
  assert.equal(started.status, 'deployed');
  assert.deepEqual(started.warnings, ['a warning of the resolver', UNSANDBOXED_WARNING]);
  const { live } = await h.workloads.get('mia', 'analytics', 'etl');
  assert.deepEqual(live?.warnings, started.warnings);
});

test('the NATS planner asks one resolver and reads its reply; no resolver or a silent one is a retryable error', async (t) => {
  const nats = await startTestNats();
  const nc = await connect({ servers: nats.url });
  t.after(async () => {
    await nc.close();
    await nats.stop();
  });
  const signing = generateSigningKeyPair();
  const planner = new NatsResolutionPlanner(nc, (payload) => signPayload(signing, payload));
  const request: PlanRequest = { mode: 'check', domain: 'analytics', workload: 'w', principal: 'mia', references: [] };

  await assert.rejects(planner.plan(request, 2000), (err: LatchkeyError) => {
    assert.equal(err.code, 'resolver.unavailable');
    assert.equal(err.retryable, true);
    assert.match(err.message, /no resolver is running/);
    return true;
  });

  const seen: PlanRequest[] = [];
  const responder = nc.subscribe(planSubject('analytics'), {
    queue: 'resolver-plan',
    callback: (_err, msg) => {
      seen.push(JSON.parse(new TextDecoder().decode(msg.data)) as PlanRequest);
      msg.respond(JSON.stringify({ ok: true, references: [], warnings: ['w1'] } satisfies PlanReply));
    },
  });
  assert.deepEqual(await planner.plan(request, 2000), { ok: true, references: [], warnings: ['w1'] });
  // The request as asked, with a fresh id and time, signed over all of it by the deployers' key.
  assert.equal(seen.length, 1);
  const { requestId, issuedAt, signature, ...asked } = seen[0]!;
  assert.deepEqual(asked, request);
  assert.match(requestId ?? '', /^[0-9a-f-]{36}$/);
  assert.ok(Math.abs(Date.parse(issuedAt ?? '') - Date.now()) < 60_000, 'stamped with the time');
  assert.equal(signatureProblem(new Map([[signing.kid, signing]]), planPayload(seen[0]!), signature), undefined);
  responder.unsubscribe();

  // A resolver that hears the request but never answers.
  const silent = nc.subscribe(planSubject('finance'), { callback: () => undefined });
  t.after(() => silent.unsubscribe());
  await nc.flush();
  await assert.rejects(planner.plan({ ...request, domain: 'finance' }, 300), (err: LatchkeyError) => {
    assert.equal(err.code, 'resolver.timeout');
    assert.match(err.message, /did not answer within 0\.3 s/);
    return true;
  });
});
