import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  awsUriEncode,
  canonicalQuery,
  canonicalRequest,
  credentialScope,
  EMPTY_SHA256,
  headerValues,
  parseAuthorization,
  signature,
  signingKey,
  stringToSign,
} from './sigv4.js';

// AWS's published example (S3 API reference, "Examples: Signature Calculations", GET Object):
// the example credentials and the canonical request, string to sign and signature it lists.
const EXAMPLE_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

test('sigv4: AWS’s GET Object example gives its canonical request, string to sign and signature', () => {
  const headers = headerValues([
    'Host',
    'examplebucket.s3.amazonaws.com',
    'Range',
    'bytes=0-9',
    'x-amz-content-sha256',
    EMPTY_SHA256,
    'x-amz-date',
    '20130524T000000Z',
  ]);
  const canonical = canonicalRequest({
    method: 'GET',
    path: '/test.txt',
    rawQuery: '',
    headers,
    signedHeaders: ['host', 'range', 'x-amz-content-sha256', 'x-amz-date'],
    payloadHash: EMPTY_SHA256,
  });
  assert.equal(
    canonical,
    [
      'GET',
      '/test.txt',
      '',
      'host:examplebucket.s3.amazonaws.com',
      'range:bytes=0-9',
      `x-amz-content-sha256:${EMPTY_SHA256}`,
      'x-amz-date:20130524T000000Z',
      '',
      'host;range;x-amz-content-sha256;x-amz-date',
      EMPTY_SHA256,
    ].join('\n'),
  );
  const toSign = stringToSign('20130524T000000Z', credentialScope('20130524', 'us-east-1', 's3'), canonical);
  assert.equal(
    toSign,
    'AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972',
  );
  assert.equal(
    signature(signingKey(EXAMPLE_SECRET, '20130524', 'us-east-1', 's3'), toSign),
    'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
  );
  // One character of the secret changed gives another signature.
  assert.notEqual(
    signature(signingKey(`${EXAMPLE_SECRET.slice(0, -1)}X`, '20130524', 'us-east-1', 's3'), toSign),
    'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
  );
});

test('sigv4: the query is encoded and sorted by name then value; header values trimmed and joined', () => {
  assert.equal(
    canonicalQuery('max-keys=1&list-type=2&x-id=ListObjectsV2'),
    'list-type=2&max-keys=1&x-id=ListObjectsV2',
  );
  assert.equal(canonicalQuery('b=2&a=z&a=y&acl'), 'a=y&a=z&acl=&b=2');
  assert.equal(canonicalQuery('prefix=a%20b%2Fc'), 'prefix=a%20b%2Fc');
  assert.equal(awsUriEncode("a b!*'()~"), 'a%20b%21%2A%27%28%29~');
  const headers = headerValues(['X-Amz-Meta-A', '  one   two ', 'x-amz-meta-a', 'three']);
  const canonical = canonicalRequest({
    method: 'get',
    path: '',
    rawQuery: '',
    headers,
    signedHeaders: ['x-amz-meta-a'],
    payloadHash: 'UNSIGNED-PAYLOAD',
  });
  assert.equal(canonical.split('\n')[0], 'GET');
  assert.equal(canonical.split('\n')[1], '/');
  assert.equal(canonical.split('\n')[3], 'x-amz-meta-a:one two,three');
});

test('sigv4: a malformed Authorization header is refused with the reason', () => {
  const good =
    'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=' +
    'f'.repeat(64);
  const parsed = parseAuthorization(good);
  assert.ok(typeof parsed !== 'string');
  assert.equal(parsed.accessKeyId, 'AKIDEXAMPLE');
  assert.deepEqual(parsed.signedHeaders, ['host', 'x-amz-date']);
  assert.match(parseAuthorization('AWS AKID:sig') as string, /AWS4-HMAC-SHA256/);
  assert.match(parseAuthorization(good.replace('/s3/aws4_request', '')) as string, /Credential must be/);
  assert.match(parseAuthorization(good.replace('f'.repeat(64), 'xyz')) as string, /64 lower-case hex/);
  assert.match(parseAuthorization(good.replace('20130524', '2013-05')) as string, /not yyyymmdd/);
});
