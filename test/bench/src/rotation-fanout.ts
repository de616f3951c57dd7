/**
 * 3. Rotation fan-out: one managed secret referenced by N workloads; the time
 * from `latchkey secret put` to the last `workload.stale` event on the bus
 * (each is published only after its stale mark committed).
 *
 * Setup is seeded: one workload is applied and deployed through the CLI, then
 * cloned N times with SQL in the deployer's tables (workload, live deployment,
 * the version it received, reference index entries), generically over their
 * columns. The measured part is the real path: catalog put, secret.changed
 * through the catalog's outbox, the deployer's consumer, markStale and its
 * outbox, and the relay publishing every stale event.
 *
 * Baseline, same run: the floor of that work with the same clients: one
 * UPDATE of N rows in a scratch table of the deployer's database, and N
 * JetStream publishes (acknowledged) of one event each.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import type { BenchContext } from './bench-context.js';
import { cpuPerUnit, cpuSnapshot } from './cpu-accounting.js';
import { DeployWatcher, Deployer } from './deploy-driver.js';
import { JetStreamLoop } from './floors.js';
import { figure, type Figure } from './report.js';
import { elapsedMs } from './stats.js';

const DOMAIN = 'fanout';
const ROTATION_GOAL = { dependents: 100_000, ms: 2000 };
/**
 * The deployer replica the clones' live deployments are recorded as running
 * on: one this bench never starts. Recorded on the replica that deployed the
 * template, they would be ended as lost by its next reconcile (the noop
 * runtime runs only the template), 100,000 updates and log lines that are
 * no part of a rotation's work.
 */
const SEEDED_RUNNER = 'bench-seeded-elsewhere';

/** Clones workload `templateId` (and its live deployment) `n` times as `<prefix><i>`, then removes the template. */
async function cloneWorkloads(db: pg.Pool, templateId: string, prefix: string, n: number): Promise<void> {
  const c = await db.connect();
  try {
    await c.query('BEGIN');
    await c.query(
      `CREATE TEMP TABLE fan ON COMMIT DROP AS
       SELECT i, gen_random_uuid() AS wid, gen_random_uuid() AS did, $1 || i AS name FROM generate_series(1, $2::int) i`,
      [prefix, n],
    );
    await c.query(
      `INSERT INTO workloads SELECT (jsonb_populate_record(NULL::workloads, to_jsonb(t) || jsonb_build_object(
         'id', f.wid, 'name', f.name, 'spec', jsonb_set(t.spec, '{name}', to_jsonb(f.name)), 'last_deployment_id', f.did,
         'stale', false, 'stale_reasons', '[]'::jsonb))).*
       FROM workloads t, fan f WHERE t.id = $1`,
      [templateId],
    );
    await c.query(
      `INSERT INTO deployments SELECT (jsonb_populate_record(NULL::deployments, to_jsonb(t) || jsonb_build_object(
         'id', f.did, 'workload_id', f.wid, 'workload_name', f.name, 'runner', $2::text))).*
       FROM deployments t, fan f, workloads w WHERE w.id = $1 AND t.id = w.last_deployment_id`,
      [templateId, SEEDED_RUNNER],
    );
    await c.query(
      `INSERT INTO deployment_versions SELECT (jsonb_populate_record(NULL::deployment_versions,
         to_jsonb(v) || jsonb_build_object('deployment_id', f.did))).*
       FROM deployment_versions v, fan f, workloads w WHERE w.id = $1 AND v.deployment_id = w.last_deployment_id`,
      [templateId],
    );
    await c.query(
      `INSERT INTO workload_refs SELECT (jsonb_populate_record(NULL::workload_refs,
         to_jsonb(r) || jsonb_build_object('workload_id', f.wid))).*
       FROM workload_refs r, fan f WHERE r.workload_id = $1`,
      [templateId],
    );
    await c.query('DELETE FROM workloads WHERE id = $1', [templateId]);
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
  await db.query('VACUUM ANALYZE workloads, deployments, deployment_versions, workload_refs');
}

/** How many times `needle` occurs in `s`. */
export function countOf(s: string, needle: string): number {
  let n = 0;
  for (let i = s.indexOf(needle); i !== -1; i = s.indexOf(needle, i + needle.length)) n++;
  return n;
}

/**
 * Counts the workloads named by `workload.stale` events for one key (many
 * per event) and notes when the first event and the one naming the n-th
 * workload arrived.
 */
function staleCounter(b: BenchContext, key: string, n: number) {
  const changedKey = new RegExp(`"key":\\s*${JSON.stringify(key).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`);
  let seen = 0;
  let events = 0;
  let first: bigint | undefined;
  let resolveAll!: (at: bigint) => void;
  const all = new Promise<bigint>((r) => (resolveAll = r));
  const sub = b.nc.subscribe(`latchkey.workload.stale.${DOMAIN}`, {
    callback: (err, msg) => {
      if (err) return;
      // Counted without parsing (an event of 1,000 workloads is ~150 KB, and this
      // process shares the 2 cores with the system it measures): each named
      // workload is one "workloadId" member; the key is matched in `changed`.
      const body = msg.string();
      if (!changedKey.test(body)) return;
      const at = process.hrtime.bigint();
      first ??= at;
      events++;
      const before = seen;
      seen += countOf(body, '"workloadId"');
      if (before < n && seen >= n) resolveAll(at);
    },
  });
  return { all, first: () => first, seen: () => seen, events: () => events, stop: () => sub.unsubscribe() };
}

async function floor(db: pg.Pool, bus: JetStreamLoop, n: number): Promise<{ updateMs: number; publishMs: number }> {
  await db.query('DROP TABLE IF EXISTS bench_floor');
  await db.query(
    `CREATE TABLE bench_floor AS SELECT gen_random_uuid() AS id, false AS stale, '[]'::jsonb AS reasons
     FROM generate_series(1, $1::int)`,
    [n],
  );
  await db.query('ALTER TABLE bench_floor ADD PRIMARY KEY (id)');
  await db.query('VACUUM ANALYZE bench_floor');
  const start = process.hrtime.bigint();
  await db.query(
    `UPDATE bench_floor SET stale = true, reasons = reasons || jsonb_build_array(jsonb_build_object('key', 'k', 'v', 2))`,
  );
  const updateMs = elapsedMs(start);
  const publishMs = await bus.publishMany(n, 1000);
  await db.query('DROP TABLE bench_floor');
  return { updateMs, publishMs };
}

export async function rotationFanout(b: BenchContext): Promise<Figure[]> {
  const { sys } = b;
  const db = new pg.Pool({ connectionString: sys.databaseUrls.deployer, max: 2 });
  const bus = await JetStreamLoop.open(b.nc, 'BENCH_FANOUT_FLOOR');
  const watcher = new DeployWatcher(b.nc, DOMAIN);
  const deployer = new Deployer(await sys.clients(), watcher, DOMAIN);
  const figures: Figure[] = [];
  const times = new Map<number, number>();
  try {
    await sys.cliOk(['domain', 'create', DOMAIN]);
    for (const n of b.cfg.fanout) {
      const key = `rotated_${n}`;
      const template = `fan-${n}-template`;
      await sys.cliOk(['secret', 'put', key, '--domain', DOMAIN], `rotation-value-${n}-v1`);
      const file = join(sys.home, `${template}.json`);
      await writeFile(
        file,
        JSON.stringify({
          name: template,
          kind: 'COMPUTE',
          envVars: { ROTATED: { key, source: { type: 'MANAGED', id: DOMAIN } } },
          run: { command: ['true'] },
        }),
      );
      await sys.cliOk(['workload', 'apply', '-f', file, '--domain', DOMAIN]);
      await deployer.deploy(template);
      const { rows } = await db.query<{ id: string }>('SELECT id FROM workloads WHERE domain = $1 AND name = $2', [
        DOMAIN,
        template,
      ]);
      b.log(`rotation fan-out: seeding ${n} dependents of ${key} (SQL clones of a deployed workload)`);
      await cloneWorkloads(db, rows[0]!.id, `fan-${n}-`, n);

      b.log(`rotation fan-out: secret put ${key} with ${n} dependents`);
      const changed = new Promise<bigint>((resolve) => {
        const sub = b.nc.subscribe(`latchkey.secret.changed.${DOMAIN}`, {
          callback: (err, msg) => {
            if (err || !msg.string().includes(`"${key}"`)) return;
            sub.unsubscribe();
            resolve(process.hrtime.bigint());
          },
        });
      });
      const counter = staleCounter(b, key, n);
      const cpuBefore = await cpuSnapshot(sys);
      const start = process.hrtime.bigint();
      await sys.cliOk(['secret', 'put', key, '--domain', DOMAIN], `rotation-value-${n}-v2`);
      const putMs = elapsedMs(start);
      const timeoutMs = 60_000 + n;
      const last = await Promise.race([
        counter.all,
        new Promise<never>((_, reject) =>
          setTimeout(
            () => reject(new Error(`only ${counter.seen()} of ${n} stale workloads named after ${timeoutMs} ms`)),
            timeoutMs,
          ).unref(),
        ),
      ]);
      counter.stop();
      const cpu = cpuPerUnit(cpuBefore, await cpuSnapshot(sys), 1);
      const ms = Number(last - start) / 1e6;
      const since = (t: bigint | undefined) => (t === undefined ? NaN : Number(t - start) / 1e6);
      times.set(n, ms);

      b.log(`rotation fan-out baseline: UPDATE of ${n} rows + ${n} JetStream publishes`);
      const f = await floor(db, bus, n);
      const floorMs = f.updateMs + f.publishMs;
      const note =
        `put returned at ${putMs.toFixed(0)} ms, secret.changed seen at ${since(await changed).toFixed(0)} ms, ` +
        `first stale event (marks committed) at ${since(counter.first()).toFixed(0)} ms, last at ${ms.toFixed(0)} ms ` +
        `(${counter.events()} events naming ${counter.seen()} workloads); CPU ms for the rotation: ${cpu}; ` +
        `baseline: UPDATE ${f.updateMs.toFixed(0)} ms + publishes ${f.publishMs.toFixed(0)} ms (${((n / f.publishMs) * 1000).toFixed(0)}/s)`;
      figures.push(
        figure({
          id: `rotation_fanout.${n}`,
          scenario: '3. rotation fan-out',
          what: `${n.toLocaleString('en-US')} dependents: put -> last stale event`,
          unit: 'ms',
          value: ms,
          baseline: { value: floorMs, what: `UPDATE ${n} rows + ${n} publishes` },
          goals: n === ROTATION_GOAL.dependents ? [{ on: 'value', op: '<=', limit: ROTATION_GOAL.ms }] : [],
          note,
        }),
      );
      const tenth = times.get(n / 10);
      if (tenth !== undefined) {
        figures.push(
          figure({
            id: `rotation_fanout.scaling_${n / 10}_to_${n}`,
            scenario: '3. rotation fan-out',
            what: `${n.toLocaleString('en-US')} vs ${(n / 10).toLocaleString('en-US')} dependents (10x)`,
            unit: 'ms',
            value: ms,
            baseline: { value: tenth, what: `time at ${(n / 10).toLocaleString('en-US')}` },
            goals: [{ on: 'ratio', op: '<=', limit: 11 }],
          }),
        );
      }
    }
  } finally {
    watcher.close();
    await bus.close();
    await db.end();
  }
  return figures;
}
