import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { seal, type SealKeyPair } from '@latchkey/crypto';
import { LatchkeyError } from '@latchkey/errors';
import { runtimeReadBinding, type RuntimeReadReply, type RuntimeReadRequest } from '@latchkey/events';
import { createClient, createServer, unary } from '@latchkey/grpc';
import { silentLogger } from '@latchkey/logger';
import { DeployerInternalClient, type DeployerInternalServer, DeployerInternalService } from '@latchkey/proto';
import { waitFor } from '@latchkey/testing';
import { PostgresWorkloadRepo } from '../src/adapters/postgres-workload-repo.js';
import { PostgresWorkloadTokens } from '../src/adapters/postgres-workload-tokens.js';
import { PostgresReferenceIndex } from '../src/adapters/postgres-reference-index.js';
import type { RunHooks, RunSpec, RuntimeValueReader } from '../src/domain/ports.js';
import { ReferenceIndexService } from '../src/domain/reference-index-service.js';
import { RuntimeReadService } from '../src/domain/runtime/runtime-read-service.js';
import { newWorkloadToken } from '../src/domain/runtime/workload-token.js';
import { deployerInternalCallers, deployerInternalHandlers } from '../src/transport/grpc/deployer-internal-handler.js';
import { testWorkloadService } from './deployer-services.js';
import {
  computeSpec,
  internalCallerPrincipals,
  migratedPool,
  newKeys,
  RecordingRuntime,
  resolve,
  usePostgres,
} from './deployer-test-support.js';

const postgres = usePostgres();

const API_URL = 'https://gateway.test:7480';
const CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n';

/** Bearer tokens of the test's gRPC server and who they are; one user pretends to carry the gateway's id. */
const PRINCIPALS = internalCallerPrincipals('service:gateway-runtime');

/** Keeps the RunSpec of every start (the environment the workload would get). */
class CapturingRuntime extends RecordingRuntime {
  readonly specs = new Map<string, RunSpec>();
  override start(spec: RunSpec, hooks: RunHooks): Promise<{ pid: number }> {
    this.specs.set(spec.deploymentId, spec);
    return super.start(spec, hooks);
  }
}

/**
 * The resolver's part, typed to the port: each key's current version and
 * value (as the catalog holds them), sealed for the request as the resolver
 * does; keys in `denied` are refused as ras would.
 */
class FakeResolver implements RuntimeValueReader {
  readonly asked: RuntimeReadRequest[] = [];
  readonly current = new Map<string, { version: number; value: string }>();
  readonly denied = new Set<string>();
  constructor(private readonly keys: SealKeyPair) {}

  read(req: RuntimeReadRequest): Promise<RuntimeReadReply> {
    this.asked.push(req);
    const key = req.reference.key;
    if (this.denied.has(key)) {
      return Promise.resolve({ ok: false, code: 'ras.permission_denied', message: `mia may not use ${key}` });
    }
    const cur = this.current.get(key) ?? { version: 1, value: `value-of-${key}-1` };
    return Promise.resolve({
      ok: true,
      key,
      sourceType: req.reference.sourceType,
      scope: req.domain,
      version: cur.version,
      sealed: seal(this.keys, Buffer.from(cur.value), runtimeReadBinding(req.requestId ?? '')),
    });
  }
}

async function harness(t: TestContext) {
  const pool = await migratedPool(t, postgres(), 'deployer_token');
  const repo = new PostgresWorkloadRepo(pool);
  const runtime = new CapturingRuntime();
  const keys = newKeys();
  const tokens = new PostgresWorkloadTokens(pool);
  const sealKeys = new Map([[keys.kid, keys]]);
  const workloads = testWorkloadService(repo, {
    runtime,
    sealKeys,
    workloadApi: { tokens, url: API_URL, caPem: CA_PEM },
  });
  const resolver = new FakeResolver(keys);
  const reads = new RuntimeReadService({ tokens, reader: resolver, sealKeys, repo, logger: silentLogger });
  const server = createServer({ service: 'deployer', logger: silentLogger, authenticate: (tk) => PRINCIPALS[tk] });
  server.addService<DeployerInternalServer>(
    DeployerInternalService,
    deployerInternalHandlers(new ReferenceIndexService({ index: new PostgresReferenceIndex(pool) }), reads),
    deployerInternalCallers,
  );
  const address = `127.0.0.1:${await server.listen('127.0.0.1', 0)}`;
  const clients: DeployerInternalClient[] = [];
  t.after(async () => {
    for (const c of clients) c.close();
    await server.shutdown();
  });
  const client = (caller = 'gateway-token') => {
    const c = createClient(DeployerInternalClient, address, caller);
    clients.push(c);
    return c;
  };
  const read = (
    token: string,
    key: string,
    source: { sourceType?: string; sourceId?: string } = {},
    caller?: string,
  ) => {
    const c = client(caller);
    return unary(c.readRuntimeSecret.bind(c), { token, key, sourceType: '', sourceId: '', ...source });
  };
  const list = (token: string, caller?: string) => {
    const c = client(caller);
    return unary(c.listRuntimeSecrets.bind(c), { token });
  };
  /** Applies `spec` in analytics as mia, deploys it and resolves it: what its workload got. */
  const deploy = async (spec: Record<string, unknown>) => {
    await workloads.apply('mia', 'analytics', JSON.stringify(spec));
    const d = await workloads.deploy('mia', 'analytics', String(spec.name));
    await resolve({ repo, workloads }, keys, d);
    const started = runtime.specs.get(d.id);
    assert.ok(started, `deployment ${d.id} started`);
    return { deployment: d, spec: started, token: started.env.LATCHKEY_WORKLOAD_TOKEN ?? '' };
  };
  return { pool, repo, runtime, workloads, resolver, read, list, deploy };
}

async function refused(p: Promise<unknown>, code: string): Promise<LatchkeyError> {
  const err = await p.then(
    () => assert.fail(`expected ${code}, got an answer`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof LatchkeyError, `a LatchkeyError, not ${String(err)}`);
  assert.equal(err.code, code, err.message);
  return err;
}

/** Every row of every table of the deployer's database, as text. */
async function allRows(pool: Awaited<ReturnType<typeof harness>>['pool']): Promise<string> {
  const { rows } = await pool.query<{ tablename: string }>(
    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
  );
  const out: string[] = [];
  for (const { tablename } of rows) {
    const r = await pool.query<{ t: string }>(`SELECT t::text AS t FROM "${tablename}" t`);
    out.push(...r.rows.map((x) => x.t));
  }
  return out.join('\n');
}

const ETL = computeSpec('etl', 'analytics', ['db_password'], {
  envVars: {
    DB_PASSWORD: { key: 'db_password', source: { type: 'MANAGED', id: 'analytics' } },
    API: 'Bearer ${secrets.api_token}',
  },
});

test("a deployment's token, in its environment and masked in its output, reads its own references at their current version as the deploying principal", async (t) => {
  const h = await harness(t);
  const { deployment, spec, token } = await h.deploy(ETL);
  assert.match(token, /^lkw_[A-Za-z0-9_-]{43}$/);
  assert.equal(spec.env.LATCHKEY_API_URL, API_URL);
  assert.equal(spec.apiCaPem, CA_PEM);
  // Masked in the workload's output like a resolved value.
  assert.ok(spec.secrets.includes(token));

  // Only its hash is stored: the token itself is in no row.
  const { rows } = await h.pool.query<{ token_hash: Buffer }>(
    'SELECT token_hash FROM workload_tokens WHERE deployment_id = $1',
    [deployment.id],
  );
  assert.deepEqual(rows[0]?.token_hash, createHash('sha256').update(token).digest());
  assert.ok(!(await allRows(h.pool)).includes(token.slice(4)), 'the token is in a row');

  const listed = await h.list(token);
  assert.equal(listed.deploymentId, deployment.id);
  assert.deepEqual(
    listed.references.map((r) => `${r.sourceType}:${r.sourceId}/${r.key}${r.legacy ? ' (legacy)' : ''}`).sort(),
    ['MANAGED:analytics/api_token (legacy)', 'MANAGED:analytics/db_password'],
  );

  const first = await h.read(token, 'db_password');
  assert.deepEqual(first, {
    key: 'db_password',
    sourceType: 'MANAGED',
    scope: 'analytics',
    version: 1,
    value: 'value-of-db_password-1',
  });
  const asked = h.resolver.asked[0];
  assert.equal(asked?.principal, 'mia');
  assert.equal(asked?.deploymentId, deployment.id);
  assert.equal(asked?.domain, 'analytics');
  assert.equal(asked?.reference.key, 'db_password');

  // A rotation is picked up by the next read, without a restart.
  h.resolver.current.set('db_password', { version: 2, value: 'rotated-value-2' });
  const second = await h.read(token, 'db_password');
  assert.equal(second.version, 2);
  assert.equal(second.value, 'rotated-value-2');
  assert.equal(h.runtime.started.length, 1);
  assert.equal((await h.read(token, 'api_token')).value, 'value-of-api_token-1');

  // What ras refuses the deploying principal is refused to the token, with ras's code.
  h.resolver.denied.add('db_password');
  await refused(h.read(token, 'db_password'), 'ras.permission_denied');
});

test('a token is refused every key outside its own spec (another domain too), audited, without asking the resolver', async (t) => {
  const h = await harness(t);
  const { deployment, token } = await h.deploy(ETL);
  const before = h.resolver.asked.length;
  const err = await refused(h.read(token, 'other_secret'), 'runtime.reference_not_in_spec');
  assert.equal(err.kind, 'permission_denied');
  // Its own key, from another domain or a Vault integration: not in its spec either.
  await refused(
    h.read(token, 'db_password', { sourceType: 'MANAGED', sourceId: 'finance' }),
    'runtime.reference_not_in_spec',
  );
  await refused(
    h.read(token, 'db_password', { sourceType: 'VAULT', sourceId: '0f5c6a2e-3d41-4b7a-9e08-6c2d1b4a7f35' }),
    'runtime.reference_not_in_spec',
  );
  await refused(h.read(token, 'db_password', { sourceType: 'DATABASE' }), 'runtime.invalid_source');
  await refused(h.read(token, 'bad key'), 'secret.invalid_key');
  assert.equal(h.resolver.asked.length, before, 'the resolver was asked');

  const { rows } = await h.pool.query<{ data: { actor: string; action: string; outcome: string; requestId: string } }>(
    "SELECT data FROM outbox WHERE subject = 'latchkey.audit.deployer.analytics' ORDER BY seq",
  );
  const denials = rows.map((r) => r.data).filter((r) => r.action === 'secret.runtime_read');
  assert.equal(denials.length, 3);
  for (const r of denials) {
    assert.equal(r.outcome, 'deny');
    assert.equal(r.actor, 'mia');
    assert.equal(r.requestId, deployment.id);
  }
});

test('the token dies when its deployment is replaced, stopped or ends; unknown, forged and altered tokens get the same answer', async (t) => {
  const h = await harness(t);
  const first = await h.deploy(ETL);
  assert.equal((await h.read(first.token, 'db_password')).version, 1);

  // Replaced: the redeploy goes live and the first token is dead at once (before its process is stopped).
  const second = await h.deploy(ETL);
  assert.notEqual(second.token, first.token);
  const replaced = await refused(h.read(first.token, 'db_password'), 'runtime.token_invalid');
  await refused(h.list(first.token), 'runtime.token_invalid');
  assert.equal((await h.read(second.token, 'db_password')).version, 1);

  // Stopped: refused as soon as the stop is asked for.
  await h.workloads.stop('mia', 'analytics', 'etl');
  const stopped = await refused(h.read(second.token, 'db_password'), 'runtime.token_invalid');

  // Ended by itself.
  const job = await h.deploy(computeSpec('job', 'analytics', ['db_password']));
  assert.equal((await h.read(job.token, 'db_password')).version, 1);
  h.runtime.exit(job.deployment.id, 0);
  await waitFor(async () => ((await h.repo.getDeployment(job.deployment.id))?.status === 'exited' ? true : undefined), {
    timeoutMs: 10_000,
    what: 'the job ended',
  });
  const ended = await refused(h.read(job.token, 'db_password'), 'runtime.token_invalid');

  const asked = h.resolver.asked.length;
  const last = job.token.at(-1) === 'A' ? 'B' : 'A';
  const guesses = [
    newWorkloadToken(),
    `lkw_${'A'.repeat(43)}`,
    `${job.token.slice(0, -1)}${last}`,
    job.token.slice(4),
    'not-a-token',
    '',
  ];
  const answers = [replaced, stopped, ended];
  for (const g of guesses) answers.push(await refused(h.read(g, 'db_password'), 'runtime.token_invalid'));
  // One answer for every case: a token cannot be probed.
  for (const a of answers) {
    assert.equal(a.message, replaced.message);
    assert.equal(a.kind, 'unauthenticated');
  }
  assert.equal(h.resolver.asked.length, asked, 'a refused token reached the resolver');
});

test("only the gateway's runtime identity may call the runtime reads (not its serving identity, another service or a person)", async (t) => {
  const h = await harness(t);
  const { token } = await h.deploy(ETL);
  for (const caller of ['gateway-serving-token', 'catalog-token', 'resolver-token', 'admin-token', 'spoof-token']) {
    await refused(h.read(token, 'db_password', {}, caller), 'auth.forbidden_caller');
    await refused(h.list(token, caller), 'auth.forbidden_caller');
  }
  await refused(h.read(token, 'db_password', {}, 'unknown-token'), 'auth.unauthenticated');
  assert.equal(h.resolver.asked.length, 0);
  assert.equal((await h.read(token, 'db_password')).value, 'value-of-db_password-1');
});

test('a key referenced twice is read from the source named, and ambiguous without one', async (t) => {
  const h = await harness(t);
  const { token } = await h.deploy(
    computeSpec('twice', 'analytics', [], {
      envVars: {
        A: { key: 'db_password', source: { type: 'MANAGED', id: 'analytics' } },
        B: 'jdbc:x?password=${secrets.db_password}',
      },
    }),
  );
  const err = await refused(h.read(token, 'db_password'), 'runtime.reference_ambiguous');
  assert.match(
    err.message,
    /MANAGED:analytics, \$\{secrets\.db_password\}|\$\{secrets\.db_password\}, MANAGED:analytics/,
  );
  await h.read(token, 'db_password', { sourceType: 'MANAGED', sourceId: 'analytics' });
  assert.equal(h.resolver.asked.at(-1)?.reference.legacy, false);
});
