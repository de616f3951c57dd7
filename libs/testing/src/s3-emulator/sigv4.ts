/**
 * AWS Signature Version 4 as S3 checks it on a request signed in its
 * Authorization header (AWS's public documentation: "Signature Calculations
 * for the Authorization Header", "Create a canonical request", "Create a
 * string to sign", "Calculate the signature"):
 *
 *   CanonicalRequest = Method \n CanonicalURI \n CanonicalQueryString \n
 *                      CanonicalHeaders \n SignedHeaders \n HashedPayload
 *   StringToSign     = "AWS4-HMAC-SHA256" \n RequestDateTime \n Scope \n hex(SHA256(CanonicalRequest))
 *   Scope            = yyyymmdd/region/service/aws4_request
 *   SigningKey       = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, yyyymmdd), region), service), "aws4_request")
 *   Signature        = hex(HMAC(SigningKey, StringToSign))
 *
 * S3 does not normalise the path (it is signed as sent, encoded once); the
 * query parameters are URI-encoded and sorted by name, then value; each
 * signed header is its lower-case name, a colon and its value trimmed with
 * inner runs of spaces collapsed, several values joined with commas.
 */
import { createHash, createHmac } from 'node:crypto';

export const ALGORITHM = 'AWS4-HMAC-SHA256';
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

export const sha256Hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();

/** What an `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...` header says. */
export interface ParsedAuthorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  terminator: string;
  signedHeaders: string[];
  signature: string;
}

/** The header parsed, or the reason it is malformed (S3's AuthorizationHeaderMalformed). */
export function parseAuthorization(header: string): ParsedAuthorization | string {
  if (!header.startsWith(`${ALGORITHM} `)) return `the authorization header must use ${ALGORITHM}`;
  const fields = new Map<string, string>();
  for (const part of header.slice(ALGORITHM.length + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) return `the authorization header component ${JSON.stringify(part.trim())} has no '='`;
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential');
  const signed = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!credential || !signed || !signature)
    return 'the authorization header needs Credential, SignedHeaders and Signature';
  const scope = credential.split('/');
  if (scope.length !== 5) return 'the Credential must be ACCESS_KEY_ID/yyyymmdd/region/service/aws4_request';
  const [accessKeyId = '', date = '', region = '', service = '', terminator = ''] = scope;
  if (!/^\d{8}$/.test(date)) return `the Credential date ${JSON.stringify(date)} is not yyyymmdd`;
  if (!/^[0-9a-f]{64}$/.test(signature)) return 'the Signature must be 64 lower-case hex digits';
  return {
    accessKeyId,
    date,
    region,
    service,
    terminator,
    signedHeaders: signed.split(';'),
    signature,
  };
}

/** RFC 3986 encoding as AWS wants it: everything but A-Z a-z 0-9 - _ . ~ is %XX (upper-case hex). */
export function awsUriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function decodeLoosely(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The query of a raw request target (`a=1&b`), canonical: each name and value encoded, sorted by name then value. */
export function canonicalQuery(rawQuery: string): string {
  if (rawQuery === '') return '';
  const pairs = rawQuery
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const eq = p.indexOf('=');
      const name = eq < 0 ? p : p.slice(0, eq);
      const value = eq < 0 ? '' : p.slice(eq + 1);
      return [awsUriEncode(decodeLoosely(name)), awsUriEncode(decodeLoosely(value))] as const;
    });
  pairs.sort(([an, av], [bn, bv]) => (an < bn ? -1 : an > bn ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([n, v]) => `${n}=${v}`).join('&');
}

/** A header value as signed: trimmed, inner runs of spaces collapsed to one. */
const canonicalValue = (v: string): string => v.trim().replace(/ +/g, ' ');

/** Each header's values by lower-case name, from Node's raw header list (repeats kept in order). */
export function headerValues(rawHeaders: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    out.set(name, [...(out.get(name) ?? []), rawHeaders[i + 1]!]);
  }
  return out;
}

export interface CanonicalInput {
  method: string;
  /** The path as sent (already encoded once), `/` when empty. */
  path: string;
  /** The raw query after `?`, '' when none. */
  rawQuery: string;
  headers: ReadonlyMap<string, readonly string[]>;
  signedHeaders: readonly string[];
  payloadHash: string;
}

export function canonicalRequest(r: CanonicalInput): string {
  const headers = r.signedHeaders
    .map((name) => `${name}:${(r.headers.get(name) ?? []).map(canonicalValue).join(',')}\n`)
    .join('');
  return [
    r.method.toUpperCase(),
    r.path === '' ? '/' : r.path,
    canonicalQuery(r.rawQuery),
    headers,
    r.signedHeaders.join(';'),
    r.payloadHash,
  ].join('\n');
}

export const credentialScope = (date: string, region: string, service: string): string =>
  `${date}/${region}/${service}/aws4_request`;

export function stringToSign(amzDate: string, scope: string, canonical: string): string {
  return [ALGORITHM, amzDate, scope, sha256Hex(canonical)].join('\n');
}

export function signingKey(secretAccessKey: string, date: string, region: string, service: string): Buffer {
  const kDate = hmac(`AWS4${secretAccessKey}`, date);
  const kRegion = hmac(kDate, region);
  const kService = hmac(kRegion, service);
  return hmac(kService, 'aws4_request');
}

export function signature(key: Buffer, toSign: string): string {
  return createHmac('sha256', key).update(toSign, 'utf8').digest('hex');
}
