/**
 * What `latchkey migrate` does to a domain's workloads, decided before
 * anything changes (pure: the command makes the calls). The deployer names
 * each literal that looks like a credential (Workload.plaintext_credentials:
 * its path, why, where a reference replaces it); the plan takes the values
 * from the specs, puts each distinct value once as a managed secret of the
 * domain under a name derived from its field, and rewrites each spec with
 * references in place of the literals.
 */
import type { Workload } from '@latchkey/proto';

/** A secret key: what the catalog accepts (1-253 of letters, digits, '.', '_', '-'; not . or ..). */
const SECRET_KEY = /^[A-Za-z0-9._-]{1,253}$/;
/** STORAGE_CONFIG fields, whose names say nothing on their own: the key takes the workload's name first. */
const GENERIC_FIELDS = new Set(['accessKey', 'secretKey', 'endpoint']);

export interface PlannedSecret {
  key: string;
  /** Write-only: put once, never printed. */
  value: string;
  /** `workload path` of each literal it replaces. */
  from: string[];
  /** Why the name is not the field's own (it was taken), or undefined. */
  renamed?: string;
}

export interface PlannedWorkload {
  name: string;
  /** The spec with references in place of the literals, to apply. */
  specJson: string;
  moved: { path: string; key: string }[];
}

export interface Skipped {
  workload: string;
  path: string;
  why: string;
}

export interface MigrationPlan {
  secrets: PlannedSecret[];
  workloads: PlannedWorkload[];
  skipped: Skipped[];
}

/** The key a field's literal becomes: the field's name, made a legal key. */
export function keyForField(workload: string, segments: readonly string[]): string {
  const field = segments[segments.length - 1] ?? 'credential';
  const base = GENERIC_FIELDS.has(field) && segments.length === 1 ? `${workload}.${field}` : field;
  const key = base.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 240);
  return key === '.' || key === '..' || key === '' ? 'credential' : key;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function at(doc: Json, segments: readonly string[]): unknown {
  let node: unknown = doc;
  for (const s of segments) node = isObject(node) ? node[s] : undefined;
  return node;
}

function setAt(doc: Json, segments: readonly string[], value: unknown): void {
  let node: Json = doc;
  for (const s of segments.slice(0, -1)) {
    const next = node[s];
    if (!isObject(next)) node[s] = {};
    node = node[s] as Json;
  }
  node[segments[segments.length - 1] ?? ''] = value;
}

function deleteAt(doc: Json, segments: readonly string[]): void {
  const parent = at(doc, segments.slice(0, -1));
  if (isObject(parent)) delete parent[segments[segments.length - 1] ?? ''];
}

/**
 * The plan for `domain`'s workloads. `existingKeys`: the secret keys the
 * domain already has, which a new secret never takes (a name in use gets
 * `_2`, `_3`, ... and the report says so).
 */
export function planMigration(
  domain: string,
  workloads: readonly Workload[],
  existingKeys: ReadonlySet<string>,
): MigrationPlan {
  const byValue = new Map<string, PlannedSecret>();
  const taken = new Set(existingKeys);
  const plannedKeys = new Set<string>();
  const out: MigrationPlan = { secrets: [], workloads: [], skipped: [] };
  const freshKey = (wanted: string): { key: string; renamed?: string } => {
    if (!taken.has(wanted) && SECRET_KEY.test(wanted)) return { key: wanted };
    for (let n = 2; ; n++) {
      const key = `${wanted}_${n}`;
      if (!taken.has(key)) {
        const why = plannedKeys.has(wanted) ? 'another value takes that name' : 'the domain has a secret of that name';
        return { key, renamed: `${wanted} was taken (${why})` };
      }
    }
  };
  for (const w of workloads) {
    if (w.plaintextCredentials.length === 0) continue;
    const spec = JSON.parse(w.specJson) as Json;
    const moved: { path: string; key: string }[] = [];
    for (const f of w.plaintextCredentials) {
      const value = at(spec, f.segments);
      if (f.referenceAt.length === 0) {
        out.skipped.push({
          workload: w.name,
          path: f.path,
          why: 'this field takes no reference, or the literal also holds ${secrets.KEY} placeholders: move it by hand',
        });
        continue;
      }
      if (typeof value !== 'string' || value === '') {
        out.skipped.push({ workload: w.name, path: f.path, why: 'no literal found at this path' });
        continue;
      }
      let secret = byValue.get(value);
      if (secret === undefined) {
        const { key, renamed } = freshKey(keyForField(w.name, f.segments));
        taken.add(key);
        plannedKeys.add(key);
        secret = { key, value, from: [], ...(renamed === undefined ? {} : { renamed }) };
        byValue.set(value, secret);
        out.secrets.push(secret);
      }
      secret.from.push(`${w.name} ${f.path}`);
      if (f.referenceAt.join('\0') !== f.segments.join('\0')) deleteAt(spec, f.segments);
      setAt(spec, f.referenceAt, { key: secret.key, source: { type: 'MANAGED', id: domain } });
      moved.push({ path: f.path, key: secret.key });
    }
    if (moved.length > 0) out.workloads.push({ name: w.name, specJson: JSON.stringify(spec), moved });
  }
  return out;
}
