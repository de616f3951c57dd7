import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client, credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { trace } from '@opentelemetry/api';
import { invalidArgument, LatchkeyError } from '@latchkey/errors';
import { initTracing, inSpan, silentLogger } from '@latchkey/logger';
import { RasServiceClient, RasServiceService, type RasServiceServer } from '@latchkey/proto';
import { rejectsWith } from '@latchkey/testing';
import type { Principal } from './call-context.js';
import { staticAuthenticator } from './call-context.js';
import { checkHealth, createClient, unary } from './client.js';
import { createServer, type Handlers, type LatchkeyServer } from './server.js';

const TOKENS = { admin: 'admin-token-1', services: { resolver: 'resolver-token-1', intruder: 'intruder-token-1' } };
const CANARY = 'canary-7f3e9b1c-do-not-leak';

let server: LatchkeyServer;
const reached: string[] = [];
let address: string;
const clients: RasServiceClient[] = [];

/** A RasService where each method used here exercises one path of the server wrapper. */
const used: Partial<Handlers<RasServiceServer>> = {
  whoAmI: async (_req, ctx) => ({
    principal: ctx.principal.id,
    platformAdmin: false,
    groups: [...ctx.principal.groups],
  }),
  // Reports the trace id of the span active inside the handler.
  createDomain: async () => ({
    name: trace.getActiveSpan()?.spanContext().traceId ?? '',
    createdAt: '',
    createdBy: '',
  }),
  getDomain: async (req) => {
    // A refusal quoting a huge input (the fuzz found a workload refusal of 250 KB: the caller got only a deadline).
    if (req.name === 'huge') throw invalidArgument('x.huge', `bad: ${'é'.repeat(250_000)}`);
    // The cut falls inside an emoji's surrogate pair; a field name cut short can end in half of one.
    if (req.name === 'emoji') throw invalidArgument('x.emoji', `bad: ${'😀'.repeat(3000)}`);
    if (req.name === 'half') throw invalidArgument('x.half', `unknown field ${'😀'.slice(0, 1)}x`);
    throw invalidArgument('x.bad', 'msg');
  },
  listDomains: async () => {
    throw new Error(`connection to postgres://admin:${CANARY}@db failed`);
  },
  // Counts what reaches a handler: here it would be authorized and recorded.
  getBundle: async (req) => {
    reached.push(req.name);
    return { domain: req.domain, name: req.name, createdAt: '', createdBy: '' } as never;
  },
  grantBundle: async (req) => {
    reached.push(req.grantee?.id ?? '');
    return {} as never;
  },
};
// The other methods of the generated definition (whatever the proto grows) answer a fixed error.
const handlers = {
  ...Object.fromEntries(
    Object.keys(RasServiceService).map((name) => [
      name,
      () => Promise.reject(new LatchkeyError('test.not_used', `${name} is not used by this test`)),
    ]),
  ),
  ...used,
} as Handlers<RasServiceServer>;

before(async () => {
  initTracing();
  server = createServer({ service: 'test', logger: silentLogger, authenticate: staticAuthenticator(TOKENS) });
  server.addService<RasServiceServer>(RasServiceService, handlers, {
    allow: (p: Principal) => p.id !== 'service:intruder',
  });
  const port = await server.listen('127.0.0.1', 0);
  address = `127.0.0.1:${port}`;
});

after(async () => {
  for (const c of clients) c.close();
  await server.shutdown();
});

function client(token: string): RasServiceClient {
  const c = createClient(RasServiceClient, address, token);
  clients.push(c);
  return c;
}

const whoAmI = (c: RasServiceClient) => unary(c.whoAmI.bind(c), {});

test('health is NOT_SERVING until setServing(true), then SERVING', async () => {
  // The server answers calls, so a false health check means "not serving", not "unreachable".
  assert.equal((await whoAmI(client(TOKENS.admin))).principal, 'admin');
  assert.equal(await checkHealth(address), false);
  server.setServing(true);
  assert.equal(await checkHealth(address), true);
  server.setServing(false);
  assert.equal(await checkHealth(address), false);
});

test('a valid bearer token reaches the handler as its principal', async () => {
  assert.deepEqual(await whoAmI(client(TOKENS.admin)), { principal: 'admin', platformAdmin: false, groups: [] });
  assert.equal((await whoAmI(client(TOKENS.services.resolver))).principal, 'service:resolver');
});

test('a call without a token is refused as unauthenticated', async () => {
  const c = new RasServiceClient(address, credentials.createInsecure());
  clients.push(c);
  const err = await rejectsWith(whoAmI(c), 'unauthenticated', 'auth.unauthenticated');
  assert.match(err.message, /no credentials/);
});

test('a call with an unknown token is refused as unauthenticated', async () => {
  const err = await rejectsWith(whoAmI(client('not-a-real-token')), 'unauthenticated', 'auth.unauthenticated');
  assert.doesNotMatch(err.message, /not-a-real-token/);
});

test('a principal that ServiceOptions.allow refuses gets permission_denied', async () => {
  await rejectsWith(whoAmI(client(TOKENS.services.intruder)), 'permission_denied', 'auth.forbidden_caller');
});

test('a LatchkeyError thrown by a handler reaches the client with its code and message', async () => {
  const c = client(TOKENS.admin);
  const err = await rejectsWith(unary(c.getDomain.bind(c), { name: 'analytics' }), 'invalid_argument', 'x.bad');
  assert.equal(err.message, 'msg');
});

test('a refusal with a message of 250,000 characters reaches the client with its code, the message cut to 4,096 characters saying so', async () => {
  const c = client(TOKENS.admin);
  const err = await rejectsWith(unary(c.getDomain.bind(c), { name: 'huge' }), 'invalid_argument', 'x.huge');
  assert.equal(err.message.length, 4096);
  assert.match(err.message, /^bad: éé+ … \(cut: the message is 250005 characters long\)$/);
});

test('a refusal whose message holds half an emoji (a cut, or a field name so written) reaches the client, the half replaced', async () => {
  const c = client(TOKENS.admin);
  const cut = await rejectsWith(unary(c.getDomain.bind(c), { name: 'emoji' }), 'invalid_argument', 'x.emoji');
  assert.match(cut.message, /^bad: (😀)+\uFFFD? … \(cut: the message is 6005 characters long\)$/u);
  const half = await rejectsWith(unary(c.getDomain.bind(c), { name: 'half' }), 'invalid_argument', 'x.half');
  assert.equal(half.message, 'unknown field \uFFFDx');
});

test('any other error reaches the client as internal with a fixed message that does not repeat it', async () => {
  const c = client(TOKENS.admin);
  const err = await rejectsWith(unary(c.listDomains.bind(c), {}), 'internal', 'internal');
  assert.equal(err.message, 'internal error (see the service log)');
  assert.ok(!JSON.stringify({ ...err, message: err.message, stack: err.stack }).includes(CANARY));
});

test("the handler runs in the trace of the client's traceparent", async () => {
  const c = client(TOKENS.admin);
  let clientTraceId = '';
  const res = await inSpan('client call', async () => {
    clientTraceId = trace.getActiveSpan()?.spanContext().traceId ?? '';
    return unary(c.createDomain.bind(c), { name: 'analytics' });
  });
  assert.match(clientTraceId, /^[0-9a-f]{32}$/);
  assert.notEqual(clientTraceId, '0'.repeat(32));
  assert.equal(res.name, clientTraceId);
});

test('a name with a line break or a terminal escape is refused before any handler runs (issue 13 §6)', async () => {
  const c = client(TOKENS.admin);
  const forged = 'job\n2030-01-01T00:00:00Z  ras  admin  secret.put  allow\u001b[2J\u009b31m';
  const cases: [string, Promise<unknown>, string, RegExp][] = [
    [
      'name',
      unary(c.getBundle.bind(c), { domain: 'analytics', name: forged }),
      'request.invalid_name',
      /^name "job\\u000a2030.*\\u001b\[2J\\u009b31m" is not valid: give a name: letters, digits/,
    ],
    [
      'domain',
      unary(c.getBundle.bind(c), { domain: 'Analytics\r', name: 'b' }),
      'domain.invalid_name',
      /^domain "Analytics\\u000d" is not valid/,
    ],
    [
      'grantee.id',
      unary(c.grantBundle.bind(c), {
        domain: 'analytics',
        bundle: 'b',
        grantee: { kind: 'user', id: 'mia\u001b]0;owned\u0007' },
        permissions: ['VIEW'],
      } as never),
      'request.invalid_name',
      /^grantee\.id "mia\\u001b\]0;owned\\u0007" is not valid: give a user or group/,
    ],
  ];
  for (const [field, call, code, message] of cases) {
    const err = await rejectsWith(call, 'invalid_argument', code);
    assert.match(err.message, message, field);
    assert.ok(
      ![...err.message].some((ch) => (ch.codePointAt(0) ?? 0) < 0x20),
      'the message itself has no control character',
    );
  }
  assert.deepEqual(reached, [], 'no handler ran: nothing was authorized or recorded');
  // Well-formed names go through.
  await unary(c.getBundle.bind(c), { domain: 'analytics', name: 'team-bundle' });
  assert.deepEqual(reached, ['team-bundle']);
});

/** Sends raw bytes to a method, with or without a bearer token, and returns the status it answers. */
function rawCall(path: string, bytes: Buffer, token?: string): Promise<ServiceError | undefined> {
  const c = new Client(address, credentials.createInsecure());
  const md = new Metadata();
  if (token) md.set('authorization', `Bearer ${token}`);
  return new Promise((resolve) => {
    c.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      bytes,
      md,
      (err) => {
        c.close();
        resolve(err ?? undefined);
      },
    );
  });
}

test('bytes that are not a request message answer INVALID_ARGUMENT after authentication, never INTERNAL (fuzz find)', async () => {
  // The bytes the fuzz run found (on DeployerService.ListWorkloads, seed 914709906; answered INTERNAL
  // "Error deserializing request"): an unknown field, then a tag whose length runs past the end.
  const found = Buffer.from('2204fffe1e9eaa1e', 'hex');
  const truncated = Buffer.from('0a09616263', 'hex');
  const wrongWireType = Buffer.from('0f', 'hex');
  const before = reached.length;
  for (const bytes of [found, truncated, wrongWireType]) {
    const err = await rawCall('/latchkey.v1.RasService/GetBundle', bytes, TOKENS.admin);
    assert.equal(err?.code, status.INVALID_ARGUMENT, `answered ${err?.code}: ${err?.details}`);
    assert.match(err?.details ?? '', /not a valid getBundle message .*send a message encoded from proto/);
    assert.equal(err?.metadata.get('latchkey-error-code')[0], 'request.undecodable');
    // Without credentials the caller learns nothing about the request: unauthenticated first.
    assert.equal((await rawCall('/latchkey.v1.RasService/GetBundle', bytes))?.code, status.UNAUTHENTICATED);
  }
  assert.equal(reached.length, before, 'an undecodable request reached the handler');
  // A well-formed message on the same path still reaches the handler.
  const ok = Buffer.concat([
    Buffer.from('0a03', 'hex'),
    Buffer.from('abc'),
    Buffer.from('1201', 'hex'),
    Buffer.from('b'),
  ]);
  assert.equal(await rawCall('/latchkey.v1.RasService/GetBundle', ok, TOKENS.admin), undefined);
  assert.deepEqual(reached.slice(before), ['b']);
});
