// The S3 emulator against the real AWS SDK client: what a correctly signed
// request gets, and the error code S3 answers for each wrong credential.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { HeadBucketCommand, ListObjectsV2Command, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { startS3Emulator, type S3Emulator } from './server.js';

const ACCESS_KEY = 'AKIAEMULATOR0000001';
const SECRET = 'emulator-secret-0123456789abcdefghijklmn';
const OTHER_KEY = 'AKIAEMULATOR0000002';
const OTHER_SECRET = 'emulator-secret-other-000000000000000000';

let s3: S3Emulator;

before(async () => {
  s3 = await startS3Emulator({ region: 'eu-west-3' });
  s3.addKey(ACCESS_KEY, SECRET);
  s3.addKey(OTHER_KEY, OTHER_SECRET);
  s3.addBucket('lake', { objects: ['a.parquet', 'b.parquet'] });
  s3.addBucket('finance', { allow: [OTHER_KEY] });
});
after(() => s3?.stop());

function client(o: { accessKeyId?: string; secretAccessKey?: string; region?: string } = {}): S3Client {
  return new S3Client({
    endpoint: s3.url,
    region: o.region ?? 'eu-west-3',
    forcePathStyle: true,
    maxAttempts: 1,
    credentials: { accessKeyId: o.accessKeyId ?? ACCESS_KEY, secretAccessKey: o.secretAccessKey ?? SECRET },
  });
}

/** The S3 error a command ends with: its name (S3's code) and HTTP status. */
async function failure(c: S3Client, command: HeadBucketCommand | ListObjectsV2Command) {
  try {
    await c.send(command as ListObjectsV2Command);
  } catch (err) {
    assert.ok(err instanceof S3ServiceException, `an S3 error, not ${String(err)}`);
    return { name: err.name, status: err.$metadata.httpStatusCode, message: err.message };
  } finally {
    c.destroy();
  }
  assert.fail('the command succeeded');
}

test('s3 emulator: a correctly signed HeadBucket and ListObjectsV2 succeed', async () => {
  const c = client();
  try {
    const head = await c.send(new HeadBucketCommand({ Bucket: 'lake' }));
    assert.equal(head.$metadata.httpStatusCode, 200);
    assert.equal(head.BucketRegion, 'eu-west-3');
    const list = await c.send(new ListObjectsV2Command({ Bucket: 'lake', MaxKeys: 1 }));
    assert.equal(list.KeyCount, 1);
    assert.deepEqual(
      list.Contents?.map((o) => o.Key),
      ['a.parquet'],
    );
    assert.equal(list.IsTruncated, true);
  } finally {
    c.destroy();
  }
  const last = s3.requests.slice(-2);
  assert.deepEqual(
    last.map((r) => [r.method, r.bucket, r.accessKeyId, r.outcome]),
    [
      ['HEAD', 'lake', ACCESS_KEY, 'ok'],
      ['GET', 'lake', ACCESS_KEY, 'ok'],
    ],
  );
});

test('s3 emulator: an unknown access key id is InvalidAccessKeyId (403)', async () => {
  const f = await failure(
    client({ accessKeyId: 'AKIAUNKNOWN000000000' }),
    new ListObjectsV2Command({ Bucket: 'lake' }),
  );
  assert.deepEqual([f.name, f.status], ['InvalidAccessKeyId', 403]);
});

test('s3 emulator: a wrong secret key is SignatureDoesNotMatch (403), and the secret is in no answer or log', async () => {
  const wrong = `${SECRET.slice(0, -1)}X`;
  const f = await failure(client({ secretAccessKey: wrong }), new ListObjectsV2Command({ Bucket: 'lake', MaxKeys: 1 }));
  assert.deepEqual([f.name, f.status], ['SignatureDoesNotMatch', 403]);
  const text = JSON.stringify(s3.requests) + f.message;
  assert.ok(!text.includes(SECRET) && !text.includes(wrong));
});

test('s3 emulator: a key the bucket does not allow is AccessDenied (403); a missing bucket NoSuchBucket (404)', async () => {
  const denied = await failure(client(), new ListObjectsV2Command({ Bucket: 'finance', MaxKeys: 1 }));
  assert.deepEqual([denied.name, denied.status], ['AccessDenied', 403]);
  const missing = await failure(client(), new ListObjectsV2Command({ Bucket: 'no-such', MaxKeys: 1 }));
  assert.deepEqual([missing.name, missing.status], ['NoSuchBucket', 404]);
  // HEAD has no body: the SDK names the error by its status only.
  const headMissing = await failure(client(), new HeadBucketCommand({ Bucket: 'no-such' }));
  assert.equal(headMissing.status, 404);
  // The owner of the other key is let in.
  const other = client({ accessKeyId: OTHER_KEY, secretAccessKey: OTHER_SECRET });
  try {
    assert.equal((await other.send(new ListObjectsV2Command({ Bucket: 'finance' }))).KeyCount, 0);
  } finally {
    other.destroy();
  }
});

test('s3 emulator: a signature scoped to another region is AuthorizationHeaderMalformed (400)', async () => {
  const f = await failure(client({ region: 'us-east-1' }), new ListObjectsV2Command({ Bucket: 'lake', MaxKeys: 1 }));
  assert.deepEqual([f.name, f.status], ['AuthorizationHeaderMalformed', 400]);
  assert.match(f.message, /the region 'us-east-1' is wrong; expecting 'eu-west-3'/);
});

test('s3 emulator: a request signed 20 minutes ago is RequestTimeTooSkewed (403)', async () => {
  const late = await startS3Emulator({ region: 'eu-west-3', clock: () => new Date(Date.now() + 20 * 60_000) });
  late.addKey(ACCESS_KEY, SECRET);
  late.addBucket('lake');
  const c = new S3Client({
    endpoint: late.url,
    region: 'eu-west-3',
    forcePathStyle: true,
    maxAttempts: 1,
    // The SDK corrects its clock from a skew answer and retries; one attempt keeps the answer.
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET },
  });
  try {
    const f = await failure(c, new ListObjectsV2Command({ Bucket: 'lake', MaxKeys: 1 }));
    assert.deepEqual([f.name, f.status], ['RequestTimeTooSkewed', 403]);
  } finally {
    await late.stop();
  }
});

test('s3 emulator: an unsigned request is AccessDenied; a tampered one SignatureDoesNotMatch', async () => {
  const anonymous = await fetch(`${s3.url}/lake?list-type=2`);
  assert.equal(anonymous.status, 403);
  assert.match(await anonymous.text(), /<Code>AccessDenied<\/Code>/);
  // A signature copied from a real request (as sent: the deserialize step is after signing) onto another query does not hold.
  const captured: Record<string, string> = {};
  const c = client();
  c.middlewareStack.add(
    (next) => async (args) => {
      const r = args.request as { headers: Record<string, string> };
      Object.assign(captured, r.headers);
      return next(args);
    },
    { step: 'deserialize', name: 'capture' },
  );
  try {
    await c.send(new ListObjectsV2Command({ Bucket: 'lake', MaxKeys: 1 }));
  } finally {
    c.destroy();
  }
  const { host: _host, ...headers } = captured;
  const tampered = await fetch(`${s3.url}/lake?list-type=2&max-keys=2&x-id=ListObjectsV2`, { headers });
  assert.equal(tampered.status, 403);
  assert.match(await tampered.text(), /<Code>SignatureDoesNotMatch<\/Code>/);
});
