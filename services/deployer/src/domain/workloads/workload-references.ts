import { SECRET_KEY, type ReferenceSpec } from '@latchkey/events';
import { S3A_SETTINGS, type StructuredRef, type ValueMap, type WorkloadSpec } from './workload-spec-types.js';

/** One piece of a literal: text, or a `${secrets.KEY}` placeholder. */
export type Piece = { text: string } | { placeholder: string };

/**
 * Splits a string on `${secrets.KEY}` placeholders; `$${` stands for a
 * literal `${`. Returns an error text for a malformed placeholder.
 */
export function parseTemplate(s: string): Piece[] | string {
  const pieces: Piece[] = [];
  let text = '';
  let i = 0;
  while (i < s.length) {
    if (s.startsWith('$${', i)) {
      text += '${';
      i += 3;
      continue;
    }
    if (s.startsWith('${secrets.', i)) {
      const end = s.indexOf('}', i);
      if (end < 0) return `unterminated placeholder at character ${i}: write \${secrets.KEY}`;
      const key = s.slice(i + '${secrets.'.length, end);
      if (!SECRET_KEY.test(key)) {
        return `placeholder at character ${i} names an invalid key ${JSON.stringify(key.slice(0, 60))}: keys are 1-253 letters, digits, '.', '_' or '-'`;
      }
      if (text) pieces.push({ text });
      text = '';
      pieces.push({ placeholder: key });
      i = end + 1;
      continue;
    }
    text += s[i];
    i++;
  }
  if (text) pieces.push({ text });
  return pieces;
}

export const refIdOf = (r: StructuredRef): string => `${r.source.type}:${r.source.id}:${r.key}`;
export const legacyRefId = (key: string): string => `LEGACY:${key}`;

/** What a workload hands its runtime, by kind: environment variables and Spark conf, unrendered. */
export interface Injections {
  env: ValueMap;
  sparkConf: ValueMap;
  /** Whether the runtime gets Spark conf (and so spark.redaction.regex). */
  spark: boolean;
}

export function injectionsOf(spec: WorkloadSpec): Injections {
  // Top-level envVars/sparkConf: COMPUTE, or a workload stored in the flat shape of earlier versions.
  const env: ValueMap = { ...spec.envVars, ...spec.template?.envVars, ...spec.config?.envVars };
  const sparkConf: ValueMap = { ...spec.sparkConf, ...spec.template?.sparkConf };
  if (spec.kind === 'STORAGE_CONFIG') {
    if (spec.endpoint !== undefined) sparkConf[S3A_SETTINGS.endpoint] = spec.endpoint;
    if (spec.region !== undefined) sparkConf[S3A_SETTINGS.region] = spec.region;
    if (spec.pathStyle !== undefined) sparkConf[S3A_SETTINGS.pathStyle] = String(spec.pathStyle);
    if (spec.accessKey !== undefined) sparkConf[S3A_SETTINGS.accessKey] = spec.accessKey;
    // The reference wins; the legacy literal is only the fallback.
    const secret = spec.storageSecret ?? spec.secretKey;
    if (secret !== undefined) sparkConf[S3A_SETTINGS.secretKey] = secret;
  }
  return { env, sparkConf, spark: spec.kind !== 'JUPYTER_CONTAINER' || Object.keys(sparkConf).length > 0 };
}

/**
 * The JSON path of the first structured reference `{key, source}` in the
 * spec (in the order of its kind's fields), or undefined when it has none:
 * what the legacy mode (features.secretsV2 off) refuses.
 */
export function firstStructuredReference(spec: WorkloadSpec): string | undefined {
  const maps: [string, ValueMap | undefined][] = [
    ['$.envVars', spec.envVars],
    ['$.sparkConf', spec.sparkConf],
    ['$.template.envVars', spec.template?.envVars],
    ['$.template.sparkConf', spec.template?.sparkConf],
    ['$.config.envVars', spec.config?.envVars],
  ];
  for (const [path, map] of maps) {
    for (const [name, value] of Object.entries(map ?? {})) if (typeof value !== 'string') return `${path}.${name}`;
  }
  if (spec.accessKey !== undefined && typeof spec.accessKey !== 'string') return '$.accessKey';
  if (spec.storageSecret !== undefined) return '$.storageSecret';
  return undefined;
}

/** The distinct references a deployment of the spec resolves, in a stable order. */
export function referencesOf(spec: WorkloadSpec, domain: string): ReferenceSpec[] {
  const refs = new Map<string, ReferenceSpec>();
  const { env, sparkConf } = injectionsOf(spec);
  for (const value of [...Object.values(env), ...Object.values(sparkConf)]) {
    if (typeof value !== 'string') {
      const refId = refIdOf(value);
      refs.set(refId, {
        refId,
        key: value.key,
        sourceType: value.source.type,
        sourceId: value.source.id,
        legacy: false,
      });
      continue;
    }
    const pieces = parseTemplate(value);
    if (typeof pieces === 'string') continue;
    for (const p of pieces) {
      if ('placeholder' in p) {
        const refId = legacyRefId(p.placeholder);
        refs.set(refId, { refId, key: p.placeholder, sourceType: 'MANAGED', sourceId: domain, legacy: true });
      }
    }
  }
  return [...refs.values()];
}
