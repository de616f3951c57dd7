import assert from 'node:assert/strict';
import { test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { fail, jwtLike, useFakeGateway } from './gateway-fixture.js';

const OLIVE = `Bearer ${jwtLike('olive')}`;
const CREDS = '-----BEGIN NATS USER JWT-----\ncanary-subscriber-creds\n------END NATS USER JWT------\n';

const gw = useFakeGateway(() => ({
  ras: {
    mintEventCredentials: (call, cb) => {
      if (call.request.domains.includes('finance')) {
        fail(cb, status.PERMISSION_DENIED, 'ras.permission_denied', 'olive may not mint credentials for finance');
        return;
      }
      cb(null, {
        creds: CREDS,
        user: 'UABC',
        expiresAt: '2027-03-01T00:00:00Z',
        subjects: call.request.domains.map((d) => `latchkey.workload.stale.${d}`),
      });
    },
  },
}));

const post = (payload: object) =>
  gw.app.inject({ method: 'POST', url: '/api/v1/event-credentials', headers: { authorization: OLIVE }, payload });

test('event credentials: minted by ras as the caller, answered once with no-store, as latchkey events credentials', async () => {
  const res = await post({ domains: ['analytics'], name: 'redeployer', ttlDays: 30 });
  assert.equal(res.statusCode, 201);
  assert.equal(res.headers['cache-control'], 'no-store');
  assert.deepEqual(res.json(), {
    creds: CREDS,
    user: 'UABC',
    expiresAt: '2027-03-01T00:00:00Z',
    subjects: ['latchkey.workload.stale.analytics'],
  });
  const call = gw.calls.at(-1);
  assert.equal(call?.method, '/latchkey.v1.RasService/MintEventCredentials');
  assert.deepEqual(call?.authorization, [OLIVE]);
  assert.deepEqual(call?.request, { domains: ['analytics'], name: 'redeployer', ttlDays: 30 });
});

test('event credentials: ras refusing is its own problem, and a bad body names its JSON path and reaches no service', async () => {
  const refused = await post({ domains: ['finance'], name: 'spy' });
  assert.equal(refused.statusCode, 403);
  assert.equal(refused.json().code, 'ras.permission_denied');
  assert.ok(!refused.body.includes('canary'));
  gw.calls.length = 0;
  for (const [body, path] of [
    [{ domains: [], name: 'x' }, '$.domains'],
    [{ domains: ['analytics'] }, '$.name'],
    [{ domains: ['analytics'], name: 'x', ttlDays: 0 }, '$.ttlDays'],
  ] as const) {
    const res = await post(body);
    assert.equal(res.statusCode, 400, JSON.stringify(body));
    assert.ok(JSON.stringify(res.json()).includes(path), `${JSON.stringify(res.json())} names ${path}`);
  }
  assert.equal(gw.calls.length, 0);
});
