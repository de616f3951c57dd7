import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { LatchkeyError } from '@latchkey/errors';
import { silentLogger } from '@latchkey/logger';
import { RasServiceClient, RasServiceService, type RasServiceServer } from '@latchkey/proto';
import { CachingAuthorizer } from './caching-authorizer.js';
import type { Authenticator } from './call-context.js';
import { currentCall } from './call-context.js';
import { createClient, unary } from './client.js';
import type { AuthorizationQuestion, Authorizer, Decision } from '@latchkey/authz';
import { withCallerGroups } from './ras-authorizer.js';
import { createServer, type Handlers, type LatchkeyServer } from './server.js';

/** Records every question that reaches "ras". */
class RecordingAuthorizer implements Authorizer {
  asked: AuthorizationQuestion[] = [];
  async check(q: AuthorizationQuestion): Promise<Decision> {
    this.asked.push(q);
    return { allowed: true, code: '', reason: '' };
  }
  async checkBatch(qs: AuthorizationQuestion[]): Promise<Decision[]> {
    this.asked.push(...qs);
    return qs.map(() => ({ allowed: true, code: '', reason: '' }));
  }
}

const ras = new RecordingAuthorizer();
const cached = new CachingAuthorizer(ras);

/** alice (groups data-eng, ops) and bob (none); any other token is refused with a reason, asynchronously. */
const authenticate: Authenticator = async (token) => {
  await Promise.resolve();
  if (token === 'alice-token') return { id: 'alice', kind: 'user', groups: ['data-eng', 'ops'] };
  if (token === 'bob-token') return { id: 'bob', kind: 'user', groups: [] };
  throw new LatchkeyError('auth.unauthenticated', 'the token has expired: get a new one', { kind: 'unauthenticated' });
};

let server: LatchkeyServer;
let address = '';
const clients: RasServiceClient[] = [];

before(async () => {
  server = createServer({ service: 'test', logger: silentLogger, authenticate });
  const handlers = {
    ...Object.fromEntries(
      Object.keys(RasServiceService).map((name) => [name, () => Promise.reject(new Error(`${name} not used`))]),
    ),
    // Asks about the caller, then (batched) about the caller and someone else, like a domain service does.
    whoAmI: async (_req, ctx) => {
      await cached.check({ principal: ctx.principal.id, action: 'secret.list', domain: 'analytics' });
      await cached.checkBatch([
        { principal: ctx.principal.id, action: 'secret.use', domain: 'analytics', resource: 'k' },
        { principal: 'carol', action: 'secret.use', domain: 'analytics', resource: 'k' },
      ]);
      return {
        principal: ctx.principal.id,
        platformAdmin: false,
        groups: [...(currentCall()?.principal.groups ?? [])],
      };
    },
  } as Handlers<RasServiceServer>;
  server.addService<RasServiceServer>(RasServiceService, handlers);
  address = `127.0.0.1:${await server.listen('127.0.0.1', 0)}`;
});

after(async () => {
  for (const c of clients) c.close();
  await server.shutdown();
});

function whoAmI(token: string) {
  const c = createClient(RasServiceClient, address, token);
  clients.push(c);
  return unary(c.whoAmI.bind(c), {});
}

test("the caller's groups join every question about the caller, and only those", async () => {
  ras.asked = [];
  assert.deepEqual(await whoAmI('alice-token'), {
    principal: 'alice',
    platformAdmin: false,
    groups: ['data-eng', 'ops'],
  });
  assert.deepEqual(
    ras.asked.map((q) => [q.principal, q.action, q.groups]),
    [
      ['alice', 'secret.list', ['data-eng', 'ops']],
      ['alice', 'secret.use', ['data-eng', 'ops']],
      ['carol', 'secret.use', undefined],
    ],
  );
});

test('a cached decision for a caller without groups is not reused for one with groups', async () => {
  ras.asked = [];
  cached.invalidate();
  await whoAmI('bob-token');
  await whoAmI('alice-token');
  assert.deepEqual(
    ras.asked.filter((q) => q.action === 'secret.list').map((q) => [q.principal, q.groups]),
    [
      ['bob', undefined],
      ['alice', ['data-eng', 'ops']],
    ],
  );
});

test("an authenticator's reason reaches the client as unauthenticated", async () => {
  const err = await whoAmI('stale-token').then(
    () => assert.fail('expected a refusal'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof LatchkeyError);
  assert.equal(err.kind, 'unauthenticated');
  assert.equal(err.message, 'the token has expired: get a new one');
});

test('outside a call, and with groups given, a question is left as it is', () => {
  const q: AuthorizationQuestion = { principal: 'alice', action: 'secret.use', domain: 'analytics' };
  assert.equal(withCallerGroups(q), q);
  const given = { ...q, groups: ['x'] };
  assert.equal(withCallerGroups(given), given);
});
