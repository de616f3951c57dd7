import { DOMAIN_NAME, GLOBAL_SCOPE, INTEGRATION_ID, SECRET_KEY, type SourceType } from '@latchkey/events';
import { parseRedeployPolicy } from '../staleness/redeploy-policy.js';
import { parseTemplate, referencesOf } from './workload-references.js';
import { parseRun } from './workload-run-parser.js';
import { fieldNames, nulPath, shownValue } from './workload-text.js';
import {
  isKind,
  LAYOUT,
  WORKLOAD_KINDS,
  WORKLOAD_LIMITS,
  WORKLOAD_NAME,
  type SpecValue,
  type StructuredRef,
  type ValueMap,
  type WorkloadKind,
  type WorkloadSpec,
} from './workload-spec-types.js';
import {
  workloadInvalid,
  workloadMalformedJson,
  workloadNotAnObject,
  workloadTooLarge,
  workloadTooManyReferences,
} from './workload-errors.js';

const ENV_NAME = new RegExp(`^[A-Za-z_][A-Za-z0-9_]{0,${WORKLOAD_LIMITS.nameChars - 1}}$`);
const CONF_NAME = new RegExp(`^[A-Za-z0-9_.-]{1,${WORKLOAD_LIMITS.nameChars}}$`);

const S3_REGION = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const S3_BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const shown = shownValue;

/** The home of environment variables and Spark conf per kind, if it has one. */
const HOME: Record<WorkloadKind, { envVars?: string; sparkConf?: string }> = {
  COMPUTE: { envVars: '$.envVars', sparkConf: '$.sparkConf' },
  SPARK_JOB: { envVars: '$.template.envVars', sparkConf: '$.template.sparkConf' },
  SPARK_STREAMING_JOB: { envVars: '$.template.envVars', sparkConf: '$.template.sparkConf' },
  SDK_SPARK_JOB: { envVars: '$.template.envVars', sparkConf: '$.template.sparkConf' },
  JUPYTER_CONTAINER: { envVars: '$.config.envVars' },
  STORAGE_CONFIG: {},
};

/** The top-level fields of each kind besides name, kind, description and run. */
const KIND_FIELDS: Record<WorkloadKind, readonly string[]> = {
  COMPUTE: ['envVars', 'sparkConf'],
  SPARK_JOB: ['template'],
  SPARK_STREAMING_JOB: ['template'],
  SDK_SPARK_JOB: ['template'],
  JUPYTER_CONTAINER: ['config'],
  STORAGE_CONFIG: ['endpoint', 'region', 'bucket', 'pathStyle', 'accessKey', 'secretKey', 'storageSecret'],
};
const COMMON_FIELDS = ['name', 'kind', 'description', 'run', 'redeployPolicy'];
const ANY_KIND_FIELD = new Set(Object.values(KIND_FIELDS).flat());

class Problems {
  readonly list: string[] = [];
  constructor(readonly domain: string) {}
  add(path: string, message: string): void {
    // A path through a huge key is cut short: the message stays readable and still says where.
    this.list.push(`${path.length > 200 ? `${path.slice(0, 200)}…` : path}: ${message}`);
  }
}

function misplaced(kind: WorkloadKind, what: 'envVars' | 'sparkConf'): string {
  const home = HOME[kind][what];
  const noun = what === 'envVars' ? 'environment variables' : 'Spark conf';
  return home
    ? `misplaced for a ${kind}: put ${noun} at ${home} (${LAYOUT[kind]})`
    : `a ${kind} has no ${noun}: ${LAYOUT[kind]}`;
}

/** A literal longer than WORKLOAD_LIMITS.valueChars: the problem, or undefined. */
function tooLong(v: string): string | undefined {
  return v.length > WORKLOAD_LIMITS.valueChars
    ? `the value is ${v.length} characters long; at most ${WORKLOAD_LIMITS.valueChars} are allowed: keep large content (a certificate, a config file) in the catalog or object storage and reference it`
    : undefined;
}

function parseValue(v: unknown, path: string, p: Problems): SpecValue | undefined {
  if (typeof v === 'string') {
    const long = tooLong(v);
    if (long) {
      p.add(path, long);
      return v;
    }
    const t = parseTemplate(v);
    if (typeof t === 'string') p.add(path, t);
    return v;
  }
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (!isObject(v)) {
    p.add(path, 'expected a string or a reference {"key": ..., "source": {"type": ..., "id": ...}}');
    return undefined;
  }
  return parseReference(v, path, p);
}

function parseReference(v: Record<string, unknown>, path: string, p: Problems): StructuredRef | undefined {
  const extra = Object.keys(v).filter((k) => k !== 'key' && k !== 'source');
  if (extra.length > 0) p.add(path, `unknown field(s) ${fieldNames(extra)} in a reference (allowed: key, source)`);
  const key = v.key;
  if (typeof key !== 'string' || !SECRET_KEY.test(key)) {
    p.add(`${path}.key`, "expected a secret key of 1-253 letters, digits, '.', '_' or '-'");
  }
  const source = v.source;
  if (!isObject(source)) {
    p.add(`${path}.source`, 'expected {"type": "MANAGED"|"KUBERNETES"|"VAULT", "id": ...}');
    return undefined;
  }
  const extraSource = Object.keys(source).filter((k) => k !== 'type' && k !== 'id');
  if (extraSource.length > 0)
    p.add(`${path}.source`, `unknown field(s) ${fieldNames(extraSource)} (allowed: type, id)`);
  const rawType = source.type;
  const type: SourceType | undefined =
    rawType === 'MANAGED' || rawType === 'KUBERNETES' ? 'MANAGED' : rawType === 'VAULT' ? 'VAULT' : undefined;
  if (!type) p.add(`${path}.source.type`, `expected MANAGED, KUBERNETES or VAULT, got ${shown(rawType)}`);
  const id = source.id;
  if (typeof id !== 'string' || id.length === 0) {
    p.add(`${path}.source.id`, 'expected the domain name or "global" (MANAGED), or a Vault integration id (VAULT)');
  } else if (type === 'MANAGED' && id !== GLOBAL_SCOPE && id !== p.domain) {
    p.add(
      `${path}.source.id`,
      `${DOMAIN_NAME.test(id) ? `domain ${id}` : shown(id)} is not this workload's domain (${p.domain}): a workload may reference its own domain's secrets or global ones`,
    );
  } else if (type === 'VAULT' && !INTEGRATION_ID.test(id)) {
    p.add(
      `${path}.source.id`,
      `${shown(id)} is not a Vault integration id: VAULT references name an integration of this domain by its id (a UUID; latchkey vault list --domain ${p.domain} shows them)`,
    );
  }
  if (typeof key !== 'string' || !type || typeof id !== 'string') return undefined;
  return { key, source: { type, id } };
}

function parseMap(v: unknown, path: string, names: RegExp, what: string, p: Problems): ValueMap {
  const out: ValueMap = {};
  if (!isObject(v)) {
    p.add(path, `expected an object of ${what}s`);
    return out;
  }
  for (const [name, value] of Object.entries(v)) {
    const at = `${path}.${name}`;
    if (name.length > WORKLOAD_LIMITS.nameChars) {
      p.add(
        `${path}.${name.slice(0, 60)}…`,
        `the ${what} name is ${name.length} characters long; at most ${WORKLOAD_LIMITS.nameChars} are allowed`,
      );
      continue;
    }
    if (!names.test(name)) p.add(at, `invalid ${what} name`);
    const parsed = parseValue(value, at, p);
    if (parsed !== undefined) out[name] = parsed;
  }
  return out;
}

const parseEnv = (v: unknown, path: string, p: Problems) => parseMap(v, path, ENV_NAME, 'environment variable', p);
const parseConf = (v: unknown, path: string, p: Problems) => parseMap(v, path, CONF_NAME, 'Spark conf key', p);

/** `template` (envVars and sparkConf) or `config` (envVars only: a sparkConf there is misplaced). */
function parseSection(
  section: 'template' | 'config',
  v: unknown,
  kind: WorkloadKind | undefined,
  p: Problems,
): { envVars?: ValueMap; sparkConf?: ValueMap } | undefined {
  const withConf = section === 'template';
  if (!isObject(v)) {
    p.add(`$.${section}`, `expected an object {"envVars": {...}${withConf ? ', "sparkConf": {...}' : ''}}`);
    return undefined;
  }
  const out: { envVars?: ValueMap; sparkConf?: ValueMap } = {};
  for (const [field, value] of Object.entries(v)) {
    const at = `$.${section}.${field}`;
    if (field === 'envVars') out.envVars = parseEnv(value, at, p);
    else if (field === 'sparkConf' && withConf) out.sparkConf = parseConf(value, at, p);
    else if (field === 'sparkConf') p.add(at, misplaced('JUPYTER_CONTAINER', 'sparkConf'));
    else
      p.add(
        at,
        `unknown field (allowed: ${withConf ? 'envVars, sparkConf' : 'envVars'})${kind ? `; ${LAYOUT[kind]}` : ''}`,
      );
  }
  return out;
}

/** Parses one field of a kind into `spec`. */
function parseKindField(
  spec: Partial<WorkloadSpec>,
  field: string,
  value: unknown,
  kind: WorkloadKind | undefined,
  p: Problems,
): void {
  const path = `$.${field}`;
  switch (field) {
    case 'envVars':
      spec.envVars = parseEnv(value, path, p);
      return;
    case 'sparkConf':
      spec.sparkConf = parseConf(value, path, p);
      return;
    case 'template': {
      const t = parseSection('template', value, kind, p);
      if (t) spec.template = t;
      return;
    }
    case 'config': {
      const c = parseSection('config', value, kind, p);
      if (c) spec.config = c;
      return;
    }
    case 'endpoint':
      if (typeof value !== 'string' || value === '') p.add(path, 'expected the storage endpoint URL as a string');
      else if (tooLong(value)) p.add(path, tooLong(value)!);
      else {
        const t = parseTemplate(value);
        if (typeof t === 'string') p.add(path, t);
        else spec.endpoint = value;
      }
      return;
    case 'region':
      if (typeof value !== 'string' || !S3_REGION.test(value))
        p.add(path, 'expected an S3 region name such as "us-east-1" or "eu-west-3" (letters, digits, "-", "_", ".")');
      else spec.region = value;
      return;
    case 'bucket':
      if (typeof value !== 'string' || !S3_BUCKET.test(value))
        p.add(
          path,
          'expected an S3 bucket name: 3-63 lower-case letters, digits, "." or "-", starting and ending with a letter or digit',
        );
      else spec.bucket = value;
      return;
    case 'pathStyle':
      if (typeof value !== 'boolean')
        p.add(
          path,
          'expected true (the bucket goes in the path: MinIO, most self-hosted stores) or false (in the host name)',
        );
      else spec.pathStyle = value;
      return;
    case 'accessKey': {
      const v = parseValue(value, path, p);
      if (v !== undefined) spec.accessKey = v;
      return;
    }
    case 'secretKey':
      if (typeof value !== 'string' || value === '') {
        p.add(
          path,
          'expected a string (the legacy literal, or "${secrets.KEY}"): put a structured reference in $.storageSecret instead',
        );
      } else if (tooLong(value)) {
        p.add(path, tooLong(value)!);
      } else {
        const t = parseTemplate(value);
        if (typeof t === 'string') p.add(path, t);
        else spec.secretKey = value;
      }
      return;
    case 'storageSecret':
      if (!isObject(value)) {
        p.add(
          path,
          'expected a reference {"key": ..., "source": {"type": ..., "id": ...}}: a literal or "${secrets.KEY}" goes in $.secretKey',
        );
      } else {
        const r = parseReference(value, path, p);
        if (r) spec.storageSecret = r;
      }
      return;
  }
}

/** The fields of the workload's kind, each where its kind takes it (checked wherever they are with an unknown kind). */
function parseKindFields(
  doc: Record<string, unknown>,
  kind: WorkloadKind | undefined,
  spec: Partial<WorkloadSpec>,
  p: Problems,
): void {
  for (const [field, value] of Object.entries(doc)) {
    if (COMMON_FIELDS.includes(field)) continue;
    if (!ANY_KIND_FIELD.has(field)) {
      const allowed = [...COMMON_FIELDS, ...(kind ? KIND_FIELDS[kind] : [...ANY_KIND_FIELD])];
      p.add(`$.${field}`, `unknown field (allowed${kind ? ` for a ${kind}` : ''}: ${allowed.join(', ')})`);
    } else if (kind && !KIND_FIELDS[kind].includes(field)) {
      p.add(
        `$.${field}`,
        field === 'envVars' || field === 'sparkConf'
          ? misplaced(kind, field)
          : `misplaced for a ${kind}: ${LAYOUT[kind]}`,
      );
    } else {
      // With an unknown kind, the values are still checked wherever they are.
      parseKindField(spec, field, value, kind, p);
    }
  }
}

/**
 * Validates a workload document in its kind's payload shape; every problem
 * is reported at once with its JSON path. Returns the canonical spec (the
 * KUBERNETES alias stored as MANAGED, numbers and booleans as strings).
 */
export function parseWorkloadSpec(json: string, domain: string): WorkloadSpec {
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > WORKLOAD_LIMITS.specBytes) {
    throw workloadTooLarge(bytes, WORKLOAD_LIMITS);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (err) {
    throw workloadMalformedJson(err);
  }
  if (!isObject(doc)) throw workloadNotAnObject();
  const p = new Problems(domain);
  const nul = nulPath(doc);
  if (nul !== undefined) p.add(nul, 'holds a NUL character (\\u0000), which cannot be stored: remove it');
  const name = doc.name;
  if (typeof name !== 'string' || !WORKLOAD_NAME.test(name)) {
    p.add('$.name', "expected 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit");
  }
  const kind = isKind(doc.kind) ? doc.kind : undefined;
  if (!kind) {
    p.add(
      '$.kind',
      `${doc.kind === undefined ? 'missing' : `unknown kind ${shown(doc.kind)}`}: expected one of ${WORKLOAD_KINDS.join(', ')}`,
    );
  }
  const spec: Partial<WorkloadSpec> = {};
  if (doc.description !== undefined) {
    if (typeof doc.description !== 'string' || doc.description.length > 1000)
      p.add('$.description', 'expected a string of at most 1000 characters');
    else spec.description = doc.description;
  }
  parseKindFields(doc, kind, spec, p);
  let run: WorkloadSpec['run'];
  if (doc.run !== undefined) run = parseRun(doc.run, p);
  const redeployPolicy =
    doc.redeployPolicy !== undefined ? parseRedeployPolicy(doc.redeployPolicy, (at, m) => p.add(at, m)) : undefined;
  if (p.list.length > 0) throw workloadInvalid(p.list);
  const parsed: WorkloadSpec = {
    name: name as string,
    kind: kind!,
    ...spec,
    ...(run ? { run } : {}),
    ...(redeployPolicy ? { redeployPolicy } : {}),
  };
  const references = referencesOf(parsed, domain).length;
  if (references > WORKLOAD_LIMITS.references) throw workloadTooManyReferences(references, WORKLOAD_LIMITS.references);
  return parsed;
}
