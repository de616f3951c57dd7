// A workload's spec as the editor holds it, and back: each seed kind keeps
// its values where the seed's API puts them.
import type { SecretRef } from '../api/types.js';
import { literal, type FieldValue } from '../components/secret-picker.js';

/** Each seed kind (the deployer's WORKLOAD_KINDS, in its order) as people read it. */
export const KIND_LABELS: Record<string, string> = {
  COMPUTE: 'Compute',
  SPARK_JOB: 'Spark job',
  SPARK_STREAMING_JOB: 'Spark streaming job',
  SDK_SPARK_JOB: 'SDK Spark job',
  JUPYTER_CONTAINER: 'Jupyter container',
  STORAGE_CONFIG: 'Storage config',
};

/** The kinds the editor offers. */
export const KINDS: readonly string[] = Object.keys(KIND_LABELS);

export interface Entry {
  name: string;
  value: FieldValue;
}

export interface WorkloadForm {
  kind: string;
  name: string;
  description: string;
  envVars: Entry[];
  sparkConf: Entry[];
  endpoint: string;
  region: string;
  bucket: string;
  /** S3 path-style addressing (a local or self-hosted endpoint usually wants it). */
  pathStyle: boolean;
  accessKey: FieldValue;
  secretKey: string;
  storageSecret: FieldValue;
  /** One argument per line. */
  command: string;
  redeployMode: 'manual' | 'auto';
}

export const hasEnv = (kind: string): boolean => kind !== 'STORAGE_CONFIG';
export const hasSparkConf = (kind: string): boolean => kind !== 'STORAGE_CONFIG' && kind !== 'JUPYTER_CONTAINER';
const templated = (kind: string): boolean => kind.includes('SPARK_');

export function emptyForm(kind: string): WorkloadForm {
  return {
    kind,
    name: '',
    description: '',
    envVars: [{ name: '', value: literal() }],
    sparkConf: [],
    endpoint: '',
    region: '',
    bucket: '',
    pathStyle: false,
    accessKey: literal(),
    secretKey: '',
    storageSecret: literal(),
    command: '',
    redeployMode: 'manual',
  };
}

const isRef = (v: unknown): v is SecretRef =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as SecretRef).key === 'string' &&
  typeof (v as SecretRef).source === 'object' &&
  (v as SecretRef).source !== null;

function fieldOf(v: unknown): FieldValue {
  if (isRef(v)) return { kind: 'ref', ref: { key: v.key, source: { type: v.source.type, id: v.source.id } } };
  return literal(typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v));
}

function entriesOf(map: unknown): Entry[] {
  if (typeof map !== 'object' || map === null) return [];
  return Object.entries(map as Record<string, unknown>).map(([name, v]) => ({ name, value: fieldOf(v) }));
}

const obj = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};

/** The editor's state for a stored spec. */
export function formOf(kind: string, spec: Record<string, unknown>): WorkloadForm {
  const where = templated(kind) ? obj(spec['template']) : kind === 'JUPYTER_CONTAINER' ? obj(spec['config']) : spec;
  const run = obj(spec['run']);
  const command = Array.isArray(run['command']) ? (run['command'] as unknown[]).map(String).join('\n') : '';
  return {
    kind,
    name: typeof spec['name'] === 'string' ? spec['name'] : '',
    description: typeof spec['description'] === 'string' ? spec['description'] : '',
    envVars: entriesOf(where['envVars']),
    sparkConf: entriesOf(where['sparkConf']),
    endpoint: typeof spec['endpoint'] === 'string' ? spec['endpoint'] : '',
    region: typeof spec['region'] === 'string' ? spec['region'] : '',
    bucket: typeof spec['bucket'] === 'string' ? spec['bucket'] : '',
    pathStyle: spec['pathStyle'] === true,
    accessKey: fieldOf(spec['accessKey']),
    secretKey: typeof spec['secretKey'] === 'string' ? spec['secretKey'] : '',
    storageSecret: fieldOf(spec['storageSecret']),
    command,
    redeployMode: obj(spec['redeployPolicy'])['mode'] === 'auto' ? 'auto' : 'manual',
  };
}

const valueOf = (f: FieldValue): string | SecretRef => (f.kind === 'ref' ? f.ref : f.text);
const isEmpty = (f: FieldValue): boolean => f.kind === 'literal' && f.text === '';

function mapOf(entries: Entry[]): Record<string, string | SecretRef> | undefined {
  const out: Record<string, string | SecretRef> = {};
  for (const e of entries) if (e.name.trim() !== '') out[e.name.trim()] = valueOf(e.value);
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The seed payload of the form's kind (the kind itself is in the endpoint's path). */
export function payloadOf(f: WorkloadForm): Record<string, unknown> {
  const p: Record<string, unknown> = { name: f.name.trim() };
  if (f.description.trim() !== '') p['description'] = f.description.trim();
  const envVars = hasEnv(f.kind) ? mapOf(f.envVars) : undefined;
  const sparkConf = hasSparkConf(f.kind) ? mapOf(f.sparkConf) : undefined;
  const values = { ...(envVars ? { envVars } : {}), ...(sparkConf ? { sparkConf } : {}) };
  if (templated(f.kind)) p['template'] = values;
  else if (f.kind === 'JUPYTER_CONTAINER') p['config'] = values;
  else if (f.kind === 'STORAGE_CONFIG') {
    for (const k of ['endpoint', 'region', 'bucket'] as const) if (f[k].trim() !== '') p[k] = f[k].trim();
    if (f.pathStyle) p['pathStyle'] = true;
    if (!isEmpty(f.accessKey)) p['accessKey'] = valueOf(f.accessKey);
    if (f.secretKey !== '') p['secretKey'] = f.secretKey;
    if (f.storageSecret.kind === 'ref') p['storageSecret'] = f.storageSecret.ref;
  } else Object.assign(p, values);
  const command = f.command
    .split('\n')
    .map((a) => a.trim())
    .filter((a) => a !== '');
  if (command.length > 0) p['run'] = { command };
  p['redeployPolicy'] = { mode: f.redeployMode };
  return p;
}
