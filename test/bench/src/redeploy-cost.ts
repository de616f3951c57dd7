/**
 * 4. Warm redeploy cost: backend reads and Vault logins per redeploy, counted
 * from the emulator's request log (Vault) and from PostgreSQL's per-table
 * statistics of the catalog's value table (managed values), against the
 * same counts for the direct reads.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { RequestLogEntry } from '@latchkey/testing';
import type { BenchContext, DeploySetup } from './bench-context.js';
import { LATENCY_WORKLOAD } from './deploy-latency.js';
import { figure, type Figure } from './report.js';

/**
 * A backend's statistics reach pg_stat_user_tables when it flushes them: at
 * most once a second while busy, and within 10 s of going idle (PostgreSQL
 * 15+, PGSTAT_IDLE_INTERVAL). Waiting this long after the last query makes
 * the counters complete.
 */
const STATS_FLUSH_MS = 11_500;

interface Counts {
  vaultDataReads: number;
  vaultLogins: number;
  vaultOther: number;
  managedRows: number;
}

export function classifyVaultRequests(log: readonly RequestLogEntry[]): Omit<Counts, 'managedRows'> {
  let vaultDataReads = 0;
  let vaultLogins = 0;
  let vaultOther = 0;
  for (const r of log) {
    if (/\/auth\/[^/]+\/login$/.test(r.path)) vaultLogins++;
    else if (r.method === 'GET' && /^\/v1\/.+?\/data\//.test(r.path)) vaultDataReads++;
    else vaultOther++;
  }
  return { vaultDataReads, vaultLogins, vaultOther };
}

/** Rows read from secret_values so far (by index or sequential scan), as PostgreSQL counts them. */
async function managedRowsRead(pool: pg.Pool): Promise<number> {
  await pool.query('SELECT pg_stat_clear_snapshot()');
  const { rows } = await pool.query<{ n: string }>(
    `SELECT coalesce(idx_tup_fetch, 0) + coalesce(seq_tup_read, 0) AS n
     FROM pg_stat_user_tables WHERE relname = 'secret_values'`,
  );
  return Number(rows[0]?.n ?? 0);
}

async function count(b: BenchContext, pool: pg.Pool, rounds: number, round: () => Promise<unknown>): Promise<Counts> {
  await sleep(STATS_FLUSH_MS);
  const before = await managedRowsRead(pool);
  b.vault.clearRequests();
  for (let i = 0; i < rounds; i++) await round();
  const vault = classifyVaultRequests(b.vault.requests());
  await sleep(STATS_FLUSH_MS);
  return { ...vault, managedRows: (await managedRowsRead(pool)) - before };
}

export async function redeployCost(b: BenchContext, d: DeploySetup): Promise<Figure[]> {
  await d.ensure([LATENCY_WORKLOAD]);
  const n = b.cfg.redeploys;
  const refs = d.reads.count;
  const pool = new pg.Pool({ connectionString: b.sys.databaseUrls.catalog, max: 1 });
  try {
    // Warm: one deployment before counting (the AppRole login and connections happen here).
    await d.deployer.deploy(LATENCY_WORKLOAD);
    await d.reads.readAll();
    b.log(`redeploy cost: counting backend requests of ${n} warm redeploys (and of ${n} rounds of direct reads)`);
    const system = await count(b, pool, n, () => d.deployer.deploy(LATENCY_WORKLOAD));
    const floor = await count(b, pool, n, () => d.reads.readAll());
    const reads = (c: Counts) => (c.vaultDataReads + c.managedRows) / n / refs;
    const detail = (c: Counts) =>
      `${c.managedRows / n} managed + ${c.vaultDataReads / n} Vault reads, ${c.vaultLogins / n} logins, ${c.vaultOther / n} other Vault requests per round`;
    const note = `system: ${detail(system)}; direct: ${detail(floor)}; ${refs} distinct references`;
    return [
      figure({
        id: 'redeploy_cost.reads_per_reference',
        scenario: '4. warm redeploy cost',
        what: `backend reads per distinct reference, per redeploy (${n} redeploys)`,
        unit: 'reads',
        value: reads(system),
        baseline: { value: reads(floor), what: 'direct reads' },
        goals: [{ on: 'value', op: '<=', limit: 1 }],
        note,
      }),
      figure({
        id: 'redeploy_cost.vault_logins',
        scenario: '4. warm redeploy cost',
        what: `Vault logins per redeploy (${n} redeploys, one AppRole integration)`,
        unit: 'logins',
        value: system.vaultLogins / n,
        baseline: { value: floor.vaultLogins / n, what: 'direct reads, token cached' },
        goals: [{ on: 'value', op: '<=', limit: 0 }],
        note,
      }),
    ];
  } finally {
    await pool.end();
  }
}
