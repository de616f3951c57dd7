// What the deployer's component tests share: one PostgreSQL server per test
// file, a fresh migrated database per test, and deployer replicas over one
// database, each with a runtime that records what it starts and stops, and a
// stand-in for the resolver.
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { generateSealKeyPair, seal, type SealKeyPair } from '@latchkey/crypto';
import type { Pool } from '@latchkey/db';
import { ensureEventTables, STREAMS, type ResolvedVersion, type SecretChanged } from '@latchkey/events';
import type { Authorizer } from '@latchkey/authz';
import type { Principal } from '@latchkey/grpc';
import { silentLogger } from '@latchkey/logger';
import { ensureStream } from '@latchkey/nats';
import { freshDatabase, startTestBus, type TestBus, type TestPostgres } from '@latchkey/testing';
import { PostgresRedeployRepo } from '../src/adapters/postgres-redeploy-repo.js';
import { PostgresWorkloadRepo, type DeployerSigner } from '../src/adapters/postgres-workload-repo.js';
import { AutoRedeployService } from '../src/domain/staleness/auto-redeploy-service.js';
import type { DeploymentRecord } from '../src/domain/deployment-types.js';
import type { RunHooks, RunSpec, WorkloadRuntime } from '../src/domain/ports.js';
import { WorkloadService } from '../src/domain/workload-service.js';
import { referencesOf } from '../src/domain/workload-spec.js';

export const MIGRATIONS = fileURLToPath(new URL('../../migrations', import.meta.url));

export { usePostgres } from '@latchkey/testing';

/**
 * Bearer tokens of a test's DeployerInternal server and who they are: the
 * services that call it, an admin, and `spoof-token`, a user that carries
 * the service id `spoofs` (a user id is never a service's).
 */
export function internalCallerPrincipals(spoofs: string): Record<string, Principal> {
  return {
    'catalog-token': { id: 'service:catalog', kind: 'service', groups: [] },
    'resolver-token': { id: 'service:resolver', kind: 'service', groups: [] },
    'gateway-token': { id: 'service:gateway-runtime', kind: 'service', groups: [] },
    'gateway-serving-token': { id: 'service:gateway', kind: 'service', groups: [] },
    'admin-token': { id: 'admin', kind: 'user', groups: [] },
    'spoof-token': { id: spoofs, kind: 'user', groups: [] },
  };
}

/** A fresh database with the event tables and the deployer's migrations (or `migrations`), closed when the test ends. */
export async function migratedPool(
  t: TestContext,
  postgres: TestPostgres,
  prefix: string,
  migrations = MIGRATIONS,
): Promise<Pool> {
  const { pool } = await freshDatabase(t, postgres, { prefix, prepare: ensureEventTables, migrations });
  return pool;
}

/** A nats-server of the test's own with the Latchkey streams, and a connection to it; both closed when the test ends. */
export async function testBus(t: TestContext): Promise<TestBus> {
  const bus = await startTestBus(t);
  for (const s of STREAMS) await ensureStream(bus.jsm, s);
  return bus;
}

/** A runtime for tests that start nothing. */
export const NO_RUNTIME: WorkloadRuntime = {
  start: () => Promise.reject(new Error('no workload is started in these tests')),
  stop: () => Promise.resolve(false),
  running: () => [],
  stopAll: () => Promise.resolve(),
};

/** Records every start and stop; a deployment "runs" from its start until it is stopped. */
export class RecordingRuntime implements WorkloadRuntime {
  /** Deployment ids, in the order started. */
  readonly started: string[] = [];
  readonly stopped: { deploymentId: string; reason: string }[] = [];
  private readonly runs = new Map<string, { workloadId: string; hooks: RunHooks }>();
  /** While set, start() waits for it (a start in progress). */
  gate: Promise<void> | undefined;
  /** Deployments whose leftovers reclaim() was asked to stop. */
  readonly reclaimed: string[] = [];
  /** While true, reclaim() fails as an unreachable runtime would. */
  reclaimFails = false;

  reclaim(leftover: DeploymentRecord): Promise<void> {
    if (this.reclaimFails) return Promise.reject(new Error('runtime unreachable'));
    this.reclaimed.push(leftover.id);
    return Promise.resolve();
  }

  async start(spec: RunSpec, hooks: RunHooks): Promise<{ pid: number }> {
    if (this.gate) await this.gate;
    this.started.push(spec.deploymentId);
    this.runs.set(spec.deploymentId, { workloadId: spec.workloadId, hooks });
    return { pid: 1000 + this.started.length };
  }

  stop(deploymentId: string, reason: string): Promise<boolean> {
    const run = this.runs.get(deploymentId);
    if (!run) return Promise.resolve(false);
    this.runs.delete(deploymentId);
    this.stopped.push({ deploymentId, reason });
    run.hooks.onExit(null, 'SIGTERM', reason);
    return Promise.resolve(true);
  }

  /** The workload ended by itself (exit code `code`). */
  exit(deploymentId: string, code: number): void {
    const run = this.runs.get(deploymentId);
    this.runs.delete(deploymentId);
    run?.hooks.onExit(code, null);
  }

  running(): { deploymentId: string; workloadId: string }[] {
    return [...this.runs].map(([deploymentId, r]) => ({ deploymentId, workloadId: r.workloadId }));
  }

  async stopAll(reason: string): Promise<void> {
    for (const id of [...this.runs.keys()]) await this.stop(id, reason);
  }
}

/** A clock the test moves. */
export class TestClock {
  constructor(public current: Date) {}
  readonly now = (): Date => new Date(this.current);
  set(iso: string): void {
    this.current = new Date(iso);
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

export interface Replica {
  name: string;
  pool: Pool;
  repo: PostgresWorkloadRepo;
  runtime: RecordingRuntime;
  workloads: WorkloadService;
  auto: AutoRedeployService;
}

/**
 * One deployer replica over `pool` (give each replica its own pool to have
 * them race as separate processes would).
 */
export function replica(
  pool: Pool,
  opts: {
    name: string;
    keys: SealKeyPair;
    authorizer: Authorizer;
    clock: TestClock;
    cooldownMs?: number;
    scanLimit?: number;
    onEvents?: () => void;
    /** Signs deploying events as main.ts does (default: unsigned). */
    sign?: DeployerSigner;
  },
): Replica {
  const repo = new PostgresWorkloadRepo(pool, opts.sign);
  const runtime = new RecordingRuntime();
  const onEvents = opts.onEvents ?? (() => undefined);
  const workloads = new WorkloadService({
    repo,
    authorizer: opts.authorizer,
    runtime,
    sealKeys: new Map([[opts.keys.kid, opts.keys]]),
    runner: opts.name,
    logger: silentLogger,
    onEvents,
    clock: opts.clock.now,
  });
  const auto = new AutoRedeployService({
    redeploys: new PostgresRedeployRepo(pool, opts.sign),
    workloads: repo,
    authorizer: opts.authorizer,
    logger: silentLogger,
    onEvents,
    cooldownMs: opts.cooldownMs ?? 60_000,
    ...(opts.scanLimit !== undefined ? { scanLimit: opts.scanLimit } : {}),
    clock: opts.clock.now,
  });
  return { name: opts.name, pool, repo, runtime, workloads, auto };
}

export const newKeys = (): SealKeyPair => generateSealKeyPair();

/**
 * What the resolver does for a deployment: every managed reference of its workload
 * answered in `scope` (a Vault one by its integration) with the version `versions[key]` (default 1), the
 * values sealed to the deployers' key; `on` opens them and starts it.
 */
export async function resolve(
  on: Pick<Replica, 'repo' | 'workloads'>,
  keys: SealKeyPair,
  d: DeploymentRecord,
  versions: Record<string, number> = {},
  scope = d.domain,
): Promise<void> {
  const w = await on.repo.getWorkloadById(d.workloadId);
  if (!w) throw new Error(`no workload ${d.workloadId}`);
  const refs = referencesOf(w.spec, w.domain);
  const received: ResolvedVersion[] = refs.map((r) => ({
    refId: r.refId,
    key: r.key,
    sourceType: r.sourceType,
    // A Vault reference is answered from its integration, as the resolver does.
    scope: r.sourceType === 'VAULT' ? r.sourceId : scope,
    version: versions[r.key] ?? 1,
  }));
  const values = Object.fromEntries(refs.map((r) => [r.refId, `value-of-${r.key}-${versions[r.key] ?? 1}`]));
  await on.workloads.onResolved(`resolved:${d.id}`, {
    deploymentId: d.id,
    domain: d.domain,
    versions: received,
    sealed: seal(keys, Buffer.from(JSON.stringify(values)), d.id),
    warnings: [],
  });
}

/** A managed secret of `domain` moved to `version`. */
export const rotated = (domain: string, key: string, version: number): SecretChanged => ({
  scope: domain,
  key,
  source: 'MANAGED',
  version,
  change: 'updated',
  by: 'admin',
});

/** A COMPUTE workload with one managed reference per key in `keys`. */
export function computeSpec(
  name: string,
  domain: string,
  keys: string[],
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    name,
    kind: 'COMPUTE',
    envVars: Object.fromEntries(
      keys.map((k) => [k.toUpperCase(), { key: k, source: { type: 'MANAGED', id: domain } }]),
    ),
    run: { command: ['run-it'] },
    ...extra,
  };
}

/** The deployments of a workload, oldest first, straight from the table. */
export async function deploymentRows(
  pool: Pool,
  workload: string,
): Promise<{ id: string; status: string; trigger: string; principal: string; principal_groups: string[] }[]> {
  const { rows } = await pool.query<{
    id: string;
    status: string;
    trigger: string;
    principal: string;
    principal_groups: string[];
  }>(
    `SELECT id, status, trigger, principal, principal_groups FROM deployments
     WHERE workload_name = $1 ORDER BY created_at, id`,
    [workload],
  );
  return rows;
}
