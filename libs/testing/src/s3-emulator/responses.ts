/** S3's answers as the emulator sends them: the REST error document and the few successful bodies it serves. */
import { randomBytes } from 'node:crypto';

/** An S3 error: its HTTP status, its code and message, and the extra elements S3 adds for that code. */
export interface S3ErrorReply {
  status: number;
  code: string;
  message: string;
  extra?: Record<string, string>;
}

export const xmlEscape = (s: string): string =>
  s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);

const XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n';
export const requestId = (): string => randomBytes(8).toString('hex').toUpperCase();

/** `<Error><Code>…</Code><Message>…</Message>…<RequestId>…</RequestId></Error>`, as S3 sends it. */
export function errorXml(e: S3ErrorReply, id: string): string {
  const extra = Object.entries(e.extra ?? {})
    .map(([k, v]) => `<${k}>${xmlEscape(v)}</${k}>`)
    .join('');
  return `${XML_HEAD}<Error><Code>${e.code}</Code><Message>${xmlEscape(e.message)}</Message>${extra}<RequestId>${id}</RequestId><HostId>${id}</HostId></Error>`;
}

export const s3Errors = {
  malformed: (message: string, extra?: Record<string, string>): S3ErrorReply => ({
    status: 400,
    code: 'AuthorizationHeaderMalformed',
    message: `The authorization header is malformed; ${message}`,
    ...(extra ? { extra } : {}),
  }),
  invalidAccessKeyId: (accessKeyId: string): S3ErrorReply => ({
    status: 403,
    code: 'InvalidAccessKeyId',
    message: 'The AWS Access Key Id you provided does not exist in our records.',
    extra: { AWSAccessKeyId: accessKeyId },
  }),
  signatureDoesNotMatch: (accessKeyId: string, toSign: string, canonical: string): S3ErrorReply => ({
    status: 403,
    code: 'SignatureDoesNotMatch',
    message:
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    extra: { AWSAccessKeyId: accessKeyId, StringToSign: toSign, CanonicalRequest: canonical },
  }),
  accessDenied: (): S3ErrorReply => ({ status: 403, code: 'AccessDenied', message: 'Access Denied' }),
  noSuchBucket: (bucket: string): S3ErrorReply => ({
    status: 404,
    code: 'NoSuchBucket',
    message: 'The specified bucket does not exist',
    extra: { BucketName: bucket },
  }),
  skewed: (amzDate: string, now: Date): S3ErrorReply => ({
    status: 403,
    code: 'RequestTimeTooSkewed',
    message: 'The difference between the request time and the current time is too large.',
    extra: { RequestTime: amzDate, ServerTime: now.toISOString(), MaxAllowedSkewMilliseconds: '900000' },
  }),
  missingHeader: (name: string): S3ErrorReply => ({
    status: 400,
    code: 'InvalidRequest',
    message: `Missing required header for this request: ${name}`,
  }),
  contentSha256Mismatch: (): S3ErrorReply => ({
    status: 400,
    code: 'XAmzContentSHA256Mismatch',
    message: "The provided 'x-amz-content-sha256' header does not match what was computed.",
  }),
  notImplemented: (): S3ErrorReply => ({
    status: 501,
    code: 'NotImplemented',
    message: 'A header or query you provided implies functionality that is not implemented.',
  }),
};

/** ListObjectsV2's answer: at most `maxKeys` of `keys` (no prefix, delimiter or continuation). */
export function listObjectsV2Xml(bucket: string, keys: readonly string[], maxKeys: number): string {
  const shown = keys.slice(0, maxKeys);
  const contents = shown
    .map((k) => `<Contents><Key>${xmlEscape(k)}</Key><Size>0</Size><StorageClass>STANDARD</StorageClass></Contents>`)
    .join('');
  return `${XML_HEAD}<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${xmlEscape(bucket)}</Name><Prefix></Prefix><KeyCount>${shown.length}</KeyCount><MaxKeys>${maxKeys}</MaxKeys><IsTruncated>${shown.length < keys.length}</IsTruncated>${contents}</ListBucketResult>`;
}
