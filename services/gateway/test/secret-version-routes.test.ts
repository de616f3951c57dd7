import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import type {
  DeleteSecretRequest,
  ListSecretsRequest,
  RollbackSecretRequest,
  SetSecretVersionStateRequest,
} from '@latchkey/proto';
import { fakeSecretVersion } from '@latchkey/testing';
import { fail, jwtLike, secretMeta as meta, startFakeGateway, type FakeGateway } from './gateway-fixture.js';

const ALICE = `Bearer ${jwtLike('alice')}`;

const version = fakeSecretVersion;

let gw: FakeGateway;
before(async () => {
  gw = await startFakeGateway({});
});
after(() => gw.close());
beforeEach(() => {
  gw.calls.length = 0;
  gw.set({
    catalog: {
      listSecrets: (call, cb) =>
        cb(null, {
          secrets: call.request.deleted
            ? [meta({ deletedAt: '2026-02-01T00:00:00.000Z', recoverUntil: '2026-02-08T00:00:00.000Z' })]
            : [meta()],
        }),
      deleteSecret: (call, cb) =>
        cb(null, {
          deleted: meta(),
          dependents: [],
          recoverUntil: call.request.recoveryDays === 0 ? '' : '2026-02-08T00:00:00.000Z',
        }),
      restoreSecret: (call, cb) => {
        if (call.request.key === 'GONE') {
          fail(
            cb,
            status.NOT_FOUND,
            'secret.not_found',
            'secret GONE not found in domain analytics: nothing to restore',
          );
          return;
        }
        cb(null, meta({ key: call.request.key }));
      },
      listSecretVersions: (_call, cb) =>
        cb(null, {
          secret: meta(),
          versions: [
            version(3, { current: true, heldBy: ['analytics/etl'], rolledBackFrom: 1 }),
            version(2),
            version(1),
          ],
          kept: 10,
          holdersKnown: true,
        }),
      rollbackSecret: (_call, cb) => cb(null, meta({ version: 4 })),
      setSecretVersionState: (call, cb) =>
        cb(null, version(call.request.version, { state: call.request.disabled ? 'disabled' : 'enabled' })),
    },
  });
});

const last = <T>(method: string): T => {
  const c = gw.calls.filter((x) => x.method.endsWith(`/${method}`)).at(-1);
  assert.ok(c, `${method} was called`);
  return c.request as T;
};

const inject = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) =>
  gw.app.inject({ method, url, headers: { authorization: ALICE }, ...(payload ? { payload } : {}) });

test('DELETE ?recoveryDays sends the window and answers until when it can be restored; out of bounds is refused unsent', async () => {
  const res = await inject('DELETE', '/api/v1/domains/analytics/secrets/DB_PASSWORD?recoveryDays=3');
  assert.equal(res.statusCode, 200);
  assert.equal(last<DeleteSecretRequest>('DeleteSecret').recoveryDays, 3);
  assert.equal((res.json() as { recoverUntil: string }).recoverUntil, '2026-02-08T00:00:00.000Z');
  const now = await inject('DELETE', '/api/v1/global/secrets/DB_PASSWORD?recoveryDays=0');
  assert.equal((now.json() as { recoverUntil: string }).recoverUntil, '');
  const plain = await inject('DELETE', '/api/v1/global/secrets/DB_PASSWORD');
  assert.equal(plain.statusCode, 200);
  assert.equal(last<DeleteSecretRequest>('DeleteSecret').recoveryDays, undefined, 'absent: the default window');
  const calls = gw.calls.length;
  const bad = await inject('DELETE', '/api/v1/domains/analytics/secrets/DB_PASSWORD?recoveryDays=31');
  assert.equal(bad.statusCode, 400);
  assert.equal(gw.calls.length, calls, 'nothing was sent');
});

test('deleted secrets are listed with until when they can be restored, and restored by POST …/restore', async () => {
  const list = await inject('GET', '/api/v1/domains/analytics/deleted-secrets');
  assert.equal(list.statusCode, 200);
  assert.equal(last<ListSecretsRequest>('ListSecrets').deleted, true);
  const body = list.json() as { secrets: { secret: { key: string }; deletedAt: string; recoverUntil: string }[] };
  assert.deepEqual(
    body.secrets.map((s) => [s.secret.key, s.deletedAt, s.recoverUntil]),
    [['DB_PASSWORD', '2026-02-01T00:00:00.000Z', '2026-02-08T00:00:00.000Z']],
  );
  const restored = await inject('POST', '/api/v1/global/secrets/OLD/restore');
  assert.equal(restored.statusCode, 200);
  assert.deepEqual(last('RestoreSecret'), { scope: { domain: '', global: true }, key: 'OLD' });
  const gone = await inject('POST', '/api/v1/domains/analytics/secrets/GONE/restore');
  assert.equal(gone.statusCode, 404);
  assert.equal((gone.json() as { code: string }).code, 'secret.not_found');
});

test('versions, rollback, disable and enable: metadata in and out, never a value', async () => {
  const list = await inject('GET', '/api/v1/domains/analytics/secrets/DB_PASSWORD/versions');
  assert.equal(list.statusCode, 200);
  const body = list.json() as { versions: { version: number; current: boolean; heldBy: string[] }[]; kept: number };
  assert.deepEqual(
    body.versions.map((v) => [v.version, v.current, v.heldBy]),
    [
      [3, true, ['analytics/etl']],
      [2, false, []],
      [1, false, []],
    ],
  );
  assert.equal(body.kept, 10);
  const rb = await inject('POST', '/api/v1/domains/analytics/secrets/DB_PASSWORD/rollback', { toVersion: 1 });
  assert.equal(rb.statusCode, 200);
  assert.deepEqual(last<RollbackSecretRequest>('RollbackSecret'), {
    scope: { domain: 'analytics', global: false },
    key: 'DB_PASSWORD',
    toVersion: 1,
  });
  assert.equal((rb.json() as { version: number }).version, 4);
  const off = await inject('POST', '/api/v1/global/secrets/DB_PASSWORD/versions/2/disable');
  assert.equal(off.statusCode, 200);
  assert.deepEqual(last<SetSecretVersionStateRequest>('SetSecretVersionState'), {
    scope: { domain: '', global: true },
    key: 'DB_PASSWORD',
    version: 2,
    disabled: true,
  });
  assert.equal((off.json() as { state: string }).state, 'disabled');
  const on = await inject('POST', '/api/v1/global/secrets/DB_PASSWORD/versions/2/enable');
  assert.equal((on.json() as { state: string }).state, 'enabled');
  const calls = gw.calls.length;
  for (const [url, payload] of [
    ['/api/v1/domains/analytics/secrets/DB_PASSWORD/rollback', { toVersion: 0 }],
    ['/api/v1/domains/analytics/secrets/DB_PASSWORD/rollback', { toVersion: 1, value: 'sneaky' }],
    ['/api/v1/domains/analytics/secrets/DB_PASSWORD/versions/zero/disable', undefined],
  ] as const) {
    const res = await inject('POST', url, payload);
    assert.equal(res.statusCode, 400, url);
  }
  assert.equal(gw.calls.length, calls, 'nothing was sent');
});
