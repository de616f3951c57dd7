/**
 * The port of a STORAGE_CONFIG's connection test: one signed S3 request to
 * the configured endpoint, and what came of it, classified. The adapter
 * (adapters/s3-storage-probe.ts) speaks S3; this file says what each outcome
 * means to the person who asked, never with a credential in it.
 */

/** Where and as whom the one request goes. The two keys are resolved values: never logged, never echoed. */
export interface StorageTarget {
  /** An http(s) URL; undefined: AWS's own endpoint of the region. */
  endpoint?: URL;
  region: string;
  bucket: string;
  pathStyle: boolean;
  accessKeyId: string;
  secretAccessKey: string;
}

/** How a request failed, as the adapter tells it. */
export type StorageFailure =
  | 'endpoint_unreachable'
  | 'timeout'
  | 'bad_credentials'
  | 'signature_mismatch'
  | 'access_denied'
  | 'no_such_bucket'
  | 'wrong_region'
  | 'clock_skew'
  | 'endpoint_error';

export type StorageProbeOutcome =
  | { ok: true; status: number }
  | {
      ok: false;
      failure: StorageFailure;
      /** HTTP status, 0 when nothing answered. */
      status: number;
      /**
       * What the adapter may add, checked to hold no credential: the
       * connection error (`connect ECONNREFUSED 127.0.0.1:9`), the region
       * the endpoint expects, or the S3 error code it answered.
       */
      detail: string;
    };

export interface StorageProbe {
  /** One request, no retry; never throws for what the endpoint did (that is an outcome). */
  probe(target: StorageTarget, timeoutMs: number): Promise<StorageProbeOutcome>;
}

/** The result codes of a connection test that did not succeed, each listed once. */
export const STORAGE_TEST_CODES = {
  endpoint_unreachable: 'storage.endpoint_unreachable',
  timeout: 'storage.endpoint_unreachable',
  bad_credentials: 'storage.bad_credentials',
  signature_mismatch: 'storage.signature_mismatch',
  access_denied: 'storage.access_denied',
  no_such_bucket: 'storage.no_such_bucket',
  wrong_region: 'storage.wrong_region',
  clock_skew: 'storage.clock_skew',
  endpoint_error: 'storage.endpoint_error',
  invalidEndpoint: 'storage.invalid_endpoint',
  credentialsUnresolved: 'storage.credentials_unresolved',
} as const;

/**
 * The adapter's detail, unless it holds one of `secrets` (the request's keys,
 * every resolved value, an endpoint host made of one): the detail's shape is
 * checked by the adapter, but an access key id has the shape of an S3 error
 * code and of a region, and a hostile endpoint can answer with either.
 */
export function withoutSecrets(
  o: Extract<StorageProbeOutcome, { ok: false }>,
  secrets: Iterable<string>,
): Extract<StorageProbeOutcome, { ok: false }> {
  for (const s of secrets) if (s.length >= 4 && o.detail.includes(s)) return { ...o, detail: '' };
  return o;
}

/** The precise reason of a failed probe, for the person who asked: what went wrong and what to check. */
export function probeReason(
  o: Extract<StorageProbeOutcome, { ok: false }>,
  t: StorageTarget,
  timeoutMs: number,
): string {
  switch (o.failure) {
    case 'endpoint_unreachable':
      return `endpoint unreachable: ${o.detail}`;
    case 'timeout':
      return `endpoint unreachable: no answer within ${Math.round(timeoutMs / 100) / 10} s`;
    case 'bad_credentials':
      return 'bad credentials: the access key id is not known (InvalidAccessKeyId): check $.accessKey';
    case 'signature_mismatch':
      return 'signature does not match: wrong secret key (SignatureDoesNotMatch): check $.storageSecret';
    case 'access_denied':
      return `access denied: the credentials may not list bucket ${t.bucket} (AccessDenied)`;
    case 'no_such_bucket':
      return `no such bucket ${t.bucket} (NoSuchBucket): check $.bucket`;
    case 'wrong_region':
      return `wrong region: the endpoint expects ${o.detail || 'another region'}, the storage config says ${t.region}: check $.region`;
    case 'clock_skew':
      return "request time too skewed: this deployer's clock and the endpoint's differ by more than 15 minutes (RequestTimeTooSkewed)";
    case 'endpoint_error':
      return `the endpoint answered ${o.detail || 'an error'}${o.status ? ` (HTTP ${o.status})` : ''}`;
  }
}
