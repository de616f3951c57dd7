import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { connectEmbeddedBus } from './bus-harness.js';
import { clusterDir } from './system-harness.js';

/** The forms a leaked value could take. */
export function canaryForms(canary: string): string[] {
  const b = Buffer.from(canary, 'utf8');
  return [canary, b.toString('base64').replace(/=+$/, ''), b.toString('hex')];
}

export function findLeak(text: string, canary: string): string | undefined {
  return canaryForms(canary).find((f) => text.includes(f));
}

/** Every file under `dir`, raw bytes, searched for the canary (latin1 keeps bytes as they are). */
export async function scanFiles(dir: string, canary: string): Promise<string[]> {
  const hits: string[] = [];
  const walk = async (d: string) => {
    for (const name of await readdir(d).catch(() => [] as string[])) {
      const p = join(d, name);
      const st = await stat(p).catch(() => undefined);
      if (!st) continue;
      if (st.isDirectory()) await walk(p);
      else if (st.isFile()) {
        const content = await readFile(p).catch(() => undefined);
        if (content && findLeak(content.toString('latin1'), canary)) hits.push(p);
      }
    }
  };
  await walk(dir);
  return hits;
}

/** A connection to one database of a running embedded system (`latchkey_deployer`, ...). */
export async function openDatabase(home: string, database: string): Promise<pg.Client> {
  const pid = await readFile(join(clusterDir(home), 'postmaster.pid'), 'utf8');
  const port = Number(pid.split('\n')[3]);
  const password = (await readFile(join(home, 'postgres-password'), 'utf8')).trim();
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'latchkey', password, database });
  await client.connect();
  return client;
}

/** Dumps every row of every table of each database as JSON text. */
export async function dumpDatabases(home: string, databases: string[]): Promise<{ text: string; rows: number }> {
  let text = '';
  let rows = 0;
  for (const db of databases) {
    const client = await openDatabase(home, db);
    try {
      const tables = await client.query<{ tablename: string }>(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
      );
      for (const { tablename } of tables.rows) {
        const r = await client.query(`SELECT row_to_json(t)::text AS j FROM "${tablename}" t`);
        rows += r.rowCount ?? 0;
        for (const row of r.rows as { j: string }[]) text += `${db}.${tablename} ${row.j}\n`;
      }
    } finally {
      await client.end();
    }
  }
  return { text, rows };
}

/** Reads every message still in every JetStream stream of the embedded system on `home`, headers and body. */
export async function dumpStreams(home: string): Promise<{ text: string; messages: number }> {
  const nc = await connectEmbeddedBus(home);
  let text = '';
  let messages = 0;
  try {
    const jsm = await nc.jetstreamManager();
    for await (const si of jsm.streams.list()) {
      for (let seq = si.state.first_seq; seq <= si.state.last_seq && si.state.messages > 0; seq++) {
        const m = await jsm.streams.getMessage(si.config.name, { seq }).catch(() => undefined);
        if (!m) continue;
        messages++;
        text += `${si.config.name} ${m.subject} ${JSON.stringify(m.header ? [...m.header.keys()].map((k) => [k, m.header.get(k)]) : [])} ${Buffer.from(m.data).toString('latin1')}\n`;
      }
    }
  } finally {
    await nc.close();
  }
  return { text, messages };
}

/**
 * Asserts that none of `canaries` (raw, base64 or hex) is in any service log,
 * database row, PostgreSQL or JetStream file, JetStream message, CLI output or
 * `latchkey up` output of a running embedded system.
 */
export async function assertNowhere(
  sys: { home: string; output(): string },
  canaries: string[],
  cliOutputs: { stdout: string; stderr: string }[],
): Promise<void> {
  const logs = join(sys.home, 'logs');
  const logTexts = await Promise.all(
    (await readdir(logs)).map(async (f) => [f, await readFile(join(logs, f), 'utf8')] as const),
  );
  const dump = await dumpDatabases(sys.home, ['latchkey_catalog', 'latchkey_ras', 'latchkey_deployer']);
  assert.ok(dump.rows > 10, 'the dump read rows');
  const bus = await dumpStreams(sys.home);
  assert.ok(bus.messages >= 6, 'the stream dump read messages');
  for (const c of canaries) {
    for (const [f, text] of logTexts) assert.equal(findLeak(text, c), undefined, `service log ${f} holds ${c}`);
    assert.equal(findLeak(dump.text, c), undefined, `a database row holds ${c}`);
    assert.equal(findLeak(bus.text, c), undefined, `a JetStream message holds ${c}`);
    assert.deepEqual(await scanFiles(join(sys.home, 'nats'), c), [], `JetStream files hold ${c}`);
    assert.deepEqual(await scanFiles(clusterDir(sys.home), c), [], `PostgreSQL files hold ${c}`);
    for (const r of cliOutputs) assert.equal(findLeak(r.stdout + r.stderr, c), undefined, `CLI output holds ${c}`);
    assert.equal(findLeak(sys.output(), c), undefined, `latchkey up output holds ${c}`);
  }
}
