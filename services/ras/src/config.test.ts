import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadRasConfig } from './config.js';

const base = { LATCHKEY_NATS_URL: 'nats://x', LATCHKEY_DATABASE_URL: 'postgres://x', LATCHKEY_CREDENTIALS_FILE: '/c' };

test('platform admins default to the bootstrap user admin, and no admin groups', () => {
  const c = loadRasConfig(base);
  assert.deepEqual(c.LATCHKEY_PLATFORM_ADMINS, ['admin']);
  assert.deepEqual(c.LATCHKEY_PLATFORM_ADMIN_GROUPS, []);
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
