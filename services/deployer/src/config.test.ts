import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { test } from 'node:test';
import { loadDeployerConfig } from './config.js';

const required = {
  LATCHKEY_NATS_URL: 'nats://127.0.0.1:4222',
  LATCHKEY_DATABASE_URL: 'postgres://x@127.0.0.1/deployer',
  LATCHKEY_RAS_ADDR: '127.0.0.1:7401',
  LATCHKEY_SEAL_PRIVATE_KEY_FILE: '/keys/deployer-seal.key',
  LATCHKEY_SIGNING_KEY_FILE: '/keys/deployer-sign.key',
  LATCHKEY_WORK_DIR: '/tmp/latchkey-work',
  LATCHKEY_INSECURE: '1',
  LATCHKEY_OIDC_ISSUER: 'urn:latchkey:embedded',
  LATCHKEY_OIDC_AUDIENCE: 'latchkey',
};

test('replicas started without LATCHKEY_REPLICA_ID are named after their host, so that two containers never share a name', () => {
  assert.equal(loadDeployerConfig(required).LATCHKEY_REPLICA_ID, `deployer@${hostname()}`);
  assert.equal(
    loadDeployerConfig({ ...required, LATCHKEY_REPLICA_ID: 'deployer-2' }).LATCHKEY_REPLICA_ID,
    'deployer-2',
  );
  assert.throws(() => loadDeployerConfig({ ...required, LATCHKEY_REPLICA_ID: '' }), /LATCHKEY_REPLICA_ID/);
});

test('workload output settings have stated defaults, and a bad one names the variable and its range', () => {
  const c = loadDeployerConfig(required);
  assert.deepEqual(
    [c.LATCHKEY_OUTPUT_LINE_MAX_BYTES, c.LATCHKEY_OUTPUT_QUOTA_BYTES, c.LATCHKEY_OUTPUT_RETENTION_DAYS],
    [8192, 8 * 1024 * 1024, 14],
  );
  assert.throws(
    () => loadDeployerConfig({ ...required, LATCHKEY_OUTPUT_LINE_MAX_BYTES: '10' }),
    /LATCHKEY_OUTPUT_LINE_MAX_BYTES.*at least 256/s,
  );
  assert.throws(
    () => loadDeployerConfig({ ...required, LATCHKEY_OUTPUT_QUOTA_BYTES: 'lots' }),
    /LATCHKEY_OUTPUT_QUOTA_BYTES/,
  );
  assert.throws(
    () => loadDeployerConfig({ ...required, LATCHKEY_OUTPUT_RETENTION_DAYS: '0' }),
    /LATCHKEY_OUTPUT_RETENTION_DAYS.*above 0/s,
  );
});

test('features.secretsV2 (LATCHKEY_SECRETS_V2) is on by default, off with false, and a bad value names the variable', () => {
  assert.equal(loadDeployerConfig(required).LATCHKEY_SECRETS_V2, true);
  assert.equal(loadDeployerConfig({ ...required, LATCHKEY_SECRETS_V2: 'false' }).LATCHKEY_SECRETS_V2, false);
  assert.equal(loadDeployerConfig({ ...required, LATCHKEY_SECRETS_V2: 'true' }).LATCHKEY_SECRETS_V2, true);
  assert.throws(() => loadDeployerConfig({ ...required, LATCHKEY_SECRETS_V2: 'no' }), /LATCHKEY_SECRETS_V2: use true/);
});

test("the kubernetes runtime's Pod grace period is the cluster's unless set, and a bad one names the variable", () => {
  assert.equal(loadDeployerConfig(required).LATCHKEY_K8S_TERMINATION_GRACE_S, undefined);
  assert.equal(
    loadDeployerConfig({ ...required, LATCHKEY_K8S_TERMINATION_GRACE_S: '5' }).LATCHKEY_K8S_TERMINATION_GRACE_S,
    5,
  );
  assert.throws(
    () => loadDeployerConfig({ ...required, LATCHKEY_K8S_TERMINATION_GRACE_S: '-1' }),
    /LATCHKEY_K8S_TERMINATION_GRACE_S/,
  );
});
