/**
 * A small S3 endpoint for tests that checks AWS Signature Version 4 as S3
 * does and answers with S3's status codes and error documents:
 *
 * - Authentication (Authorization header only): AuthorizationHeaderMalformed
 *   (400; also a scope of another region, with `<Region>`, or another
 *   service), InvalidAccessKeyId (403), RequestTimeTooSkewed (403, more than
 *   15 minutes off), SignatureDoesNotMatch (403, with the StringToSign and
 *   CanonicalRequest it computed), InvalidRequest (400, no
 *   x-amz-content-sha256), XAmzContentSHA256Mismatch (400). A request
 *   without credentials gets AccessDenied (403); a presigned URL NotImplemented.
 * - Then the bucket (path style `/bucket/...`, or virtual-hosted
 *   `bucket.<host>`): NoSuchBucket (404), AccessDenied (403) for a key the
 *   bucket does not allow.
 * - HeadBucket (200 with x-amz-bucket-region), ListObjectsV2 (`list-type=2`,
 *   `max-keys`), anything else NotImplemented (501). HEAD answers carry no
 *   body, as S3's do: only the status tells the error.
 *
 * The log keeps, per request, the access key id it named and what the
 * emulator answered; never a secret key or a signature.
 */
import http from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { closeServer, listenOnLoopback } from '../emulator-common/json-http.js';
import { errorXml, listObjectsV2Xml, requestId, s3Errors, type S3ErrorReply } from './responses.js';
import {
  canonicalRequest,
  credentialScope,
  headerValues,
  parseAuthorization,
  sha256Hex,
  signature,
  signingKey,
  stringToSign,
  UNSIGNED_PAYLOAD,
} from './sigv4.js';

const MAX_SKEW_MS = 15 * 60 * 1000;
const MAX_BODY_BYTES = 1024 * 1024;

export interface S3EmulatorOptions {
  /** The region its signatures must be scoped to; default us-east-1. */
  region?: string;
  /** The clock it checks x-amz-date against; default the real one. */
  clock?: () => Date;
}

export interface S3BucketOptions {
  /** The access key ids that may use it; default every key. */
  allow?: readonly string[];
  /** Object keys it holds (ListObjectsV2 lists them). */
  objects?: readonly string[];
}

export interface S3RequestLogEntry {
  method: string;
  path: string;
  /** The access key id the request was signed with ('' without credentials). */
  accessKeyId: string;
  /** The bucket it named ('' for none). */
  bucket: string;
  /** `ok`, or the S3 error code answered. */
  outcome: string;
  status: number;
}

export interface S3Emulator {
  /** `http://127.0.0.1:PORT`: the endpoint for a path-style client. */
  url: string;
  port: number;
  region: string;
  addKey(accessKeyId: string, secretAccessKey: string): void;
  addBucket(name: string, opts?: S3BucketOptions): void;
  readonly requests: readonly S3RequestLogEntry[];
  stop(): Promise<void>;
}

interface State {
  region: string;
  clock: () => Date;
  keys: Map<string, string>;
  buckets: Map<string, { allow?: Set<string>; objects: string[] }>;
}

type Reply = { status: number; headers?: Record<string, string>; body?: string; error?: S3ErrorReply };

/** `20130524T000000Z` as a time, or undefined. */
function parseAmzDate(s: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return undefined;
  const t = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  return Number.isNaN(t) ? undefined : new Date(t);
}

/** Who signed the request, once its signature holds; or the error S3 answers. */
function authenticate(state: State, req: http.IncomingMessage, body: Buffer): { accessKeyId: string } | S3ErrorReply {
  const headers = headerValues(req.rawHeaders);
  const [path = '/', rawQuery = ''] = (req.url ?? '/').split(/\?(.*)/s);
  if (/(^|&)X-Amz-Signature=/i.test(rawQuery)) return s3Errors.notImplemented();
  const authorization = headers.get('authorization')?.[0];
  if (authorization === undefined) return s3Errors.accessDenied();
  const auth = parseAuthorization(authorization);
  if (typeof auth === 'string') return s3Errors.malformed(auth);
  if (auth.region !== state.region) {
    return s3Errors.malformed(`the region '${auth.region}' is wrong; expecting '${state.region}'`, {
      Region: state.region,
    });
  }
  if (auth.service !== 's3' || auth.terminator !== 'aws4_request') {
    return s3Errors.malformed('the credential scope must end in s3/aws4_request');
  }
  if (!auth.signedHeaders.includes('host')) return s3Errors.malformed('the host header must be signed');
  const secret = state.keys.get(auth.accessKeyId);
  if (secret === undefined) return s3Errors.invalidAccessKeyId(auth.accessKeyId);
  const amzDate = headers.get('x-amz-date')?.[0] ?? '';
  const at = parseAmzDate(amzDate);
  if (!at || !amzDate.startsWith(auth.date))
    return s3Errors.malformed('x-amz-date is missing or does not match the Credential date');
  const now = state.clock();
  if (Math.abs(now.getTime() - at.getTime()) > MAX_SKEW_MS) return s3Errors.skewed(amzDate, now);
  const payloadHash = headers.get('x-amz-content-sha256')?.[0];
  if (payloadHash === undefined) return s3Errors.missingHeader('x-amz-content-sha256');
  if (payloadHash !== UNSIGNED_PAYLOAD && payloadHash !== sha256Hex(body)) return s3Errors.contentSha256Mismatch();
  const canonical = canonicalRequest({
    method: req.method ?? 'GET',
    path,
    rawQuery,
    headers,
    signedHeaders: auth.signedHeaders,
    payloadHash,
  });
  const toSign = stringToSign(amzDate, credentialScope(auth.date, auth.region, auth.service), canonical);
  const expected = signature(signingKey(secret, auth.date, auth.region, auth.service), toSign);
  if (!timingSafeEqual(Buffer.from(expected), Buffer.from(auth.signature))) {
    return s3Errors.signatureDoesNotMatch(auth.accessKeyId, toSign, canonical);
  }
  return { accessKeyId: auth.accessKeyId };
}

/** The bucket a request names and the object path after it (path style, or virtual-hosted on the Host header). */
function target(state: State, req: http.IncomingMessage): { bucket: string; rest: string } {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  const host = (req.headers.host ?? '').split(':')[0] ?? '';
  const dot = host.indexOf('.');
  if (dot > 0 && state.buckets.has(host.slice(0, dot))) return { bucket: host.slice(0, dot), rest: path.slice(1) };
  const [, bucket = '', ...rest] = path.split('/');
  return { bucket: decodeURIComponent(bucket), rest: rest.join('/') };
}

function route(state: State, req: http.IncomingMessage, who: string, bucket: string, rest: string): Reply {
  const query = new URL(req.url ?? '/', 'http://s3.invalid').searchParams;
  if (bucket === '') return { status: 501, error: s3Errors.notImplemented() };
  const b = state.buckets.get(bucket);
  if (!b) return { status: 404, error: s3Errors.noSuchBucket(bucket) };
  if (b.allow && !b.allow.has(who)) return { status: 403, error: s3Errors.accessDenied() };
  if (rest === '' && req.method === 'HEAD') {
    return { status: 200, headers: { 'x-amz-bucket-region': state.region } };
  }
  if (rest === '' && req.method === 'GET' && query.get('list-type') === '2') {
    const max = Math.min(1000, Math.max(0, Number.parseInt(query.get('max-keys') ?? '1000', 10) || 0));
    return {
      status: 200,
      headers: { 'Content-Type': 'application/xml' },
      body: listObjectsV2Xml(bucket, b.objects, max),
    };
  }
  return { status: 501, error: s3Errors.notImplemented() };
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large for the emulator');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function send(req: http.IncomingMessage, res: http.ServerResponse, r: Reply): void {
  const id = requestId();
  const headers: Record<string, string> = { 'x-amz-request-id': id, 'x-amz-id-2': id, ...r.headers };
  if (r.error) {
    headers['Content-Type'] = 'application/xml';
    const text = errorXml(r.error, id);
    res.writeHead(r.error.status, { ...headers, 'Content-Length': String(Buffer.byteLength(text)) });
    // HEAD answers carry no body: the status alone tells the error, as with S3.
    res.end(req.method === 'HEAD' ? undefined : text);
    return;
  }
  const text = r.body ?? '';
  res.writeHead(r.status, { ...headers, 'Content-Length': String(Buffer.byteLength(text)) });
  res.end(req.method === 'HEAD' ? undefined : text);
}

/** Starts the emulator on 127.0.0.1 and a free port. */
export async function startS3Emulator(opts: S3EmulatorOptions = {}): Promise<S3Emulator> {
  const state: State = {
    region: opts.region ?? 'us-east-1',
    clock: opts.clock ?? (() => new Date()),
    keys: new Map(),
    buckets: new Map(),
  };
  const log: S3RequestLogEntry[] = [];
  const server = http.createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const { bucket, rest } = target(state, req);
      const who = authenticate(state, req, body);
      const r: Reply =
        'accessKeyId' in who ? route(state, req, who.accessKeyId, bucket, rest) : { status: who.status, error: who };
      const signedBy = 'accessKeyId' in who ? who.accessKeyId : (who.extra?.AWSAccessKeyId ?? '');
      log.push({
        method: req.method ?? '',
        path: (req.url ?? '').split('?')[0] ?? '',
        accessKeyId: signedBy,
        bucket,
        outcome: r.error?.code ?? 'ok',
        status: r.error?.status ?? r.status,
      });
      send(req, res, r);
    })().catch(() => req.socket.destroy());
  });
  const port = await listenOnLoopback(server);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    region: state.region,
    addKey(accessKeyId, secretAccessKey) {
      state.keys.set(accessKeyId, secretAccessKey);
    },
    addBucket(name, o = {}) {
      state.buckets.set(name, { ...(o.allow ? { allow: new Set(o.allow) } : {}), objects: [...(o.objects ?? [])] });
    },
    requests: log,
    stop: () => closeServer(server),
  };
}
