/** The figures of a benchmark run: the printed table and the JSON written beside it. */

export interface Goal {
  /** What the goal constrains: the figure's value or its ratio to the baseline. */
  on: 'value' | 'ratio';
  op: '<=' | '>=';
  limit: number;
}

export interface Figure {
  /** Stable name, e.g. `deploy_latency.p50`. */
  id: string;
  /** The scenario, e.g. `1. deploy latency`. */
  scenario: string;
  /** What was measured, e.g. `p50 of 200 sequential deploys`. */
  what: string;
  unit: string;
  value: number;
  /** The baseline measured in the same run, and what it is. */
  baseline?: { value: number; what: string };
  /** value / baseline.value */
  ratio?: number;
  goals: Goal[];
  /** Whether every goal is met; undefined without goals (or when a ratio goal has no ratio). */
  met?: boolean;
  note?: string;
}

export function meets(goal: Goal, value: number, ratio: number | undefined): boolean | undefined {
  const x = goal.on === 'value' ? value : ratio;
  if (x === undefined) return undefined;
  return goal.op === '<=' ? x <= goal.limit : x >= goal.limit;
}

/** Fills in `ratio` and `met` from the value, the baseline and the goals. */
export function figure(f: Omit<Figure, 'ratio' | 'met'>): Figure {
  const b = f.baseline?.value;
  const ratio = b === undefined || b === 0 || !Number.isFinite(b) ? undefined : f.value / b;
  const verdicts = f.goals.map((g) => meets(g, f.value, ratio));
  const met = verdicts.length === 0 || verdicts.includes(undefined) ? undefined : verdicts.every(Boolean);
  return { ...f, ...(ratio === undefined ? {} : { ratio }), ...(met === undefined ? {} : { met }) };
}

export function goalText(g: Goal, unit: string): string {
  return g.on === 'ratio' ? `ratio ${g.op} ${g.limit}` : `${g.op} ${formatNumber(g.limit)} ${unit}`;
}

/** 3 significant digits for small numbers, whole numbers above 1000. */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toLocaleString('en-US');
  if (a === 0) return '0';
  return Number(x.toPrecision(3)).toString();
}

function cells(f: Figure): string[] {
  return [
    f.scenario,
    f.what,
    `${formatNumber(f.value)} ${f.unit}`,
    f.baseline ? `${formatNumber(f.baseline.value)} ${f.unit} (${f.baseline.what})` : '-',
    f.ratio === undefined ? '-' : `${formatNumber(f.ratio)}x`,
    f.goals.length === 0 ? '-' : f.goals.map((g) => goalText(g, f.unit)).join(', '),
    f.met === undefined ? '-' : f.met ? 'met' : 'MISSED',
  ];
}

const HEADER = ['scenario', 'figure', 'value', 'baseline (same run)', 'ratio', 'goal', ''];

/** A plain-text table (also valid Markdown), one row per figure. */
export function formatTable(figures: readonly Figure[]): string[] {
  const rows = figures.map(cells);
  const widths = HEADER.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(HEADER), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)];
}
