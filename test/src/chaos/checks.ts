import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { NatsConnection } from 'nats';
import type pg from 'pg';
import { STREAM_EVENTS } from '@latchkey/events';
import { canaryForms, dumpDatabases, dumpStreams } from '../canary-scan.js';
import { clusterDir } from '../system-harness.js';
import { CHAOS_DOMAIN, MANAGED_KEY, RAN_LINE, VAULT_KEY, type DriverRecord, type WrittenVersion } from './driver.js';

/** Every message's JSON body on `subject` of the events stream. */
export async function eventsOn(nc: NatsConnection, subject: string): Promise<Record<string, unknown>[]> {
  const consumer = await nc.jetstream().consumers.get(STREAM_EVENTS, { filterSubjects: subject });
  const out: Record<string, unknown>[] = [];
  for (;;) {
    const m = await consumer.next({ expires: 2000 });
    if (m === null) return out;
    out.push(m.json<Record<string, unknown>>());
    if (m.info.pending === 0) return out;
  }
}

/** One invariant: how many things it looked at, and each violation, named. */
export interface InvariantResult {
  name: string;
  checked: number;
  violations: string[];
}

export const LIVE = 'deployed';
export const ENDED = ['failed', 'exited', 'stopped'];

interface DeploymentRow {
  id: string;
  workload: string;
  status: string;
  reasons: string[];
  created: number;
  exitCode: number | null;
  runner: string | null;
  /** Its output lines that are not its `ran` line (the first few). */
  other: string[];
}

/** What the checks read from the deployer's database and the events stream, once everything has settled. */
export interface Observed {
  deployments: DeploymentRow[];
  /** The `ran` lines of each deployment's output. */
  ran: Map<string, { t: string; v: string }[]>;
  /** Each deployment's recorded versions, by source. */
  versions: Map<string, { managed?: number; vault?: number }>;
  /** Each workload's live deployment (the one whose versions decide staleness). */
  live: Map<string, string | null>;
  /** workload.stale marks: `workload source version`, one per workload an event names. */
  marks: string[];
  /** Versions the catalog announced (secret.changed), by source. */
  announced: { MANAGED: number[]; VAULT: number[] };
  /** workload.deployed / workload.failed events, each deployment id once per event. */
  outcomes: { deployed: string[]; failed: string[] };
  latest: { MANAGED: number; VAULT: number };
}

export async function observe(
  db: pg.Client,
  bus: NatsConnection,
  integrationId: string,
  latest: { MANAGED: number; VAULT: number },
): Promise<Observed> {
  const deployments = (
    await db.query<{
      id: string;
      workload: string;
      status: string;
      reasons: string[];
      created: Date;
      exitCode: number | null;
      runner: string | null;
      other: string[] | null;
    }>(
      `SELECT id, workload_name AS workload, status, reasons, created_at AS created, exit_code AS "exitCode", runner,
         (SELECT array_agg(l.stream || ': ' || left(l.line, 200) ORDER BY l.seq) FROM deployment_logs l
           WHERE l.deployment_id = d.id AND l.line NOT LIKE 'ran %' AND l.seq < 5) AS other
       FROM deployments d WHERE domain = $1`,
      [CHAOS_DOMAIN],
    )
  ).rows.map((r) => ({ ...r, created: r.created.getTime(), other: r.other ?? [] }));
  const ran = new Map<string, { t: string; v: string }[]>();
  for (const r of (
    await db.query<{ id: string; line: string }>(
      `SELECT l.deployment_id AS id, l.line FROM deployment_logs l JOIN deployments d ON d.id = l.deployment_id
        WHERE d.domain = $1 AND l.line LIKE 'ran %' ORDER BY l.seq`,
      [CHAOS_DOMAIN],
    )
  ).rows) {
    const m = RAN_LINE.exec(r.line);
    if (m === null || m[1] !== r.id) continue;
    const list = ran.get(r.id) ?? [];
    list.push({ t: m[2]!, v: m[3]! });
    ran.set(r.id, list);
  }
  const versions = new Map<string, { managed?: number; vault?: number }>();
  for (const r of (
    await db.query<{ id: string; ref_id: string; version: number }>(
      `SELECT dv.deployment_id AS id, dv.ref_id, dv.version FROM deployment_versions dv
         JOIN deployments d ON d.id = dv.deployment_id WHERE d.domain = $1`,
      [CHAOS_DOMAIN],
    )
  ).rows) {
    const v = versions.get(r.id) ?? {};
    if (r.ref_id === `MANAGED:${CHAOS_DOMAIN}:${MANAGED_KEY}`) v.managed = r.version;
    else if (r.ref_id === `VAULT:${integrationId}:${VAULT_KEY}`) v.vault = r.version;
    versions.set(r.id, v);
  }
  const live = new Map(
    (
      await db.query<{ name: string; live: string | null }>(
        `SELECT name, last_deployment_id AS live FROM workloads WHERE domain = $1`,
        [CHAOS_DOMAIN],
      )
    ).rows.map((r) => [r.name, r.live] as const),
  );
  // A workload.stale event (v2) names one change and the workloads of one domain it left stale.
  const marks = (await eventsOn(bus, `latchkey.workload.stale.${CHAOS_DOMAIN}`)).flatMap((e) => {
    const c = e['changed'] as { scope: string; key: string; currentVersion: number };
    return (e['workloads'] as { workload: string }[]).map(
      (w) => `${w.workload} ${c.scope === integrationId ? 'VAULT' : 'MANAGED'}:${c.key} ${c.currentVersion}`,
    );
  });
  const announced: Observed['announced'] = { MANAGED: [], VAULT: [] };
  for (const e of await eventsOn(bus, 'latchkey.secret.changed.>')) {
    if (e['source'] === 'VAULT' && e['scope'] === integrationId && e['key'] === VAULT_KEY)
      announced.VAULT.push(Number(e['version']));
    if (e['source'] !== 'VAULT' && e['scope'] === CHAOS_DOMAIN && e['key'] === MANAGED_KEY)
      announced.MANAGED.push(Number(e['version']));
  }
  const ids = async (subject: string) =>
    (await eventsOn(bus, `latchkey.workload.${subject}.${CHAOS_DOMAIN}`)).map((e) => String(e['deploymentId']));
  return {
    deployments,
    ran,
    versions,
    live,
    marks,
    announced,
    outcomes: { deployed: await ids('deployed'), failed: await ids('failed') },
    latest,
  };
}

/** A deployment in a violation: id, workload, status, exit code, runner, reasons. */
function describe(d: DeploymentRow): string {
  const reasons = d.reasons.length > 0 ? `, ${d.reasons.join('; ')}` : '';
  return `${d.id} (${d.workload}, ${d.status}, exit code ${d.exitCode ?? 'none'}, runner ${d.runner ?? '-'}${reasons})`;
}

const dupes = (items: string[]): string[] => [...new Set(items.filter((x, i) => items.indexOf(x) !== i))];

/** Every deploy the API accepted ended exactly once: running, stopped, exited, or failed with a reason; none in transit. */
export function checkEnded(record: DriverRecord, o: Observed): InvariantResult {
  const violations: string[] = [];
  const byId = new Map(o.deployments.map((d) => [d.id, d]));
  for (const id of record.accepted.keys())
    if (!byId.has(id)) violations.push(`accepted deployment ${id} is not recorded`);
  for (const d of o.deployments) {
    if (d.status !== LIVE && !ENDED.includes(d.status))
      violations.push(`${d.id} (${d.workload}) is stuck in ${d.status}`);
    if (d.status === 'failed' && d.reasons.length === 0) violations.push(`${d.id} failed without a reason`);
  }
  for (const [subject, list] of Object.entries(o.outcomes))
    for (const id of dupes(list)) violations.push(`${id} has two workload.${subject} events`);
  for (const id of o.outcomes.deployed.filter((id) => o.outcomes.failed.includes(id))) {
    const d = byId.get(id);
    // A deployment that went live and then failed (lost with its replica) has both, in that order: the
    // failure must be its end, never a second start.
    if (d !== undefined && d.status !== 'failed') violations.push(`${id} has workload.failed but is ${d.status}`);
  }
  return { name: 'every accepted deploy ended once', checked: o.deployments.length, violations };
}

/** Samples of the live workload processes: when, and which deployments had a process then. */
export interface LiveSample {
  at: number;
  ids: string[];
}

/**
 * No deployment ran twice (at most one `ran` line; a live or exited one exactly one), and no workload
 * had two live deployments at once: two deployments of one workload seen alive together for longer than
 * `graceMs` (the handover: the new one starts, then the old one is stopped), or more than one live at the end.
 */
export function checkRunOnce(
  o: Observed,
  samples: LiveSample[],
  finalLive: Set<string>,
  graceMs: number,
): InvariantResult {
  const violations: string[] = [];
  const byId = new Map(o.deployments.map((d) => [d.id, d]));
  for (const d of o.deployments) {
    const n = o.ran.get(d.id)?.length ?? 0;
    if (n > 1) violations.push(`${d.id} (${d.workload}) ran ${n} times`);
    // A deployment lost with its deployer replica may have run without its output being kept: at most once.
    const lost = d.reasons.some((r) => r.startsWith('lost:'));
    if ((d.status === LIVE || (d.status === 'exited' && !lost)) && n !== 1)
      violations.push(
        `${describe(d)}${d.other.length > 0 ? ` with output ${JSON.stringify(d.other)}` : ''} ran ${n} times`,
      );
  }
  // Overlaps: first and last time each pair of one workload's deployments was seen alive together.
  const together = new Map<string, { first: number; last: number }>();
  for (const s of samples) {
    const byWorkload = new Map<string, string[]>();
    for (const id of s.ids) {
      const d = byId.get(id);
      if (d === undefined) continue;
      byWorkload.set(d.workload, [...(byWorkload.get(d.workload) ?? []), id]);
    }
    for (const [w, ids] of byWorkload) {
      if (ids.length < 2) continue;
      const key = `${w} ${[...ids].sort().join(' ')}`;
      const span = together.get(key) ?? { first: s.at, last: s.at };
      span.last = s.at;
      together.set(key, span);
    }
  }
  for (const [key, span] of together)
    if (span.last - span.first > graceMs)
      violations.push(
        `${key.split(' ')[0]}: ${key
          .split(' ')
          .slice(1)
          .map((id) => describe(byId.get(id)!))
          .join(' and ')} alive together for ${((span.last - span.first) / 1000).toFixed(1)} s`,
      );
  const liveRows = new Map<string, string[]>();
  for (const d of o.deployments.filter((d) => d.status === LIVE))
    liveRows.set(d.workload, [...(liveRows.get(d.workload) ?? []), d.id]);
  for (const [w, ids] of liveRows) {
    if (ids.length > 1) violations.push(`${w} has ${ids.length} deployments recorded live: ${ids.join(', ')}`);
    for (const id of ids) if (!finalLive.has(id)) violations.push(`${id} (${w}) is recorded live but has no process`);
  }
  for (const id of finalLive) {
    const d = byId.get(id);
    if (d !== undefined && d.status !== LIVE) violations.push(`${describe(d)} still has a process`);
  }
  return {
    name: 'no deployment ran twice, no workload ran two at once',
    checked: o.deployments.length,
    violations,
  };
}

/**
 * Every rotation marked each dependent stale, once: a workload whose live deployment holds version d
 * of a key has one workload.stale mark for each announced version above d (managed: every version the
 * catalog made; Vault: every version its watch announced), and the latest version above d was announced.
 */
export function checkStaleMarks(o: Observed, when: string): InvariantResult {
  const violations: string[] = [];
  let checked = 0;
  for (const m of dupes(o.marks)) violations.push(`marked twice: ${m}`);
  for (const [workload, liveId] of o.live) {
    if (liveId === null) continue;
    const held = o.versions.get(liveId) ?? {};
    for (const source of ['MANAGED', 'VAULT'] as const) {
      const d = source === 'MANAGED' ? held.managed : held.vault;
      if (d === undefined) continue;
      const key = source === 'MANAGED' ? MANAGED_KEY : VAULT_KEY;
      const due = [...new Set(o.announced[source].filter((v) => v > d))];
      if (o.latest[source] > d && !o.announced[source].includes(o.latest[source]))
        violations.push(
          `${when}: ${workload} holds ${source}:${key} v${d}, the latest is v${o.latest[source]}, which was never announced`,
        );
      for (const v of due) {
        checked++;
        if (!o.marks.includes(`${workload} ${source}:${key} ${v}`))
          violations.push(
            `lost mark: ${workload} (live ${liveId} holds v${d}) was not marked stale for ${source}:${key} v${v}`,
          );
      }
    }
  }
  return { name: 'every rotation marked each dependent stale once', checked, violations };
}

/**
 * Each deployment that ran received one consistent set of versions, the ones it records: both
 * variables there, each the hash of the value of the version recorded for it (a write whose answer
 * was lost may be the version, once: the same version is always the same value).
 */
export function checkVersions(record: DriverRecord, o: Observed): InvariantResult {
  const violations: string[] = [];
  const known = { MANAGED: new Map<number, string>(), VAULT: new Map<number, string>() };
  const unanswered = { MANAGED: new Set<string>(), VAULT: new Set<string>() };
  for (const w of record.written as WrittenVersion[]) {
    if (w.version === undefined) unanswered[w.source].add(w.sha256);
    else known[w.source].set(w.version, w.sha256);
  }
  let checked = 0;
  for (const [id, lines] of o.ran) {
    const line = lines[0]!;
    checked++;
    const rec = o.versions.get(id) ?? {};
    for (const [source, got, version] of [
      ['MANAGED', line.t, rec.managed],
      ['VAULT', line.v, rec.vault],
    ] as const) {
      if (got === '-') {
        violations.push(`${id} ran without its ${source} variable (half-injected)`);
        continue;
      }
      if (version === undefined) {
        violations.push(`${id} ran with a ${source} value but records no version of it`);
        continue;
      }
      const expected = known[source].get(version);
      if (expected === undefined && unanswered[source].has(got)) {
        // The version of a write whose answer was lost: bound to this value from now on.
        known[source].set(version, got);
        unanswered[source].delete(got);
        continue;
      }
      if (expected !== got) violations.push(`${id} records ${source} v${version} but received another value`);
    }
  }
  return { name: 'each deployment received one consistent set, the versions it records', checked, violations };
}

/**
 * No value written in any form (raw, base64, hex) in the data folder (logs, NATS store), the PostgreSQL
 * cluster's files, a database row, a stream message, a CLI output or latchkey up's output. The values
 * share a prefix, looked for first in each file: a file is read once.
 */
export async function checkCanaries(
  sys: { home: string; output(): string },
  record: DriverRecord,
  prefix: string,
): Promise<InvariantResult> {
  const violations: string[] = [];
  // The prefix raw, in hex, and the base64 of its whole 3-byte groups (each value's base64 starts so).
  const firstForms = [
    prefix,
    Buffer.from(prefix).toString('hex'),
    Buffer.from(prefix.slice(0, prefix.length - (prefix.length % 3))).toString('base64'),
  ];
  const leaks = (text: string): boolean => {
    if (!firstForms.some((f) => text.includes(f))) return false;
    return record.values.some((v) => canaryForms(v).some((f) => text.includes(f)));
  };
  let checked = 0;
  const walk = async (dir: string): Promise<void> => {
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const p = join(dir, name);
      const st = await stat(p).catch(() => undefined);
      if (st?.isDirectory() === true) await walk(p);
      else if (st?.isFile() === true) {
        checked++;
        const content = await readFile(p).catch(() => undefined);
        if (content !== undefined && leaks(content.toString('latin1'))) violations.push(`file ${p}`);
      }
    }
  };
  await walk(sys.home);
  await walk(clusterDir(sys.home));
  const dump = await dumpDatabases(sys.home, ['latchkey_catalog', 'latchkey_ras', 'latchkey_deployer']);
  checked += dump.rows;
  if (leaks(dump.text)) violations.push('a database row');
  const streams = await dumpStreams(sys.home);
  checked += streams.messages;
  if (leaks(streams.text)) violations.push('a JetStream message');
  for (const r of record.outputs) if (leaks(r.stdout + r.stderr)) violations.push('a CLI output');
  checked += record.outputs.length;
  if (leaks(sys.output())) violations.push("latchkey up's output");
  return { name: 'no value in files, rows, streams or outputs', checked, violations };
}
