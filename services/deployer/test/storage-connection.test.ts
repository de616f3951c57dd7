// A STORAGE_CONFIG's connection test in the deployer: the credentials come
// from the resolver (a stand-in here that seals them as the resolver does),
// the one request goes through the real S3 client (S3StorageProbe) to the S3
// emulator, which checks its SigV4 signature. Each outcome's precise reason;
// the caller's and the resolver's refusals make no request; no secret in any
// answer, record or log line.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { generateSealKeyPair, seal, type SealKeyPair } from '@latchkey/crypto';
import type { LatchkeyError } from '@latchkey/errors';
import {
  connectionTestBinding,
  type AuditRecord,
  type PlanReply,
  type PlanRequest,
  type PlannedReference,
} from '@latchkey/events';
import type { Logger, LogFields } from '@latchkey/logger';
import { FakeAuthorizer, startS3Emulator, type S3Emulator } from '@latchkey/testing';
import { S3StorageProbe } from '../src/adapters/s3-storage-probe.js';
import type { WorkloadRecord } from '../src/domain/deployment-types.js';
import type { ResolutionPlanner } from '../src/domain/ports.js';
import { parseWorkloadSpec } from '../src/domain/workload-spec.js';
import { StorageConnectionTests } from '../src/domain/workloads/storage-connection-test.js';

const DOMAIN = 'analytics';
const SECRET = `s3-secret-${randomBytes(12).toString('hex')}`;
const WRONG = `s3-wrong-${randomBytes(12).toString('hex')}`;
const ACCESS = 'AKIACONNECTIONTEST01';
const managed = (key: string) => ({ key, source: { type: 'MANAGED', id: DOMAIN } });

/** The resolver's part, faked: each reference resolves from `values` unless it is refused. */
class SealingPlanner implements ResolutionPlanner {
  readonly asked: PlanRequest[] = [];
  refuse = new Set<string>();
  /** Seals with another request's binding (a replayed or misdirected answer). */
  wrongBinding = false;
  constructor(
    private readonly keys: SealKeyPair,
    private readonly values: Record<string, string>,
  ) {}

  plan(req: PlanRequest): Promise<PlanReply> {
    this.asked.push(req);
    const references: PlannedReference[] = req.references.map((r) => {
      const refused = this.refuse.has(r.key);
      return {
        refId: r.refId,
        key: r.key,
        sourceType: r.sourceType,
        ok: !refused,
        scope: refused ? '' : DOMAIN,
        version: refused ? 0 : 1,
        shadowedGlobal: false,
        code: refused ? 'ras.permission_denied' : '',
        message: refused ? `${req.principal} may not use ${r.key}` : '',
        retryable: false,
      };
    });
    if (references.some((r) => !r.ok)) return Promise.resolve({ ok: true, references, warnings: [] });
    const plain = JSON.stringify(Object.fromEntries(req.references.map((r) => [r.refId, this.values[r.key] ?? ''])));
    const binding = connectionTestBinding(this.wrongBinding ? 'another-request' : (req.requestId ?? ''));
    return Promise.resolve({
      ok: true,
      references,
      warnings: [],
      sealed: seal(this.keys, Buffer.from(plain), binding),
    });
  }
}

class CapturingLogger implements Logger {
  readonly lines: string[] = [];
  #add = (msg: string, fields?: LogFields) => this.lines.push(`${msg} ${JSON.stringify(fields ?? {})}`);
  debug = this.#add;
  info = this.#add;
  warn = this.#add;
  error = this.#add;
  child(): Logger {
    return this;
  }
}

let s3: S3Emulator;
/** Accepts connections and never answers. */
let silent: Server;
let silentPort = 0;
const held: Socket[] = [];

before(async () => {
  s3 = await startS3Emulator({ region: 'eu-west-3' });
  s3.addKey(ACCESS, SECRET);
  s3.addBucket('lake-raw');
  s3.addBucket('finance', { allow: ['AKIASOMEONEELSE'] });
  silent = createServer((socket) => {
    held.push(socket);
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  silentPort = (silent.address() as { port: number }).port;
});
after(async () => {
  await s3?.stop();
  for (const socket of held) socket.destroy();
  await new Promise<void>((resolve) => silent.close(() => resolve()));
});

function world(decide?: ConstructorParameters<typeof FakeAuthorizer>[0]) {
  const keys = generateSealKeyPair();
  const planner = new SealingPlanner(keys, { lake_access_key: ACCESS, lake_secret: SECRET, wrong_secret: WRONG });
  const workloads = new Map<string, WorkloadRecord>();
  const audit: AuditRecord[] = [];
  const logger = new CapturingLogger();
  const authorizer = new FakeAuthorizer(decide);
  const tests = new StorageConnectionTests({
    repo: {
      getWorkload: (_d, name) => Promise.resolve(workloads.get(name)),
      recordAudit: (r) => {
        audit.push(r);
        return Promise.resolve();
      },
    },
    authorizer,
    planner,
    storageProbe: new S3StorageProbe(),
    sealKeys: new Map([[keys.kid, keys]]),
    logger,
    storageTestTimeoutMs: 1500,
  });
  const add = (name: string, fields: Record<string, unknown> = {}, kind = 'STORAGE_CONFIG') => {
    const spec = parseWorkloadSpec(
      JSON.stringify({
        name,
        kind,
        ...(kind === 'STORAGE_CONFIG'
          ? {
              endpoint: s3.url,
              region: 'eu-west-3',
              bucket: 'lake-raw',
              pathStyle: true,
              accessKey: managed('lake_access_key'),
              storageSecret: managed('lake_secret'),
              ...fields,
            }
          : { run: { command: ['true'] } }),
      }),
      DOMAIN,
    );
    const now = new Date();
    workloads.set(name, {
      id: randomBytes(8).toString('hex'),
      domain: DOMAIN,
      name,
      kind,
      spec,
      createdAt: now,
      updatedAt: now,
      stale: false,
      staleReasons: [],
      lastDeploymentId: null,
      staleSince: null,
      autoRedeployedAt: null,
      appliedBy: null,
    });
  };
  const run = (name: string, principal = 'ana', groups: string[] = ['data-eng']) =>
    tests.test(principal, DOMAIN, name, groups);
  const leaks = () =>
    [SECRET, WRONG, ACCESS].filter((s) => (JSON.stringify(audit) + logger.lines.join('\n')).includes(s));
  return { add, run, planner, audit, logger, authorizer, leaks };
}

test('connection test: ok from one signed ListObjectsV2; the credentials come from the resolver as the caller, audited', async () => {
  const w = world();
  w.add('lake');
  const before = s3.requests.length;
  const r = await w.run('lake');
  assert.equal(r.ok, true, r.message);
  assert.equal(r.httpStatus, 200);
  assert.deepEqual([r.endpoint, r.region, r.bucket, r.code], [s3.url, 'eu-west-3', 'lake-raw', '']);
  assert.deepEqual(
    r.references.map((x) => [x.key, x.scope, x.version]),
    [
      ['lake_access_key', DOMAIN, 1],
      ['lake_secret', DOMAIN, 1],
    ],
  );
  assert.deepEqual(
    s3.requests.slice(before).map((x) => [x.method, x.bucket, x.accessKeyId, x.outcome]),
    [['GET', 'lake-raw', ACCESS, 'ok']],
  );
  // Asked as a deployment asks: the caller, its groups, every reference, one request id.
  const [asked] = w.planner.asked;
  assert.equal(asked?.mode, 'connection_test');
  assert.deepEqual([asked?.principal, asked?.groups, asked?.workload], ['ana', ['data-eng'], 'lake']);
  assert.match(asked?.requestId ?? '', /^[0-9a-f-]{36}$/);
  assert.deepEqual(w.authorizer.asked[0], {
    principal: 'ana',
    action: 'workload.deploy',
    domain: DOMAIN,
    resource: 'lake',
  });
  assert.deepEqual(
    w.audit.map((a) => [a.action, a.actor, a.resource, a.outcome]),
    [['workload.test', 'ana', 'workload:lake', 'ok']],
  );
  assert.deepEqual(w.leaks(), []);
  assert.ok(!JSON.stringify(r).includes(SECRET));
});

test('connection test: each wrong setting gets its precise reason, from one request each', async () => {
  const w = world();
  const cases: [string, Record<string, unknown>, string, RegExp][] = [
    [
      'wrong-secret',
      { storageSecret: managed('wrong_secret') },
      'storage.signature_mismatch',
      /^signature does not match: wrong secret key/,
    ],
    [
      'unknown-key',
      { accessKey: 'AKIANOBODY0000000000' },
      'storage.bad_credentials',
      /^bad credentials: the access key id is not known/,
    ],
    [
      'denied',
      { bucket: 'finance' },
      'storage.access_denied',
      /^access denied: the credentials may not list bucket finance/,
    ],
    ['missing', { bucket: 'no-such-bucket' }, 'storage.no_such_bucket', /^no such bucket no-such-bucket/],
    [
      'region',
      { region: 'us-east-1' },
      'storage.wrong_region',
      /^wrong region: the endpoint expects eu-west-3, the storage config says us-east-1/,
    ],
  ];
  for (const [name, fields, code, reason] of cases) {
    w.add(name, fields);
    const before = s3.requests.length;
    const r = await w.run(name);
    assert.deepEqual([r.ok, r.code], [false, code], `${name}: ${r.message}`);
    assert.match(r.message, reason, name);
    assert.equal(s3.requests.length - before, 1, `${name}: one request`);
    assert.ok(!JSON.stringify(r).includes(SECRET) && !JSON.stringify(r).includes(WRONG), name);
  }
  assert.deepEqual(
    w.audit.map((a) => a.reason),
    cases.map(([, , code]) => `connection test: ${code}`),
  );
  assert.deepEqual(w.leaks(), []);
});

test('connection test: an endpoint that refuses, one that never answers, one that is no URL', async () => {
  const w = world();
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as { port: number }).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  w.add('refused', { endpoint: `http://127.0.0.1:${port}` });
  const refused = await w.run('refused');
  assert.equal(refused.code, 'storage.endpoint_unreachable');
  assert.equal(refused.message, `endpoint unreachable: connect ECONNREFUSED 127.0.0.1:${port}`);
  w.add('silent', { endpoint: `http://127.0.0.1:${silentPort}` });
  const hung = await w.run('silent');
  assert.deepEqual(
    [hung.code, hung.message],
    ['storage.endpoint_unreachable', 'endpoint unreachable: no answer within 1.5 s'],
  );
  w.add('ftp', { endpoint: 'ftp://files.internal' });
  const ftp = await w.run('ftp');
  assert.deepEqual([ftp.ok, ftp.code], [false, 'storage.invalid_endpoint']);
  assert.match(ftp.message, /scheme is ftp: \$\.endpoint must be an http or https URL/);
  assert.deepEqual(w.leaks(), []);
});

test('connection test, the attacker’s side: no permission, or a refused reference, makes no request; a misbound answer is not opened', async () => {
  // A caller who may not deploy the workload: refused before the resolver or the endpoint is asked.
  const outsider = world(() => false);
  outsider.add('lake');
  const before = s3.requests.length;
  await assert.rejects(outsider.run('lake', 'mallory'), (e: LatchkeyError) => e.code === 'ras.permission_denied');
  assert.equal(outsider.planner.asked.length, 0);

  // A reference the resolver refuses (another domain's secret, say): the reasons, and no request.
  const w = world();
  w.add('borrowed');
  w.planner.refuse.add('lake_secret');
  const r = await w.run('borrowed', 'mel');
  assert.deepEqual([r.ok, r.code, r.httpStatus], [false, 'storage.credentials_unresolved', 0]);
  assert.match(
    r.message,
    /^the credentials did not resolve, so no request was made: lake_secret: mel may not use lake_secret \[ras\.permission_denied\]/,
  );

  // Values sealed for another request do not open here.
  w.planner.refuse.clear();
  w.planner.wrongBinding = true;
  await assert.rejects(w.run('borrowed'));
  assert.equal(s3.requests.length, before, 'no request was made');
  assert.deepEqual(w.leaks(), []);
});

test('connection test: only a storage config, and one with what an S3 request needs', async () => {
  const w = world();
  w.add('job', {}, 'COMPUTE');
  await assert.rejects(w.run('job'), (e: LatchkeyError) => {
    assert.equal(e.code, 'workload.not_testable');
    assert.match(
      e.message,
      /workload job is a COMPUTE: only a STORAGE_CONFIG has a connection to test; .*latchkey deploy job --domain analytics --dry-run/,
    );
    return true;
  });
  w.add('bare', { bucket: undefined, accessKey: undefined, storageSecret: undefined });
  await assert.rejects(w.run('bare'), (e: LatchkeyError) => {
    assert.equal(e.code, 'workload.storage_incomplete');
    assert.match(
      e.message,
      /storage config bare cannot be tested: it has no \$\.bucket .*, no \$\.accessKey .*, no \$\.storageSecret/,
    );
    return true;
  });
  await assert.rejects(w.run('ghost'), (e: LatchkeyError) => e.code === 'workload.not_found');
  assert.equal(w.planner.asked.length, 0);
});

test('connection test, the attacker’s side: an endpoint that answers with the access key id or a value gets none of it quoted back', async () => {
  // An S3 error code, a region and a Region field each have the shape of an access key id.
  const answers = [
    `<Error><Code>${ACCESS}</Code><Message>x</Message></Error>`,
    `<Error><Code>AuthorizationHeaderMalformed</Code><Message>the region is wrong; expecting '${ACCESS}'</Message></Error>`,
    `<Error><Code>AuthorizationHeaderMalformed</Code><Message>m</Message><Region>${ACCESS}</Region></Error>`,
  ];
  let next = 0;
  const hostile = createHttpServer((_req, res) => {
    res.writeHead(400, { 'content-type': 'application/xml' }).end(answers[next++ % answers.length]);
  });
  await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve));
  try {
    const w = world();
    const url = `http://127.0.0.1:${(hostile.address() as { port: number }).port}`;
    w.add('echo', { endpoint: url });
    const messages: string[] = [];
    for (let i = 0; i < answers.length; i++) {
      const r = await w.run('echo');
      assert.equal(r.ok, false);
      messages.push(r.message);
      assert.ok(!JSON.stringify(r).includes(ACCESS), `answer ${i} quotes the access key id: ${r.message}`);
    }
    assert.deepEqual(messages, [
      'the endpoint answered an error (HTTP 400)',
      'wrong region: the endpoint expects another region, the storage config says eu-west-3: check $.region',
      'wrong region: the endpoint expects another region, the storage config says eu-west-3: check $.region',
    ]);
    // A user name and password written in the endpoint are refused, and not echoed either.
    w.add('userinfo', { endpoint: `http://lake-user:${SECRET}@127.0.0.1:9` });
    const r = await w.run('userinfo');
    assert.deepEqual([r.code, r.endpoint], ['storage.invalid_endpoint', 'http://127.0.0.1:9/']);
    assert.ok(!JSON.stringify(r).includes(SECRET));
    assert.deepEqual(w.leaks(), []);
  } finally {
    await new Promise<void>((resolve) => hostile.close(() => resolve()));
  }
});
