import type { WorkloadRun, WorkloadSpec } from './workload-spec-types.js';
import { fieldNames } from './workload-text.js';

/** Where a parser reports a problem at a JSON path. */
export interface ProblemSink {
  add(path: string, message: string): void;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A Kubernetes resource quantity: `500m`, `2`, `1.5`, `512Mi`, `4G`, `1e3`. */
const QUANTITY = /^[0-9]+(\.[0-9]+)?([eE][0-9]+|m|k|Ki|M|Mi|G|Gi|T|Ti|P|Pi|E|Ei)?$/;
/** A resource name: `cpu`, `memory`, `ephemeral-storage`, `nvidia.com/gpu`. */
const RESOURCE_NAME = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

function parseResources(v: unknown, p: ProblemSink): WorkloadRun['resources'] {
  const path = '$.run.resources';
  if (!isObject(v)) {
    p.add(path, 'expected an object such as {"requests": {"cpu": "500m"}, "limits": {"memory": "2Gi"}}');
    return undefined;
  }
  const out: NonNullable<WorkloadRun['resources']> = {};
  for (const [section, body] of Object.entries(v)) {
    if (section !== 'requests' && section !== 'limits') {
      p.add(`${path}.${section}`, 'unknown field (allowed: requests, limits)');
      continue;
    }
    if (!isObject(body)) {
      p.add(`${path}.${section}`, 'expected an object of resource name to quantity, e.g. {"memory": "2Gi"}');
      continue;
    }
    const quantities: Record<string, string> = {};
    for (const [name, q] of Object.entries(body)) {
      const at = `${path}.${section}.${name}`;
      const text = typeof q === 'number' && Number.isFinite(q) && q >= 0 ? String(q) : q;
      if (!RESOURCE_NAME.test(name)) p.add(at, 'not a resource name (e.g. cpu, memory, ephemeral-storage)');
      else if (typeof text !== 'string' || !QUANTITY.test(text))
        p.add(at, 'expected a quantity such as "500m", "2", "512Mi" or "4Gi"');
      else quantities[name] = text;
    }
    out[section] = quantities;
  }
  return out;
}

export function parseRun(v: unknown, p: ProblemSink): WorkloadSpec['run'] {
  const command = isObject(v) ? v.command : undefined;
  let run: WorkloadSpec['run'];
  if (!Array.isArray(command) || command.length === 0 || !command.every((c) => typeof c === 'string' && c !== '')) {
    p.add('$.run.command', 'expected a non-empty array of strings, e.g. ["python3", "job.py"]');
  } else if (command.some((c: string) => c.includes('${secrets.'))) {
    p.add('$.run.command', 'secrets never go on a command line (ps shows it to every user): use environment variables');
  } else {
    run = { command: command as string[] };
  }
  if (isObject(v)) {
    const extra = Object.keys(v).filter((k) => k !== 'command' && k !== 'image' && k !== 'resources');
    if (extra.length > 0) p.add('$.run', `unknown field(s) ${fieldNames(extra)} (allowed: command, image, resources)`);
    if (v.image !== undefined) {
      if (typeof v.image !== 'string' || !/^[^\s$]+$/.test(v.image))
        p.add('$.run.image', 'expected a container image reference without spaces, e.g. "apache/spark:3.5.1"');
      else if (run) run.image = v.image;
    }
    if (v.resources !== undefined) {
      const resources = parseResources(v.resources, p);
      if (run && resources) run.resources = resources;
    }
  }
  return run;
}
