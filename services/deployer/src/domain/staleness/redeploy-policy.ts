import { shownValue } from '../workloads/workload-text.js';

/**
 * A workload's redeploy policy (`redeployPolicy` in its spec): whether a
 * rotation that makes it stale redeploys it by itself, when, and how many
 * such redeploys may be in flight at once in its domain.
 *
 * ```json
 * "redeployPolicy": {"mode": "auto", "window": "02:00-04:00", "maxConcurrent": 2}
 * ```
 *
 * - `mode`: `manual` (the default, also without a policy: a stale workload
 *   waits for `latchkey redeploy`) or `auto`.
 * - `window` (UTC, optional: any time when absent): `HH:MM-HH:MM`, start
 *   included, end excluded, wrapping midnight when the end is earlier
 *   (`23:00-01:00`; `24:00` may end a window); or a 5-field cron expression
 *   (`minute hour day-of-month month day-of-week`) whose matching minutes are
 *   the window (`* 2-4 * * 1-5`: 02:00-04:59 on weekdays).
 * - `maxConcurrent` (default 1): auto redeploys of the domain's workloads in
 *   flight (resolving or starting) at once, counted across replicas.
 */
export interface RedeployPolicy {
  mode: 'manual' | 'auto';
  window?: string;
  maxConcurrent?: number;
}

export const REDEPLOY_MODES = ['manual', 'auto'] as const;
export const MAX_CONCURRENT_LIMIT = 1000;
const FIELDS = ['mode', 'window', 'maxConcurrent'];

/** The policy with its defaults filled in. */
export interface EffectivePolicy {
  mode: 'manual' | 'auto';
  window: string | undefined;
  maxConcurrent: number;
}

export function effectivePolicy(p: RedeployPolicy | undefined): EffectivePolicy {
  return { mode: p?.mode ?? 'manual', window: p?.window, maxConcurrent: p?.maxConcurrent ?? 1 };
}

const shown = shownValue;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Validates a `redeployPolicy` value; each problem goes to `problem` with its
 * JSON path. Returns the policy as given (defaults are not written into it).
 */
export function parseRedeployPolicy(
  v: unknown,
  problem: (path: string, message: string) => void,
): RedeployPolicy | undefined {
  const path = '$.redeployPolicy';
  if (!isObject(v)) {
    problem(path, 'expected an object such as {"mode": "auto", "window": "02:00-04:00", "maxConcurrent": 2}');
    return undefined;
  }
  let ok = true;
  const bad = (at: string, message: string) => {
    ok = false;
    problem(at, message);
  };
  for (const field of Object.keys(v)) {
    if (!FIELDS.includes(field)) bad(`${path}.${field}`, `unknown field (allowed: ${FIELDS.join(', ')})`);
  }
  const mode = v.mode;
  if (mode === undefined) bad(`${path}.mode`, 'missing: expected "manual" or "auto"');
  else if (mode !== 'manual' && mode !== 'auto')
    bad(`${path}.mode`, `${shown(mode)} is not a mode: expected "manual" or "auto"`);
  if (v.window !== undefined) {
    if (typeof v.window !== 'string') {
      bad(
        `${path}.window`,
        'expected a string: "HH:MM-HH:MM" (UTC) or a 5-field cron expression such as "* 2-4 * * *"',
      );
    } else {
      const parsed = parseWindow(v.window);
      if (typeof parsed === 'string') bad(`${path}.window`, parsed);
    }
  }
  if (v.maxConcurrent !== undefined) {
    const n = v.maxConcurrent;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_CONCURRENT_LIMIT) {
      bad(`${path}.maxConcurrent`, `expected a whole number from 1 to ${MAX_CONCURRENT_LIMIT}, got ${shown(n)}`);
    }
  }
  if (!ok) return undefined;
  return {
    mode: mode as RedeployPolicy['mode'],
    ...(v.window !== undefined ? { window: v.window as string } : {}),
    ...(v.maxConcurrent !== undefined ? { maxConcurrent: v.maxConcurrent as number } : {}),
  };
}

/** Notes about a policy that is valid but partly without effect. */
export function redeployPolicyWarnings(p: RedeployPolicy | undefined): string[] {
  if (!p || p.mode === 'auto') return [];
  const unused = (['window', 'maxConcurrent'] as const).filter((f) => p[f] !== undefined);
  return unused.length > 0
    ? [
        `${unused.map((f) => `redeployPolicy.${f}`).join(' and ')} ${unused.length === 1 ? 'applies' : 'apply'} only with mode "auto": this workload is redeployed by hand (latchkey redeploy)`,
      ]
    : [];
}

/** A parsed window: a daily range of minutes, or the sets of a cron expression. */
export type RedeployWindow =
  | { kind: 'range'; start: number; end: number }
  | { kind: 'cron'; minute: Set<number>; hour: Set<number>; dom: CronField; month: Set<number>; dow: CronField };

interface CronField {
  values: Set<number>;
  /** False for a field written `*` or `*\/n`: cron then matches on the other day field only. */
  restricted: boolean;
}

const RANGE = /^(\d{2}):(\d{2})-(\d{2}):(\d{2})$/;
const RANGE_EXAMPLE = 'e.g. "02:00-04:00", or "23:00-01:00" across midnight';

function parseRange(s: string): RedeployWindow | string {
  const m = RANGE.exec(s);
  if (!m) return `${shown(s)} is neither HH:MM-HH:MM (${RANGE_EXAMPLE}) nor a 5-field cron expression`;
  const [sh, sm, eh, em] = m.slice(1).map(Number) as [number, number, number, number];
  if (sh > 23) return `${shown(s)}: the start hour ${sh} is out of range (00-23)`;
  if (sm > 59) return `${shown(s)}: the start minute ${sm} is out of range (00-59)`;
  if (eh > 24 || (eh === 24 && em !== 0)) return `${shown(s)}: the end ${m[3]}:${m[4]} is out of range (00:00-24:00)`;
  if (em > 59) return `${shown(s)}: the end minute ${em} is out of range (00-59)`;
  const start = sh * 60 + sm;
  const end = eh * 60 + em;
  if (start === end % 1440) {
    return `${shown(s)} is an empty window (it starts where it ends): omit window to redeploy at any time`;
  }
  return { kind: 'range', start, end };
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: string[];
  /** The value the first of `names` stands for. */
  namesFrom?: number;
}

const CRON_FIELDS: FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, namesFrom: 1 },
  // 7 is Sunday too, as in every cron.
  { name: 'day of week', min: 0, max: 7, names: DAYS, namesFrom: 0 },
];

function parseCronField(text: string, f: FieldSpec, index: number): CronField | string {
  const where = `field ${index + 1} (${f.name}) ${shown(text)}`;
  const values = new Set<number>();
  const value = (t: string): number | string => {
    const named = f.names?.indexOf(t.toUpperCase()) ?? -1;
    if (named >= 0) return named + (f.namesFrom ?? 0);
    if (!/^\d{1,2}$/.test(t)) {
      return `${where}: ${shown(t)} is not a number${f.names ? ` or a name (${f.names.join(', ')})` : ''}`;
    }
    const n = Number(t);
    return n < f.min || n > f.max ? `${where}: ${n} is out of range ${f.min}-${f.max}` : n;
  };
  for (const item of text.split(',')) {
    const [base = '', stepText, extra] = item.split('/');
    if (extra !== undefined) return `${where}: more than one "/" in ${shown(item)}`;
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d{1,2}$/.test(stepText) || Number(stepText) === 0)
        return `${where}: the step of ${shown(item)} must be a number from 1 to 99`;
      step = Number(stepText);
    }
    let from: number;
    let to: number;
    if (base === '*') {
      from = f.min;
      to = f.max;
    } else {
      const [a = '', b, more] = base.split('-');
      if (more !== undefined) return `${where}: ${shown(base)} is not a range a-b`;
      const lo = value(a);
      if (typeof lo === 'string') return lo;
      from = lo;
      if (b !== undefined) {
        const hi = value(b);
        if (typeof hi === 'string') return hi;
        if (hi < lo) return `${where}: the range ${shown(base)} runs backwards`;
        to = hi;
      } else {
        // `a/n` means from a to the field's end, every n.
        to = stepText !== undefined ? f.max : lo;
      }
    }
    for (let n = from; n <= to; n += step) values.add(n);
  }
  if (f.name === 'day of week' && values.has(7)) {
    values.delete(7);
    values.add(0);
  }
  return { values, restricted: !text.startsWith('*') };
}

function parseCron(s: string): RedeployWindow | string {
  const parts = s.trim().split(/\s+/);
  if (parts.length !== 5) {
    return `${shown(s)} has ${parts.length} cron field(s): a cron window has 5 (minute hour day-of-month month day-of-week, UTC), e.g. "* 2-4 * * *"`;
  }
  const fields: CronField[] = [];
  for (const [i, part] of parts.entries()) {
    const parsed = parseCronField(part, CRON_FIELDS[i]!, i);
    if (typeof parsed === 'string') return parsed;
    fields.push(parsed);
  }
  const [minute, hour, dom, month, dow] = fields as [CronField, CronField, CronField, CronField, CronField];
  return { kind: 'cron', minute: minute.values, hour: hour.values, dom, month: month.values, dow };
}

/** A window, or the reason it is not one. */
export function parseWindow(s: string): RedeployWindow | string {
  if (s.length > 200) return `the window is ${s.length} characters long: at most 200`;
  const t = s.trim();
  return t.includes(':') || !/\s/.test(t) ? parseRange(t) : parseCron(t);
}

/** Whether `at` (read in UTC) is inside the window; no window: always. */
export function inWindow(window: string | undefined, at: Date): boolean {
  if (window === undefined) return true;
  const w = parseWindow(window);
  // Stored windows were validated on apply; one that no longer parses is never open.
  if (typeof w === 'string') return false;
  const minuteOfDay = at.getUTCHours() * 60 + at.getUTCMinutes();
  if (w.kind === 'range') {
    return w.start < w.end
      ? minuteOfDay >= w.start && minuteOfDay < w.end
      : minuteOfDay >= w.start || minuteOfDay < w.end;
  }
  if (!w.minute.has(at.getUTCMinutes()) || !w.hour.has(at.getUTCHours())) return false;
  if (!w.month.has(at.getUTCMonth() + 1)) return false;
  const domHit = w.dom.values.has(at.getUTCDate());
  const dowHit = w.dow.values.has(at.getUTCDay());
  // Cron's rule: with both day fields restricted, either matching day will do.
  if (w.dom.restricted && w.dow.restricted) return domHit || dowHit;
  return domHit && dowHit;
}

/**
 * How long until a stale workload may be redeployed by its policy (0: now):
 * it must have been stale for the cooldown, and its last auto redeploy must
 * be a cooldown ago.
 */
export function cooldownLeftMs(
  w: { staleSince: Date | null; updatedAt: Date; autoRedeployedAt: Date | null },
  now: Date,
  cooldownMs: number,
): number {
  const since = Math.max((w.staleSince ?? w.updatedAt).getTime(), w.autoRedeployedAt?.getTime() ?? 0);
  return Math.max(0, since + cooldownMs - now.getTime());
}
