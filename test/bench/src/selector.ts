/**
 * 5. Selector: every key a domain may reference (its managed keys and two
 * Vault integrations' keys), listed with `latchkey secret selector --json`
 * (all pages), against the slowest of the backend lists made directly.
 */
import pg from 'pg';
import type { BenchContext } from './bench-context.js';
import { vaultIntegration } from './fixture.js';
import { vaultClient, vaultToken } from './floors.js';
import { figure, type Figure } from './report.js';
import { elapsedMs, summarize } from './stats.js';

const DOMAIN = 'selector';
const ROUNDS = 5;

async function timed(rounds: number, fn: () => Promise<unknown>): Promise<number> {
  await fn();
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const start = process.hrtime.bigint();
    await fn();
    samples.push(elapsedMs(start));
  }
  return summarize(samples).p50;
}

export async function selector(b: BenchContext): Promise<Figure[]> {
  const { selectorManaged, selectorVaultKeys } = b.cfg;
  const { sys, vault } = b;
  b.log(
    `selector: seeding ${selectorManaged} managed keys (latchkey secret put) and 2 x ${selectorVaultKeys} Vault keys`,
  );
  await sys.cliOk(['domain', 'create', DOMAIN]);
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < selectorManaged) {
        const i = next++;
        await sys.cliOk(['secret', 'put', `sel_${i}`, '--domain', DOMAIN], `selector-value-${i}`);
      }
    }),
  );
  const integrations = [
    await vaultIntegration(sys, vault, DOMAIN, 'sel-a', 'sel-a', 'token', selectorVaultKeys),
    await vaultIntegration(sys, vault, DOMAIN, 'sel-b', 'sel-b', 'approle', selectorVaultKeys),
  ];
  const expected = selectorManaged + 2 * selectorVaultKeys;

  b.log(`selector: listing ${expected} keys, ${ROUNDS} rounds after a warm-up`);
  const system = await timed(ROUNDS, async () => {
    const out = await sys.cliOk(['secret', 'selector', '--domain', DOMAIN, '--json']);
    const { entries } = JSON.parse(out) as { entries: unknown[] };
    if (entries.length !== expected) throw new Error(`the selector listed ${entries.length} keys, not ${expected}`);
  });

  const pool = new pg.Pool({ connectionString: sys.databaseUrls.catalog, max: 1 });
  const client = vaultClient(vault.url);
  const lists: { what: string; ms: number }[] = [];
  try {
    lists.push({
      what: 'managed keys (SQL)',
      ms: await timed(ROUNDS, () =>
        pool.query('SELECT * FROM secrets WHERE scope = $1 AND deleted_at IS NULL ORDER BY key', [DOMAIN]),
      ),
    });
    for (const integ of integrations) {
      const token = await vaultToken(client, integ.auth);
      lists.push({
        what: `${integ.name} (Vault list)`,
        ms: await timed(ROUNDS, () =>
          client.list(`${integ.mount}/metadata/${integ.base}`, { headers: { 'X-Vault-Token': token } }),
        ),
      });
    }
  } finally {
    await pool.end();
  }
  const slowest = lists.reduce((a, x) => (x.ms > a.ms ? x : a));
  return [
    figure({
      id: 'selector.list_all',
      scenario: '5. selector',
      what: `secret selector --json, all pages, ${expected} keys (p50 of ${ROUNDS})`,
      unit: 'ms',
      value: system,
      baseline: { value: slowest.ms, what: `slowest backend list: ${slowest.what}` },
      goals: [],
      note: `direct lists: ${lists.map((l) => `${l.what} ${l.ms.toFixed(1)} ms`).join(', ')}; includes the CLI's JSON output`,
    }),
  ];
}
