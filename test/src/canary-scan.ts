import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { connect } from 'nats';

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

/** Dumps every row of every table of each database as JSON text. */
export async function dumpDatabases(home: string, databases: string[]): Promise<{ text: string; rows: number }> {
  const pid = await readFile(join(home, 'postgres', 'postmaster.pid'), 'utf8');
  const port = Number(pid.split('\n')[3]);
  const password = (await readFile(join(home, 'postgres-password'), 'utf8')).trim();
  let text = '';
  let rows = 0;
  for (const db of databases) {
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'latchkey', password, database: db });
    await client.connect();
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

/** Reads every message still in every JetStream stream, headers and body. */
export async function dumpStreams(natsUrl: string): Promise<{ text: string; messages: number }> {
  const nc = await connect({ servers: natsUrl });
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
