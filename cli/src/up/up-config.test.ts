import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readUpConfig } from './up-config.js';

test('defaults: fixed ports, one replica, embedded NATS, ./.latchkey', () => {
  assert.deepEqual(readUpConfig({}, '/w'), {
    home: '/w/.latchkey',
    systemDir: '/var/lib/latchkey',
    natsUrl: undefined,
    natsPort: 7422,
    pgPort: 7432,
    servicePorts: { ras: 7401, catalog: 7402, resolver: 7403, deployer: 7404 },
    gatewayPort: 7405,
    httpPort: 7480,
    replicas: 1,
    insecure: false,
    natsNodes: 1,
    natsReplicas: 1,
    pgDurable: true,
    livenessTimeoutMs: 60_000,
  });
});

test('LATCHKEY_NATS_NODES=3 starts a cluster whose streams the services keep on 3 servers; bad counts are refused by name', () => {
  const c = readUpConfig({ LATCHKEY_NATS_NODES: '3' }, '/w');
  assert.equal(c.natsNodes, 3);
  assert.equal(c.natsReplicas, 3);
  assert.equal(readUpConfig({ LATCHKEY_NATS_NODES: '3', LATCHKEY_NATS_REPLICAS: '1' }, '/w').natsReplicas, 1);
  assert.throws(
    () => readUpConfig({ LATCHKEY_NATS_NODES: '2', LATCHKEY_NATS_REPLICAS: '3' }, '/w'),
    /LATCHKEY_NATS_REPLICAS must be a whole number from 1 to 2 \(at most LATCHKEY_NATS_NODES/,
  );
  assert.throws(
    () => readUpConfig({ LATCHKEY_NATS_NODES: '9' }, '/w'),
    /LATCHKEY_NATS_NODES must be a whole number from 1 to 5/,
  );
  assert.throws(
    () => readUpConfig({ LATCHKEY_NATS_NODES: '3', LATCHKEY_NATS_URL: 'nats://a:4222' }, '/w'),
    /set only one of them/,
  );
  // An external NATS: a list of URLs, each checked.
  assert.equal(
    readUpConfig({ LATCHKEY_NATS_URL: 'nats://a:1,tls://b:2', LATCHKEY_NATS_REPLICAS: '3' }, '/w').natsReplicas,
    3,
  );
  assert.throws(
    () => readUpConfig({ LATCHKEY_NATS_URL: 'nats://a:1,http://b:2' }, '/w'),
    /LATCHKEY_NATS_URL: "http:\/\/b:2" is not a nats:\/\/ or tls:\/\/ URL/,
  );
});

test('LATCHKEY_SYSTEM_DIR moves what other OS users must reach as root', () => {
  assert.equal(readUpConfig({ LATCHKEY_SYSTEM_DIR: 'sys' }, '/w').systemDir, '/w/sys');
  assert.equal(readUpConfig({ LATCHKEY_SYSTEM_DIR: ' ' }, '/w').systemDir, '/var/lib/latchkey');
});

test('LATCHKEY_INSECURE=1 asks for plaintext; anything but 1/0/true/false is refused by name', () => {
  assert.equal(readUpConfig({ LATCHKEY_INSECURE: '1' }, '/w').insecure, true);
  assert.equal(readUpConfig({ LATCHKEY_INSECURE: '0' }, '/w').insecure, false);
  assert.throws(
    () => readUpConfig({ LATCHKEY_INSECURE: 'yes' }, '/w'),
    /LATCHKEY_INSECURE must be 1 .* or 0, got "yes"/,
  );
});

test('LATCHKEY_PG_DURABLE=0 runs the embedded PostgreSQL without fsync; it is on unless said otherwise, and a bad value is refused by name', () => {
  assert.equal(readUpConfig({}, '/w').pgDurable, true);
  assert.equal(readUpConfig({ LATCHKEY_PG_DURABLE: '0' }, '/w').pgDurable, false);
  assert.equal(readUpConfig({ LATCHKEY_PG_DURABLE: 'true' }, '/w').pgDurable, true);
  assert.throws(
    () => readUpConfig({ LATCHKEY_PG_DURABLE: 'off' }, '/w'),
    /LATCHKEY_PG_DURABLE must be 1 .* or 0, got "off"/,
  );
});

test('LATCHKEY_LIVENESS_TIMEOUT_MS: a minute unless said; 0 never judges; below three heartbeats or not a number is refused by name', () => {
  assert.equal(readUpConfig({}, '/w').livenessTimeoutMs, 60_000);
  assert.equal(readUpConfig({ LATCHKEY_LIVENESS_TIMEOUT_MS: '0' }, '/w').livenessTimeoutMs, 0);
  assert.equal(readUpConfig({ LATCHKEY_LIVENESS_TIMEOUT_MS: '25000' }, '/w').livenessTimeoutMs, 25_000);
  for (const bad of ['5000', '14999', '-1', '1.5', 'soon', '3600001']) {
    assert.throws(
      () => readUpConfig({ LATCHKEY_LIVENESS_TIMEOUT_MS: bad }, '/w'),
      new RegExp(
        `LATCHKEY_LIVENESS_TIMEOUT_MS must be milliseconds .*0 \\(never\\), or 15000 to 3600000 .*got "${bad.replace('.', '\\.')}"$`,
      ),
    );
  }
});

test('reads every variable; 0 means pick a free port', () => {
  const c = readUpConfig(
    {
      LATCHKEY_HOME: '/data',
      LATCHKEY_NATS_URL: 'nats://10.0.0.1:4222',
      LATCHKEY_NATS_PORT: '0',
      LATCHKEY_PG_PORT: '15432',
      LATCHKEY_RAS_PORT: '0',
      LATCHKEY_CATALOG_PORT: '9002',
      LATCHKEY_RESOLVER_PORT: '9003',
      LATCHKEY_DEPLOYER_PORT: '9004',
      LATCHKEY_GATEWAY_PORT: '0',
      LATCHKEY_HTTP_PORT: '8443',
      LATCHKEY_REPLICAS: '3',
    },
    '/w',
  );
  assert.equal(c.gatewayPort, 0);
  assert.equal(c.httpPort, 8443);
  assert.equal(c.home, '/data');
  assert.equal(c.natsUrl, 'nats://10.0.0.1:4222');
  assert.equal(c.natsPort, 0);
  assert.equal(c.pgPort, 15432);
  assert.deepEqual(c.servicePorts, { ras: 0, catalog: 9002, resolver: 9003, deployer: 9004 });
  assert.equal(c.replicas, 3);
});

test('a bad value names its variable', () => {
  assert.throws(
    () => readUpConfig({ LATCHKEY_PG_PORT: 'x' }, '/w'),
    /LATCHKEY_PG_PORT must be a port number .*got "x"/,
  );
  assert.throws(() => readUpConfig({ LATCHKEY_RAS_PORT: '70000' }, '/w'), /LATCHKEY_RAS_PORT/);
  assert.throws(() => readUpConfig({ LATCHKEY_REPLICAS: '0' }, '/w'), /LATCHKEY_REPLICAS must be a whole number/);
  assert.throws(() => readUpConfig({ LATCHKEY_REPLICAS: '1.5' }, '/w'), /LATCHKEY_REPLICAS/);
});
