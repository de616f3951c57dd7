import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LatchkeyError } from '@latchkey/errors';
import { loadResolverConfig } from './config.js';

const base = {
  LATCHKEY_NATS_URL: 'nats://x',
  LATCHKEY_CREDENTIALS_FILE: '/c',
  LATCHKEY_RAS_ADDR: 'r:1',
  LATCHKEY_CATALOG_ADDR: 'c:1',
  LATCHKEY_SEAL_PUBLIC_KEY_FILE: '/k',
  LATCHKEY_DEPLOYER_SIGNING_KEY_FILES: '/s',
  LATCHKEY_OIDC_ISSUER: 'https://login.example.test/',
  LATCHKEY_OIDC_AUDIENCE: 'latchkey',
  LATCHKEY_OIDC_JWKS_FILE: '/jwks.json',
};

/** An on/off variable: `unset` when absent, and what each value in `values` reads as. */
function assertSwitch(
  name: 'LATCHKEY_AUDIT_FAIL_CLOSED' | 'LATCHKEY_SECRETS_V2',
  unset: boolean,
  values: readonly (readonly [string, boolean])[],
): void {
  assert.equal(loadResolverConfig(base)[name], unset);
  for (const [v, on] of values) assert.equal(loadResolverConfig({ ...base, [name]: v })[name], on, v);
}

test('audit.failClosed (LATCHKEY_AUDIT_FAIL_CLOSED) is off unless set to 1 or true', () => {
  assertSwitch('LATCHKEY_AUDIT_FAIL_CLOSED', false, [
    ['1', true],
    ['true', true],
    ['0', false],
    ['false', false],
    ['', false],
  ]);
});

test('a value of LATCHKEY_AUDIT_FAIL_CLOSED that is neither on nor off fails the start, naming the variable', () => {
  assert.throws(
    () => loadResolverConfig({ ...base, LATCHKEY_AUDIT_FAIL_CLOSED: 'yes please' }),
    (err: unknown) =>
      err instanceof LatchkeyError &&
      err.code === 'config.invalid' &&
      /LATCHKEY_AUDIT_FAIL_CLOSED: use 1 \(refuse unaudited reads\) or 0/.test(err.message),
  );
});

test('features.secretsV2 (LATCHKEY_SECRETS_V2) is on unless set to false; another value fails the start, naming the variable', () => {
  assertSwitch('LATCHKEY_SECRETS_V2', true, [
    ['true', true],
    ['1', true],
    ['', true],
    ['false', false],
    ['0', false],
  ]);
  assert.throws(
    () => loadResolverConfig({ ...base, LATCHKEY_SECRETS_V2: 'off' }),
    (err: unknown) =>
      err instanceof LatchkeyError &&
      err.code === 'config.invalid' &&
      /LATCHKEY_SECRETS_V2: use true \(Secrets V2: structured references; the default\) or false/.test(err.message),
  );
});
