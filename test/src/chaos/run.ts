import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STREAM_EVENTS } from '@latchkey/events';
import { startVaultEmulator, waitFor } from '@latchkey/testing';
import { connectEmbeddedBus } from '../bus-harness.js';
import { openDatabase } from '../canary-scan.js';
import { startSystem, type RunningSystem } from '../system-harness.js';
import {
  checkCanaries,
  checkEnded,
  checkRunOnce,
  checkStaleMarks,
  checkVersions,
  observe,
  type LiveSample,
} from './checks.js';
import { CHAOS_DOMAIN, ChaosDriver, MANAGED_KEY, Rng } from './driver.js';
import { liveDeployments, natsPids, postgresPid, replicaPid } from './processes.js';
import { buildReport, reportTable, writeReport, type ChaosReport } from './report.js';

/** Every process a round may kill, as latchkey up names it in its restart lines. */
export const VICTIMS = [
  'PostgreSQL',
  'NATS',
  ...['ras', 'catalog', 'resolver', 'deployer', 'gateway'].flatMap((s) => [`service ${s}-1`, `service ${s}-2`]),
];
/** latchkey up gives up on a process after five quick deaths in a row (each within 30 s of its restart). */
const QUICK_MS = 30_000;
const MAX_QUICK_KILLS = 3;
/** Two deployments of one workload may both be alive this long: the new one starts, then the old one stops. */
const HANDOVER_GRACE_MS = 15_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface ChaosOptions {
  rounds: number;
  seed: number;
  /** Where the JSON report goes; default latchkey-chaos-<seed>.json in the temporary folder. */
  out?: string;
  log: (line: string) => void;
}

async function pidOf(home: string, victim: string): Promise<number> {
  if (victim === 'PostgreSQL') return postgresPid(home);
  if (victim === 'NATS') {
    const [pid] = await natsPids(home);
    if (pid === undefined) throw new Error(`no nats-server of ${home}`);
    return pid;
  }
  return replicaPid(home, victim.replace(/^service /, ''));
}

const restarts = (sys: RunningSystem, victim: string) => sys.output().split(`latchkey: ${victim} restarted`).length - 1;

/**
 * `rounds` rounds, each: wait a random moment, SIGKILL one randomly chosen process, wait until latchkey
 * up has restarted it. A process that was killed again soon after each of its last restarts is left out
 * of the draw until it has run 30 s, so that latchkey up never gives up on it (that is its documented limit).
 */
async function killRounds(sys: RunningSystem, rng: Rng, rounds: number, log: (l: string) => void) {
  const kills: Record<string, number> = {};
  const quick = new Map<string, { count: number; restartedAt: number }>();
  for (let round = 1; round <= rounds; round++) {
    await sleep(rng.int(200, 2500));
    const now = Date.now();
    const eligible = VICTIMS.filter((v) => {
      const q = quick.get(v);
      return q === undefined || q.count < MAX_QUICK_KILLS || now - q.restartedAt >= QUICK_MS;
    });
    const victim = rng.pick(eligible);
    const before = restarts(sys, victim);
    const pid = await pidOf(sys.home, victim);
    process.kill(pid, 'SIGKILL');
    kills[victim] = (kills[victim] ?? 0) + 1;
    const q = quick.get(victim);
    const count = q !== undefined && now - q.restartedAt < QUICK_MS ? q.count + 1 : 1;
    await waitFor(() => restarts(sys, victim) > before, {
      what: `latchkey up to restart ${victim} (round ${round})`,
      timeoutMs: 90_000,
    });
    quick.set(victim, { count, restartedAt: Date.now() });
    log(`chaos: round ${round}/${rounds}: killed ${victim} (pid ${pid}); restarted`);
  }
  return kills;
}

/** Unexpected deaths latchkey up reported beyond the kills of the rounds, by process. */
function collateralDeaths(output: string, kills: Record<string, number>): Record<string, number> {
  const deaths: Record<string, number> = {};
  for (const m of output.matchAll(/latchkey: (.+?) stopped unexpectedly \(/g)) deaths[m[1]!] = (deaths[m[1]!] ?? 0) + 1;
  const out: Record<string, number> = {};
  for (const [name, n] of Object.entries(deaths)) if (n > (kills[name] ?? 0)) out[name] = n - (kills[name] ?? 0);
  return out;
}

/** Waits (bounded) until `check` holds; a timeout is not an error here: the checks then count what is off. */
async function settle(what: string, check: () => Promise<boolean>, timeoutMs: number, log: (l: string) => void) {
  try {
    await waitFor(() => check().catch(() => false), { what, timeoutMs });
  } catch {
    log(`chaos: gave up waiting for ${what} after ${timeoutMs / 1000} s`);
  }
}

/** Starts a two-replica system and a team Vault, runs the loop, checks, prints and writes the report. */
export async function runChaos(opts: ChaosOptions): Promise<ChaosReport & { file: string }> {
  const startedAt = Date.now();
  const log = (line: string) => opts.log(`[${((Date.now() - startedAt) / 1000).toFixed(1)} s] ${line}`);
  log(`chaos: seed ${opts.seed} (set CHAOS_SEED=${opts.seed} to replay its choices), ${opts.rounds} rounds`);
  const vault = await startVaultEmulator();
  let sys: RunningSystem | undefined;
  try {
    sys = await startSystem({
      replicas: 2,
      env: {
        LATCHKEY_VAULT_WATCH_INTERVAL_S: '1',
        LATCHKEY_VAULT_ALLOWED_HOSTS: '127.0.0.1',
        LATCHKEY_STOP_CHECK_INTERVAL_S: '2',
        // PostgreSQL is killed here: it runs as a real installation does, with fsync.
        LATCHKEY_PG_DURABLE: '1',
      },
      // Ten services, NATS and PostgreSQL: on a loaded 2-core machine the start alone took 270 s.
      timeoutMs: 420_000,
    });
    const s = sys;
    const driver = new ChaosDriver(s, vault, new Rng(opts.seed ^ 0x5bd1e995));
    await driver.setup();

    const samples: LiveSample[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const ids = await liveDeployments();
        if (ids.size > 1) samples.push({ at: Date.now(), ids: [...ids] });
        await sleep(1000);
      }
    })();
    driver.start(2);
    let kills: Record<string, number> = {};
    try {
      kills = await killRounds(s, new Rng(opts.seed), opts.rounds, log);
    } finally {
      await driver.halt();
    }
    log('chaos: rounds done; waiting for the system to settle');

    const deployer = await openDatabase(s.home, 'latchkey_deployer');
    // A lost connection shows in the checks' queries; as an idle client's event it must not be an uncaught error.
    deployer.on('error', () => undefined);
    const bus = await connectEmbeddedBus(s.home);
    try {
      const count = async (db: string, sql: string) => {
        const c = db === 'latchkey_deployer' ? deployer : await openDatabase(s.home, db);
        try {
          return Number((await c.query<{ n: string }>(sql)).rows[0]?.n ?? -1);
        } finally {
          if (c !== deployer) await c.end();
        }
      };
      const inTransit = () =>
        count('latchkey_deployer', `SELECT count(*) AS n FROM deployments WHERE status IN ('resolving', 'starting')`);
      await settle('every deployment to leave resolving/starting', async () => (await inTransit()) === 0, 120_000, log);
      const jsm = await bus.jetstreamManager();
      const drained = async () => {
        for (const db of ['latchkey_catalog', 'latchkey_ras', 'latchkey_deployer'])
          if ((await count(db, 'SELECT count(*) AS n FROM outbox WHERE published_at IS NULL')) !== 0) return false;
        const c = await jsm.consumers.info(STREAM_EVENTS, 'deployer-secret-changed');
        return c.num_pending === 0 && c.num_ack_pending === 0;
      };
      const vaultLatest = () =>
        Math.max(...driver.record.written.filter((w) => w.source === 'VAULT').map((w) => w.version ?? 0));
      const managedLatest = async () => {
        const listed = JSON.parse((await s.poll(['secret', 'list', '--domain', CHAOS_DOMAIN, '--json'])).stdout) as {
          secrets: { key: string; version: number }[];
        };
        return listed.secrets.find((x) => x.key === MANAGED_KEY)?.version ?? 0;
      };
      /** The Vault watch has seen the latest version, every outbox is out and secret.changed consumed. */
      const caughtUp = async () => {
        const latest = vaultLatest();
        await settle(
          "the catalog's Vault watch to see the latest version",
          async () =>
            (await count(
              'latchkey_catalog',
              `SELECT coalesce(max(version), 0) AS n FROM vault_watch WHERE integration_id = '${driver.integrationId}'`,
            )) >= latest,
          30_000,
          log,
        );
        // Twice: the deployer's stale marks go out through its outbox after it consumed secret.changed.
        await settle('every outbox to be published and secret.changed consumed', drained, 60_000, log);
        await settle('every outbox to be published again', drained, 30_000, log);
      };
      await caughtUp();
      await settle(
        'every live deployment to have printed its line',
        async () =>
          (await count(
            'latchkey_deployer',
            `SELECT count(*) AS n FROM deployments d WHERE d.status = 'deployed' AND NOT EXISTS
               (SELECT 1 FROM deployment_logs l WHERE l.deployment_id = d.id AND l.line LIKE 'ran %')`,
          )) === 0,
        30_000,
        log,
      );
      sampling = false;
      await sampler;
      const finalLive = await liveDeployments();
      const afterRounds = await observe(deployer, bus, driver.integrationId, {
        MANAGED: await managedLatest(),
        VAULT: vaultLatest(),
      });
      // One calm rotation of each: every workload with a live deployment now holds an older version of both.
      if (!(await driver.rotateManaged())) throw new Error('the calm managed rotation after the rounds was refused');
      await driver.rotateVault();
      await caughtUp();
      const observed = await observe(deployer, bus, driver.integrationId, {
        MANAGED: await managedLatest(),
        VAULT: vaultLatest(),
      });
      const marks = [
        checkStaleMarks(afterRounds, 'after the rounds'),
        checkStaleMarks(observed, 'after a calm rotation'),
      ];
      const results = [
        checkEnded(driver.record, observed),
        checkRunOnce(observed, samples, finalLive, HANDOVER_GRACE_MS),
        {
          name: marks[1]!.name,
          checked: marks[1]!.checked,
          violations: [...new Set(marks.flatMap((m) => m.violations))],
        },
        checkVersions(driver.record, observed),
        await checkCanaries(s, driver.record, 'chaos-canary-'),
      ];
      let longest = 0;
      const byId = new Map(observed.deployments.map((d) => [d.id, d.workload]));
      const seen = new Map<string, number>();
      for (const sample of samples) {
        const perWorkload = new Map<string, string[]>();
        for (const id of sample.ids) {
          const w = byId.get(id);
          if (w !== undefined) perWorkload.set(w, [...(perWorkload.get(w) ?? []), id]);
        }
        for (const ids of perWorkload.values()) {
          if (ids.length < 2) continue;
          const key = ids.sort().join(' ');
          const first = seen.get(key) ?? sample.at;
          seen.set(key, first);
          longest = Math.max(longest, (sample.at - first) / 1000);
        }
      }
      const ops = driver.record.operations;
      const report = buildReport(
        {
          seed: opts.seed,
          rounds: opts.rounds,
          seconds: (Date.now() - startedAt) / 1000,
          kills: {
            total: Object.values(kills).reduce((a, b) => a + b, 0),
            byProcess: kills,
            restartsSeen: s.output().split(/latchkey: .* restarted/).length - 1,
            collateral: collateralDeaths(s.output(), kills),
          },
          operations: ops,
          deploys: { accepted: driver.record.accepted.size, recorded: observed.deployments.length },
          rotations: {
            managed: ops['rotate-managed']?.accepted ?? 0,
            vault: ops['rotate-vault']?.accepted ?? 0,
            announcedManaged: new Set(observed.announced.MANAGED).size,
            announcedVault: new Set(observed.announced.VAULT).size,
          },
          longestOverlapS: longest,
        },
        results,
      );
      const file = opts.out ?? join(tmpdir(), `latchkey-chaos-${opts.seed}.json`);
      await writeReport(file, report);
      for (const line of reportTable(report)) log(line);
      log(`chaos: report written to ${file}`);
      return { ...report, file };
    } finally {
      await bus.close().catch(() => undefined);
      await deployer.end().catch(() => undefined);
    }
  } catch (err) {
    if (sys !== undefined) log(sys.output().split('\n').slice(-60).join('\n'));
    throw err;
  } finally {
    await sys?.cleanup();
    await vault.stop();
  }
}

/** CHAOS_SEED (to replay a run) or a fresh one. */
export function chaosSeed(env: NodeJS.ProcessEnv = process.env): number {
  const given = env['CHAOS_SEED'];
  if (given !== undefined && given !== '') {
    const n = Number(given);
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff)
      throw new Error(`CHAOS_SEED must be an integer from 0 to 4294967295 (the seed a run printed), not ${given}`);
    return n;
  }
  return Math.floor(Math.random() * 0xffffffff);
}

/** CHAOS_ROUNDS, or `fallback`. */
export function chaosRounds(fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  const given = env['CHAOS_ROUNDS'];
  if (given === undefined || given === '') return fallback;
  const n = Number(given);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`CHAOS_ROUNDS must be a whole number of rounds (1 or more), not ${given}`);
  return n;
}
