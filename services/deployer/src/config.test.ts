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
