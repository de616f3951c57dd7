import { OBJECT_NAME, type SourceType } from '@latchkey/events';
import type { RedeployPolicy } from '../staleness/redeploy-policy.js';

export const WORKLOAD_KINDS = [
  'COMPUTE',
  'SPARK_JOB',
  'SPARK_STREAMING_JOB',
  'SDK_SPARK_JOB',
  'JUPYTER_CONTAINER',
  'STORAGE_CONFIG',
] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

export const isKind = (k: unknown): k is WorkloadKind => (WORKLOAD_KINDS as readonly unknown[]).includes(k);

export const WORKLOAD_NAME = OBJECT_NAME;

/**
 * Limits on what one workload may hold, checked on apply. They keep every
 * event a workload can cause well inside what the bus carries
 * (MAX_EVENT_BYTES, 1,000,000 bytes, itself under NATS's 1 MiB max_payload).
 * A reference costs at most ~720 bytes in `workload.deploying` (refId ≤ 325,
 * key ≤ 253, source id ≤ 63 characters, plus field names): 64 of them come
 * to ≤ 47 KB. `workload.resolved` carries a version per reference (≤ 720
 * bytes), the sealed values, which the resolver caps at 512 KiB (≈ 700 KB
 * in base64, with their refIds), and at most a warning per reference
 * (≤ 1 KB): ≤ 835 KB in all. `workload.resolution_failed` carries one reason
 * per reference (≤ 1.6 KB each: ≤ 107 KB); `workload.stale` one changed
 * reference and at most STALE_WORKLOADS_PER_EVENT workloads (< 200 KB). The spec itself never travels on the bus: its size
 * limit bounds the database row and the gRPC messages (4 MB).
 * workload-limits.test.ts builds each of these events at the limits.
 */
export const WORKLOAD_LIMITS = {
  /** The JSON document as applied, in bytes. */
  specBytes: 256 * 1024,
  /** Distinct secret references (structured or `${secrets.KEY}`) per workload. */
  references: 64,
  /** Characters of one literal value (an environment variable, a Spark conf, an endpoint). */
  valueChars: 32 * 1024,
  /** Characters of an environment variable name or a Spark conf key. */
  nameChars: 255,
} as const;

/**
 * Spark's own default for `spark.redaction.regex` (Spark 3.x): the pattern the
 * seed documents describe as masking "secret, password, token" (and access
 * keys) in Spark's logs and UI. Every Spark conf Latchkey hands to a workload
 * carries it, after any pattern of the workload's own.
 */
export const SPARK_REDACTION_REGEX = '(?i)secret|password|token|access[.]?key';
export const SPARK_REDACTION_KEY = 'spark.redaction.regex';

/**
 * Where a STORAGE_CONFIG's settings reach the runtime: the S3A Spark/Hadoop
 * settings the seed documents use (`spark.hadoop.fs.s3a.access.key`,
 * `spark.hadoop.fs.s3a.secret.key`), plus the endpoint.
 */
export const S3A_SETTINGS = {
  endpoint: 'spark.hadoop.fs.s3a.endpoint',
  region: 'spark.hadoop.fs.s3a.endpoint.region',
  pathStyle: 'spark.hadoop.fs.s3a.path.style.access',
  accessKey: 'spark.hadoop.fs.s3a.access.key',
  secretKey: 'spark.hadoop.fs.s3a.secret.key',
} as const;

/** A structured reference `{key, source: {type, id}}`; KUBERNETES is stored as MANAGED. */
export interface StructuredRef {
  key: string;
  source: { type: SourceType; id: string };
}

/** One value: a literal (possibly with `${secrets.KEY}` placeholders) or a reference. */
export type SpecValue = string | StructuredRef;
export type ValueMap = Record<string, SpecValue>;

/**
 * A workload as applied and shown, in the payload shape of its kind (the
 * seed API's): literals and references only, never values.
 *
 * | kind | where values go |
 * | COMPUTE | envVars, sparkConf |
 * | SPARK_JOB, SPARK_STREAMING_JOB, SDK_SPARK_JOB | template.envVars, template.sparkConf |
 * | JUPYTER_CONTAINER | config.envVars |
 * | STORAGE_CONFIG | endpoint, accessKey, secretKey (legacy), storageSecret (region, bucket, pathStyle: literals) |
 *
 * Workloads stored by earlier versions may carry top-level envVars/sparkConf
 * whatever their kind; they are still injected (see injectionsOf).
 */
export interface WorkloadSpec {
  name: string;
  kind: WorkloadKind;
  description?: string;
  envVars?: ValueMap;
  sparkConf?: ValueMap;
  template?: { envVars?: ValueMap; sparkConf?: ValueMap };
  config?: { envVars?: ValueMap };
  endpoint?: string;
  /** A STORAGE_CONFIG's S3 region (default us-east-1), bucket, and whether the bucket goes in the path. */
  region?: string;
  bucket?: string;
  pathStyle?: boolean;
  /** The S3 access key id: a literal, a placeholder or a reference. */
  accessKey?: SpecValue;
  /** Legacy: a literal, possibly with placeholders; not used while storageSecret is set. */
  secretKey?: string;
  storageSecret?: StructuredRef;
  run?: WorkloadRun;
  /** Whether a rotation redeploys it by itself (see redeploy-policy.ts); absent: manual. */
  redeployPolicy?: RedeployPolicy;
}

/** How a workload runs: its command, and for the kubernetes runtime its image and resources. */
export interface WorkloadRun {
  command: string[];
  image?: string;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}

/** Where each kind takes its values, for messages. */
export const LAYOUT: Record<WorkloadKind, string> = {
  COMPUTE: 'a COMPUTE workload takes envVars and sparkConf at the top level',
  SPARK_JOB: 'a SPARK_JOB takes template.envVars and template.sparkConf',
  SPARK_STREAMING_JOB: 'a SPARK_STREAMING_JOB takes template.envVars and template.sparkConf',
  SDK_SPARK_JOB: 'an SDK_SPARK_JOB takes template.envVars and template.sparkConf',
  JUPYTER_CONTAINER: 'a JUPYTER_CONTAINER takes config.envVars only (no Spark conf)',
  STORAGE_CONFIG:
    'a STORAGE_CONFIG takes endpoint, region, bucket, pathStyle, accessKey (the access key id), secretKey (legacy literal) and storageSecret (a reference), and no envVars or sparkConf',
};
