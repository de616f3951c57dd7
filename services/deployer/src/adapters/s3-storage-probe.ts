import { ListObjectsV2Command, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import type {
  StorageFailure,
  StorageProbe,
  StorageProbeOutcome,
  StorageTarget,
} from '../domain/workloads/storage-probe.js';

/** S3's error codes, by what they mean for a connection test. */
const BY_CODE: Readonly<Record<string, StorageFailure>> = {
  InvalidAccessKeyId: 'bad_credentials',
  SignatureDoesNotMatch: 'signature_mismatch',
  AccessDenied: 'access_denied',
  AllAccessDisabled: 'access_denied',
  AccountProblem: 'access_denied',
  NoSuchBucket: 'no_such_bucket',
  AuthorizationHeaderMalformed: 'wrong_region',
  PermanentRedirect: 'wrong_region',
  IllegalLocationConstraintException: 'wrong_region',
  RequestTimeTooSkewed: 'clock_skew',
};

/** Connection errors Node names in `err.code` (DNS, TCP, TLS). */
const NETWORK = /^(E[A-Z]+|ERR_TLS_[A-Z_]+|[A-Z_]*CERT[A-Z_]*|UNABLE_TO_[A-Z_]+|SELF_SIGNED_[A-Z_]+)$/;
/** What may be shown of a connection error: Node's own `connect ECONNREFUSED 127.0.0.1:9` shape. */
const NETWORK_MESSAGE = /^(connect|getaddrinfo|read|write|socket hang up)( [A-Z_]+)?( [A-Za-z0-9.:[\]_-]{1,300})?$/;
const TOKEN = /^[A-Za-z][A-Za-z0-9.]{0,63}$/;
const REGION = /expecting '([A-Za-z0-9_.-]{1,63})'/;

interface NodeError {
  name?: string;
  code?: string;
  message?: string;
  errors?: unknown[];
  cause?: unknown;
}

/** The connection error underneath (an AggregateError of several addresses: its first). */
function networkCause(err: unknown): NodeError | undefined {
  for (let e = err as NodeError | undefined, depth = 0; e && depth < 4; depth++) {
    if (typeof e.code === 'string' && NETWORK.test(e.code)) return e;
    if (Array.isArray(e.errors) && e.errors.length > 0) e = e.errors[0] as NodeError;
    else e = e.cause as NodeError | undefined;
  }
  return undefined;
}

function failed(failure: StorageFailure, status: number, detail: string): StorageProbeOutcome {
  return { ok: false, failure, status, detail };
}

/** Classifies what the one request ended with. The detail never carries the endpoint's free text. */
export function classifyS3Error(err: unknown): StorageProbeOutcome {
  if (err instanceof S3ServiceException) {
    const status = err.$metadata.httpStatusCode ?? 0;
    const failure = BY_CODE[err.name];
    if (failure === 'wrong_region') {
      const region = (err as { Region?: unknown }).Region;
      const expected = typeof region === 'string' ? region : (REGION.exec(err.message)?.[1] ?? '');
      return failed('wrong_region', status, /^[A-Za-z0-9_.-]{1,63}$/.test(expected) ? expected : '');
    }
    if (failure) return failed(failure, status, err.name);
    return failed('endpoint_error', status, TOKEN.test(err.name) && err.name !== 'Unknown' ? err.name : 'an error');
  }
  const e = err as NodeError;
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return failed('timeout', 0, '');
  const cause = networkCause(err);
  if (cause) {
    const message = typeof cause.message === 'string' && NETWORK_MESSAGE.test(cause.message) ? cause.message : '';
    return failed('endpoint_unreachable', 0, message || `${cause.code}`);
  }
  // A response that is not S3's (HTML, an empty 200 body that does not parse, ...).
  const status = (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode ?? 0;
  return failed('endpoint_error', status, 'a response that is not an S3 answer');
}

/**
 * The connection test's one request, through the AWS SDK's S3 client: a
 * ListObjectsV2 of at most one key (a HEAD would answer errors without a
 * body, so InvalidAccessKeyId, SignatureDoesNotMatch and AccessDenied would
 * all read "403"), signed with SigV4, no retry, within `timeoutMs`. The
 * client is made for that request and destroyed after it; it logs nothing.
 */
export class S3StorageProbe implements StorageProbe {
  async probe(t: StorageTarget, timeoutMs: number): Promise<StorageProbeOutcome> {
    const client = new S3Client({
      region: t.region,
      ...(t.endpoint ? { endpoint: t.endpoint.toString() } : {}),
      forcePathStyle: t.pathStyle,
      // Only the spec says where the signed request goes: not AWS_ENDPOINT_URL(_S3) or ~/.aws/config
      // on the deployer's machine (the answer names the endpoint it tried from the spec).
      ignoreConfiguredEndpointUrls: true,
      maxAttempts: 1,
      credentials: { accessKeyId: t.accessKeyId, secretAccessKey: t.secretAccessKey },
      requestHandler: { connectionTimeout: timeoutMs, requestTimeout: timeoutMs },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    try {
      const out = await client.send(new ListObjectsV2Command({ Bucket: t.bucket, MaxKeys: 1 }), {
        abortSignal: AbortSignal.timeout(timeoutMs),
      });
      return { ok: true, status: out.$metadata.httpStatusCode ?? 200 };
    } catch (err) {
      return classifyS3Error(err);
    } finally {
      client.destroy();
    }
  }
}
