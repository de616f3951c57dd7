import { redeployPolicyWarnings } from '../staleness/redeploy-policy.js';
import { injectionsOf, legacyRefId, parseTemplate, refIdOf } from './workload-references.js';
import {
  LAYOUT,
  S3A_SETTINGS,
  SPARK_REDACTION_KEY,
  SPARK_REDACTION_REGEX,
  type ValueMap,
  type WorkloadSpec,
} from './workload-spec-types.js';

/** Fills every reference and placeholder from `values` (by refId). */
export function renderValues(map: ValueMap, values: ReadonlyMap<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(map)) {
    if (typeof value !== 'string') {
      out[name] = values.get(refIdOf(value)) ?? '';
      continue;
    }
    const pieces = parseTemplate(value);
    out[name] =
      typeof pieces === 'string'
        ? value
        : pieces.map((p) => ('text' in p ? p.text : (values.get(legacyRefId(p.placeholder)) ?? ''))).join('');
  }
  return out;
}

/**
 * `spark.redaction.regex` as handed to a workload: Latchkey's pattern,
 * appended to the workload's own (never replacing it) unless it is already
 * part of it.
 */
export function withSparkRedaction(own: string | undefined): string {
  if (own === undefined || own.trim() === '') return SPARK_REDACTION_REGEX;
  if (own.includes(SPARK_REDACTION_REGEX)) return own;
  return `${own}|${SPARK_REDACTION_REGEX}`;
}

/** What the runtime receives, rendered with the resolved values. */
export interface Rendered {
  env: Record<string, string>;
  sparkConf: Record<string, string>;
  /** Credentials written literally in the spec (a legacy secretKey), to redact like resolved values. */
  literalSecrets: string[];
}

export function renderForRuntime(spec: WorkloadSpec, values: ReadonlyMap<string, string>): Rendered {
  const inj = injectionsOf(spec);
  const env = renderValues(inj.env, values);
  const sparkConf = renderValues(inj.sparkConf, values);
  if (inj.spark) sparkConf[SPARK_REDACTION_KEY] = withSparkRedaction(sparkConf[SPARK_REDACTION_KEY]);
  const literalSecrets: string[] = [];
  if (spec.kind === 'STORAGE_CONFIG' && !spec.storageSecret && spec.secretKey !== undefined) {
    const used = sparkConf[S3A_SETTINGS.secretKey] ?? '';
    // Shorter ones would mask ordinary text (see the catalog's minimum value length).
    if (used.length >= 4) literalSecrets.push(used);
  }
  return { env, sparkConf, literalSecrets };
}

/** Warnings that follow from the spec alone, shown on apply and get. */
export function specWarnings(spec: WorkloadSpec): string[] {
  const warnings: string[] = [];
  if (spec.kind !== 'COMPUTE' && (spec.envVars !== undefined || spec.sparkConf !== undefined)) {
    warnings.push(
      `this ${spec.kind} is stored in the flat shape of an earlier version (top-level envVars/sparkConf), which is still injected: apply it again in its kind's shape (${LAYOUT[spec.kind]})`,
    );
  }
  if (spec.kind === 'STORAGE_CONFIG' && spec.secretKey !== undefined) {
    const pieces = parseTemplate(spec.secretKey);
    const literal = typeof pieces !== 'string' && pieces.every((x) => 'text' in x);
    if (spec.storageSecret) {
      warnings.push(
        '$.secretKey is kept only as the fallback: $.storageSecret is used while it is set, and $.secretKey is neither resolved nor injected',
      );
    }
    if (literal) {
      warnings.push(
        '$.secretKey holds a literal credential, which is stored with the workload and shown by workload get: put it in the catalog (latchkey secret put) and reference it with $.storageSecret',
      );
    }
  }
  warnings.push(...redeployPolicyWarnings(spec.redeployPolicy));
  return warnings;
}
