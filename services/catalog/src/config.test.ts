import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadCatalogConfig } from './config.js';

const base = {
  LATCHKEY_NATS_URL: 'nats://x',
  LATCHKEY_DATABASE_URL: 'postgres://x',
  LATCHKEY_CREDENTIALS_FILE: '/c',
  LATCHKEY_RAS_ADDR: 'r:1',
  LATCHKEY_KEK_FILE: '/kek',
  LATCHKEY_DEPLOYER_ADDR: 'd:1',
  LATCHKEY_OIDC_ISSUER: 'https://login.example.test/',
  LATCHKEY_OIDC_AUDIENCE: 'latchkey',
  LATCHKEY_OIDC_JWKS_FILE: '/jwks.json',
};

test('the log level is part of the config: info by default, and a bad one names LATCHKEY_LOG_LEVEL', () => {
  assert.equal(loadCatalogConfig(base).LATCHKEY_LOG_LEVEL, 'info');
  assert.equal(loadCatalogConfig({ ...base, LATCHKEY_LOG_LEVEL: 'warn' }).LATCHKEY_LOG_LEVEL, 'warn');
  assert.throws(
    () => loadCatalogConfig({ ...base, LATCHKEY_LOG_LEVEL: 'loud' }),
    /LATCHKEY_LOG_LEVEL: one of debug, info, warn, error, silent/,
  );
});
