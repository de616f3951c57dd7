import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { POLICY_DENIED, useVaultEmulator } from './test-client.js';

type Body = Record<string, unknown>;

describe('vault emulator: database secrets engine and sys/leases', () => {
  const fx = useVaultEmulator(async (emu) => {
    emu.addDatabaseRole('database', 'readonly', { defaultTtlSeconds: 60, maxTtlSeconds: 150 });
    emu.addDatabaseRole('team/db', 'app', { defaultTtlSeconds: 30, maxTtlSeconds: 300 });
  });
  const root = () => fx.emu.rootToken;
  const creds = async (path = '/v1/database/creds/readonly', token = root()) => {
    const res = await fx.call('GET', path, { token });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as Body;
  };
  const lease = (id: string) => fx.emu.leases().find((l) => l.leaseId === id);

  test('each read of creds/<role> issues new credentials with their own renewable lease of the role default_ttl', async () => {
    const a = await creds();
    const b = await creds();
    assert.match(a['lease_id'] as string, /^database\/creds\/readonly\/[A-Za-z0-9_-]+$/);
    assert.notEqual(a['lease_id'], b['lease_id']);
    assert.equal(a['lease_duration'], 60);
    assert.equal(a['renewable'], true);
    assert.equal(a['mount_type'], 'database');
    const da = a['data'] as Body;
    const db = b['data'] as Body;
    assert.deepEqual(Object.keys(da).sort(), ['password', 'username']);
    assert.notEqual(da['password'], db['password']);
    assert.notEqual(da['username'], db['username']);
    assert.equal(lease(a['lease_id'] as string)?.password, da['password']);
    // A mount whose name has a slash is found by its longest prefix.
    const c = await creds('/v1/team/db/creds/app');
    assert.match(c['lease_id'] as string, /^team\/db\/creds\/app\//);
  });

  test('an unknown role is 400, another path under the mount 404, a write 405', async () => {
    assert.deepEqual(await fx.call('GET', '/v1/database/creds/nope', { token: root() }), {
      status: 400,
      body: { errors: ['unknown role: nope'] },
    });
    assert.equal((await fx.call('GET', '/v1/database/roles', { token: root() })).status, 404);
    assert.equal((await fx.call('POST', '/v1/database/creds/readonly', { token: root(), body: {} })).status, 405);
  });

  test('renew extends the lease by the increment, capped by max_ttl with a warning', async () => {
    const id = (await creds())['lease_id'] as string;
    const renewed = await fx.call('PUT', '/v1/sys/leases/renew', {
      token: root(),
      body: { lease_id: id, increment: 90 },
    });
    assert.equal(renewed.status, 200);
    assert.equal(renewed.body?.['lease_id'], id);
    assert.equal(renewed.body?.['renewable'], true);
    assert.equal(renewed.body?.['lease_duration'], 90);
    assert.equal(renewed.body?.['warnings'], null);
    assert.equal(lease(id)?.renewals, 1);
    fx.emu.advanceClock(80);
    // 150 s max_ttl, 80 s gone: 70 s left of the 90 asked for.
    const capped = await fx.call('PUT', '/v1/sys/leases/renew', {
      token: root(),
      body: { lease_id: id, increment: '90s' },
    });
    // (Real time passes too: a second may have gone since the read.)
    const granted = capped.body?.['lease_duration'] as number;
    assert.ok(granted >= 68 && granted <= 70, `granted ${granted}`);
    assert.match((capped.body?.['warnings'] as string[])[0] ?? '', /capped/);
  });

  test('a lease whose time is up is gone: renew 400 lease not found, lookup 400 invalid lease', async () => {
    const id = (await creds())['lease_id'] as string;
    fx.emu.advanceClock(61);
    assert.deepEqual(await fx.call('PUT', '/v1/sys/leases/renew', { token: root(), body: { lease_id: id } }), {
      status: 400,
      body: { errors: ['lease not found'] },
    });
    assert.deepEqual(await fx.call('PUT', '/v1/sys/leases/lookup', { token: root(), body: { lease_id: id } }), {
      status: 400,
      body: { errors: ['invalid lease'] },
    });
    assert.equal(lease(id)?.state, 'expired');
  });

  test('lookup describes an active lease; revoke ends it and is idempotent', async () => {
    const id = (await creds())['lease_id'] as string;
    const look = await fx.call('PUT', '/v1/sys/leases/lookup', { token: root(), body: { lease_id: id } });
    assert.equal(look.status, 200);
    const d = look.body?.['data'] as Body;
    assert.deepEqual(Object.keys(d).sort(), ['expire_time', 'id', 'issue_time', 'last_renewal', 'renewable', 'ttl']);
    assert.equal(d['id'], id);
    assert.equal(d['last_renewal'], null);
    assert.ok((d['ttl'] as number) > 55 && (d['ttl'] as number) <= 60);
    assert.deepEqual(await fx.call('PUT', '/v1/sys/leases/revoke', { token: root(), body: { lease_id: id } }), {
      status: 204,
      body: undefined,
    });
    assert.equal(lease(id)?.state, 'revoked');
    assert.equal(
      (await fx.call('PUT', '/v1/sys/leases/revoke', { token: root(), body: { lease_id: id } })).status,
      204,
    );
    const renew = await fx.call('PUT', '/v1/sys/leases/renew', { token: root(), body: { lease_id: id } });
    assert.deepEqual(renew, { status: 400, body: { errors: ['lease not found'] } });
  });

  test('a missing lease_id or a bad increment is 400 naming it', async () => {
    const missing = await fx.call('PUT', '/v1/sys/leases/renew', { token: root(), body: {} });
    assert.deepEqual(missing, { status: 400, body: { errors: ['lease_id must be specified'] } });
    const id = (await creds())['lease_id'] as string;
    const bad = await fx.call('PUT', '/v1/sys/leases/renew', {
      token: root(),
      body: { lease_id: id, increment: 'soon' },
    });
    assert.equal(bad.status, 400);
    assert.match((bad.body?.['errors'] as string[])[0] ?? '', /invalid increment/);
  });

  test('tokens need a policy for creds/<role> and for each sys/leases operation', async () => {
    const reader = await fx.emu.addToken(['database/creds/readonly']);
    const id = ((await creds('/v1/database/creds/readonly', reader))['lease_id'] as string) ?? '';
    const denied = { status: 403, body: { errors: [POLICY_DENIED] } };
    assert.deepEqual(await fx.call('GET', '/v1/team/db/creds/app', { token: reader }), denied);
    assert.deepEqual(await fx.call('PUT', '/v1/sys/leases/renew', { token: reader, body: { lease_id: id } }), denied);
    assert.deepEqual(await fx.call('PUT', '/v1/sys/leases/revoke', { token: reader, body: { lease_id: id } }), denied);
    assert.deepEqual(await fx.call('PUT', '/v1/sys/leases/renew', { token: 'hvs.nope', body: { lease_id: id } }), {
      status: 403,
      body: { errors: ['permission denied'] },
    });
    const keeper = await fx.emu.addToken(['database/creds/readonly', 'sys/leases/']);
    assert.equal((await fx.call('PUT', '/v1/sys/leases/renew', { token: keeper, body: { lease_id: id } })).status, 200);
    assert.equal(
      (await fx.call('PUT', '/v1/sys/leases/revoke', { token: keeper, body: { lease_id: id } })).status,
      204,
    );
    assert.equal(lease(id)?.state, 'revoked');
  });

  test('the mount preflight names a database mount by its type', async () => {
    const res = await fx.call('GET', '/v1/sys/internal/ui/mounts/database', { token: root() });
    assert.equal(res.status, 200);
    const d = res.body?.['data'] as Body;
    assert.equal(d['type'], 'database');
    assert.equal(d['path'], 'database/');
    const outsider = await fx.emu.addToken(['secret/']);
    assert.equal((await fx.call('GET', '/v1/sys/internal/ui/mounts/database', { token: outsider })).status, 403);
  });
});
