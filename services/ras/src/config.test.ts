import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadRasConfig } from './config.js';

const base = {
  LATCHKEY_NATS_URL: 'nats://x',
  LATCHKEY_DATABASE_URL: 'postgres://x',
  LATCHKEY_CREDENTIALS_FILE: '/c',
  LATCHKEY_OIDC_ISSUER: 'https://login.example.test/',
  LATCHKEY_OIDC_AUDIENCE: 'latchkey',
  LATCHKEY_OIDC_JWKS_FILE: '/jwks.json',
};

test('ras does not start without platform admins: there is no default admin (issue 13 §7)', () => {
  for (const env of [base, { ...base, LATCHKEY_PLATFORM_ADMINS: ' , ', LATCHKEY_PLATFORM_ADMIN_GROUPS: '' }]) {
    assert.throws(
      () => loadRasConfig(env),
      /LATCHKEY_PLATFORM_ADMINS: required: the platform admins, comma-separated user ids \(or LATCHKEY_PLATFORM_ADMIN_GROUPS, their groups\); there is no default admin outside embedded mode/,
    );
  }
  // Admin groups alone will do.
  const byGroup = loadRasConfig({ ...base, LATCHKEY_PLATFORM_ADMIN_GROUPS: 'platform' });
  assert.deepEqual(byGroup.LATCHKEY_PLATFORM_ADMINS, []);
  assert.deepEqual(byGroup.LATCHKEY_PLATFORM_ADMIN_GROUPS, ['platform']);
});

test('platform admin users and groups are comma-separated lists; blanks are dropped', () => {
  const c = loadRasConfig({
    ...base,
    LATCHKEY_PLATFORM_ADMINS: 'admin, root ,',
    LATCHKEY_PLATFORM_ADMIN_GROUPS: 'platform,,sre',
  });
  assert.deepEqual(c.LATCHKEY_PLATFORM_ADMINS, ['admin', 'root']);
  assert.deepEqual(c.LATCHKEY_PLATFORM_ADMIN_GROUPS, ['platform', 'sre']);
});

test('the OIDC issuer and audience are required, named when missing; the claims default to sub and groups', () => {
  const { LATCHKEY_OIDC_ISSUER: _i, LATCHKEY_OIDC_AUDIENCE: _a, ...without } = base;
  assert.throws(
    () => loadRasConfig(without),
    /LATCHKEY_OIDC_ISSUER: required: LATCHKEY_OIDC_ISSUER.*LATCHKEY_OIDC_AUDIENCE: required/,
  );
  const c = loadRasConfig({ ...base, LATCHKEY_PLATFORM_ADMINS: 'admin' });
  assert.equal(c.LATCHKEY_OIDC_GROUPS_CLAIM, 'groups');
  assert.equal(c.LATCHKEY_OIDC_USER_CLAIM, 'sub');
  assert.equal(
    loadRasConfig({ ...base, LATCHKEY_PLATFORM_ADMINS: 'admin', LATCHKEY_OIDC_GROUPS_CLAIM: 'roles' })
      .LATCHKEY_OIDC_GROUPS_CLAIM,
    'roles',
  );
});
