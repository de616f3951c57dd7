/**
 * The server-side printing kubectl asks for (`Accept: application/json;as=Table;
 * g=meta.k8s.io;v=v1`): a Table with the API server's columns for Pods and
 * Secrets, each row carrying the object's metadata (or the whole object with
 * `includeObject=Object`). The emulator stores no value in a Table: a Secret
 * row shows how many keys it has, as the real one does.
 */
import type { ResourceName } from './resources.js';
import { type Json, type JsonObject, isObject, meta } from './status.js';

/** True when the client asked for a Table. */
export const wantsTable = (accept: string) => /;\s*as=Table/.test(accept);

type Column = { name: string; type: string; format: string; description: string; priority: number };

const col = (name: string, type: string, description: string, format = ''): Column => ({
  name,
  type,
  format,
  description,
  priority: 0,
});

const NAME = col('Name', 'string', 'Name must be unique within a namespace.', 'name');
const AGE = col(
  'Age',
  'string',
  'CreationTimestamp is a timestamp representing the server time when this object was created.',
);

const COLUMNS: Record<ResourceName, Column[]> = {
  pods: [
    NAME,
    col('Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.'),
    col('Status', 'string', 'The aggregate status of the containers in this pod.'),
    col(
      'Restarts',
      'string',
      'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.',
    ),
    AGE,
  ],
  secrets: [
    NAME,
    col('Type', 'string', 'The type of the secret'),
    col('Data', 'string', 'The number of entries in the secret'),
    AGE,
  ],
};

/** `5s`, `3m`, `2h`, `4d` since `created`, as kubectl's short durations. */
function age(created: Json | undefined): string {
  const ms = Date.now() - Date.parse(String(created));
  if (!Number.isFinite(ms)) return '<unknown>';
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172_800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

function cells(resource: ResourceName, o: JsonObject): Json[] {
  const m = meta(o);
  if (resource === 'secrets') {
    const data = isObject(o.data) ? Object.keys(o.data).length : 0;
    return [m.name ?? '', o.type ?? 'Opaque', data, age(m.creationTimestamp)];
  }
  const spec = isObject(o.spec) ? o.spec : {};
  const containers = Array.isArray(spec.containers) ? spec.containers.length : 0;
  const phase = isObject(o.status) ? String(o.status.phase ?? 'Pending') : 'Pending';
  const status = m.deletionTimestamp !== undefined ? 'Terminating' : phase;
  const ready = phase === 'Running' && m.deletionTimestamp === undefined ? containers : 0;
  return [m.name ?? '', `${ready}/${containers}`, status, '0', age(m.creationTimestamp)];
}

/** A Table of `objects` (stored shapes, with kind and apiVersion). */
export function table(
  resource: ResourceName,
  objects: JsonObject[],
  resourceVersion: string,
  query: URLSearchParams,
): JsonObject {
  const whole = query.get('includeObject') === 'Object';
  const rows = objects.map((o) => ({
    cells: cells(resource, o),
    object: whole ? o : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: meta(o) },
  }));
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: COLUMNS[resource] as unknown as Json[],
    rows: rows as unknown as Json[],
  };
}
