import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keyMaterialPaths } from '../local-state/key-material.js';
import { buildServiceEnv, type ServiceEnvInput } from './service-env.js';

const home = '/data';
/** Each variable of `expected` has that value in `env` (undefined: not set). */
function assertEnv(env: Record<string, string | undefined>, expected: Record<string, string | undefined>): void {
  for (const [name, value] of Object.entries(expected)) assert.equal(env[name], value, name);
}

const base: Omit<ServiceEnvInput, 'service'> = {
  replica: 1,
  port: 7402,
  home,
  natsUrl: 'nats://127.0.0.1:7422',
  keys: keyMaterialPaths(home),
  databaseUrls: { catalog: 'postgres://c', ras: 'postgres://r', deployer: 'postgres://d' },
  rasAddr: '127.0.0.1:7401',
  catalogAddr: '127.0.0.1:7402',
  deployerAddr: '127.0.0.1:7404',
};

test('catalog gets its database, the KEK, ras and the deployer; not the sealing keys', () => {
  const env = buildServiceEnv(
    { PATH: '/bin', LATCHKEY_TOKEN: 't', LATCHKEY_DATABASE_URL: 'stale' },
    { ...base, service: 'catalog' },
  );
  assertEnv(env, {
    PATH: '/bin',
    LATCHKEY_SERVICE_HOST: '127.0.0.1',
    LATCHKEY_GRPC_PORT: '7402',
    LATCHKEY_NATS_URL: 'nats://127.0.0.1:7422',
    LATCHKEY_DATABASE_URL: 'postgres://c',
    // Mutual TLS: its own certificate and the local CA; no shared tokens.
    LATCHKEY_TLS_CERT_FILE: '/data/tls/catalog.crt',
    LATCHKEY_TLS_KEY_FILE: '/data/tls/catalog.key',
    LATCHKEY_TLS_CA_FILE: '/data/tls/ca.crt',
    LATCHKEY_INSECURE: undefined,
    LATCHKEY_CREDENTIALS_FILE: undefined,
    LATCHKEY_REPLICA_ID: 'catalog-1',
    LATCHKEY_RAS_ADDR: '127.0.0.1:7401',
    LATCHKEY_KEK_FILE: '/data/kek.json',
    LATCHKEY_DEPLOYER_ADDR: '127.0.0.1:7404',
    LATCHKEY_SEAL_PRIVATE_KEY_FILE: undefined,
    LATCHKEY_CATALOG_ADDR: undefined,
    LATCHKEY_TOKEN: undefined,
  });
});

test('resolver gets catalog, ras, the public sealing key and the public signing key but no database', () => {
  const env = buildServiceEnv(
    { LATCHKEY_DATABASE_URL: 'stale' },
    { ...base, service: 'resolver', replica: 2, port: 0 },
  );
  assert.equal(env['LATCHKEY_DATABASE_URL'], undefined);
  assert.equal(env['LATCHKEY_GRPC_PORT'], '0');
  assert.equal(env['LATCHKEY_REPLICA_ID'], 'resolver-2');
  assert.equal(env['LATCHKEY_CATALOG_ADDR'], '127.0.0.1:7402');
  assert.equal(env['LATCHKEY_SEAL_PUBLIC_KEY_FILE'], '/data/deployer-seal.pub');
  assert.equal(env['LATCHKEY_DEPLOYER_SIGNING_KEY_FILES'], '/data/deployer-sign.pub');
  assert.equal(env['LATCHKEY_SIGNING_KEY_FILE'], undefined, 'the resolver never holds the signing key');
  assert.equal(env['LATCHKEY_KEK_FILE'], undefined);
  assert.equal(env['LATCHKEY_DEPLOYER_ADDR'], undefined);
});

test('deployer gets the private sealing key and the work dir; ras gets no ras address', () => {
  const d = buildServiceEnv({}, { ...base, service: 'deployer' });
  assert.equal(d['LATCHKEY_SEAL_PRIVATE_KEY_FILE'], '/data/deployer-seal.key');
  assert.equal(d['LATCHKEY_SIGNING_KEY_FILE'], '/data/deployer-sign.key');
  assert.equal(d['LATCHKEY_WORK_DIR'], '/data/work');
  assert.equal(d['LATCHKEY_DATABASE_URL'], 'postgres://d');
  const r = buildServiceEnv({}, { ...base, service: 'ras' });
  assert.equal(r['LATCHKEY_RAS_ADDR'], undefined);
  assert.equal(r['LATCHKEY_DATABASE_URL'], 'postgres://r');
});

test('every service verifies people with the local issuer: its JWKS file, issuer and audience; stale OIDC settings are dropped', () => {
  for (const service of ['ras', 'catalog', 'resolver', 'deployer'] as const) {
    const env = buildServiceEnv(
      { LATCHKEY_OIDC_JWKS_URL: 'https://stale.test/jwks', LATCHKEY_OIDC_GROUPS_CLAIM: 'roles' },
      { ...base, service },
    );
    assert.equal(env['LATCHKEY_OIDC_ISSUER'], 'urn:latchkey:embedded');
    assert.equal(env['LATCHKEY_OIDC_AUDIENCE'], 'latchkey');
    assert.equal(env['LATCHKEY_OIDC_JWKS_FILE'], '/data/oidc-jwks.json');
    assert.equal(env['LATCHKEY_OIDC_JWKS_URL'], undefined);
    assert.equal(env['LATCHKEY_OIDC_GROUPS_CLAIM'], undefined);
  }
});

test('insecure (latchkey up --insecure): plaintext and the shared tokens, no certificates; stale TLS settings are dropped', () => {
  const env = buildServiceEnv(
    { LATCHKEY_TLS_CERT_FILE: '/stale.crt', LATCHKEY_INSECURE: '0' },
    { ...base, service: 'resolver', insecure: true },
  );
  assert.equal(env['LATCHKEY_INSECURE'], '1');
  assert.equal(env['LATCHKEY_CREDENTIALS_FILE'], '/data/credentials.json');
  assert.equal(env['LATCHKEY_TLS_CERT_FILE'], undefined);
  assert.equal(env['LATCHKEY_TLS_CA_FILE'], undefined);
});

test('each service gets its own NATS credentials and the CA of nats-server; only ras gets the subscriber signing key', () => {
  for (const service of ['ras', 'catalog', 'resolver', 'deployer'] as const) {
    for (const insecure of [false, true]) {
      const env = buildServiceEnv({ LATCHKEY_NATS_CREDS_FILE: '/stale' }, { ...base, service, insecure });
      assert.equal(env['LATCHKEY_NATS_CREDS_FILE'], `/data/bus/${service}.creds`, service);
      assert.equal(env['LATCHKEY_NATS_CA_FILE'], '/data/tls/ca.crt', service);
      assert.equal(
        env['LATCHKEY_NATS_SUBSCRIBER_SIGNER_FILE'],
        service === 'ras' ? '/data/bus/subscriber-signer.json' : undefined,
        service,
      );
    }
  }
});

test('ras gets the bootstrap admin in embedded mode unless the env names admins; no other service gets it', () => {
  const admin = { ...base, bootstrapAdmin: 'admin' };
  assert.equal(buildServiceEnv({}, { ...admin, service: 'ras' })['LATCHKEY_PLATFORM_ADMINS'], 'admin');
  assert.equal(
    buildServiceEnv({ LATCHKEY_PLATFORM_ADMINS: 'olive' }, { ...admin, service: 'ras' })['LATCHKEY_PLATFORM_ADMINS'],
    'olive',
  );
  const byGroup = buildServiceEnv({ LATCHKEY_PLATFORM_ADMIN_GROUPS: 'sre' }, { ...admin, service: 'ras' });
  assert.equal(byGroup['LATCHKEY_PLATFORM_ADMINS'], undefined);
  assert.equal(buildServiceEnv({}, { ...admin, service: 'catalog' })['LATCHKEY_PLATFORM_ADMINS'], undefined);
});

test('the gateway gets the three services it calls, its HTTP port and its serving certificate; no key, no database, no shared token', () => {
  const env = buildServiceEnv(
    { LATCHKEY_DATABASE_URL: 'stale', LATCHKEY_HTTP_PORT: '1', LATCHKEY_TOKEN: 't' },
    { ...base, service: 'gateway', port: 7405, httpPort: 7480 },
  );
  assertEnv(env, {
    LATCHKEY_GRPC_PORT: '7405',
    LATCHKEY_HTTP_HOST: '127.0.0.1',
    LATCHKEY_HTTP_PORT: '7480',
    LATCHKEY_RAS_ADDR: '127.0.0.1:7401',
    LATCHKEY_CATALOG_ADDR: '127.0.0.1:7402',
    LATCHKEY_DEPLOYER_ADDR: '127.0.0.1:7404',
    LATCHKEY_TLS_CERT_FILE: '/data/tls/gateway.crt',
    LATCHKEY_TLS_KEY_FILE: '/data/tls/gateway.key',
    LATCHKEY_TLS_CA_FILE: '/data/tls/ca.crt',
    LATCHKEY_NATS_CREDS_FILE: '/data/bus/gateway.creds',
    // The console's session key (shared by its replicas) and the key login links are sealed to.
    LATCHKEY_SESSION_KEY_FILE: '/data/gateway-session.key',
    LATCHKEY_LOGIN_LINK_KEY_FILE: '/data/gateway-login-link.key',
    LATCHKEY_DATABASE_URL: undefined,
    LATCHKEY_KEK_FILE: undefined,
    LATCHKEY_SEAL_PRIVATE_KEY_FILE: undefined,
    LATCHKEY_SIGNING_KEY_FILE: undefined,
    LATCHKEY_CREDENTIALS_FILE: undefined,
    LATCHKEY_TOKEN: undefined,
  });
  // Insecure mode: a token of its own, in a file that holds no other service's.
  const insecure = buildServiceEnv({}, { ...base, service: 'gateway', insecure: true });
  assert.equal(insecure['LATCHKEY_INSECURE'], '1');
  assert.equal(insecure['LATCHKEY_CREDENTIALS_FILE'], '/data/gateway-credentials.json');
  assert.equal(insecure['LATCHKEY_HTTP_PORT'], '0');
});

test("workloads' way to their secrets: the deployer gets the gateway's URL, the gateway its runtime certificate (not with --insecure)", () => {
  const deployer = buildServiceEnv(
    { LATCHKEY_WORKLOAD_API_URL: 'https://stale:1' },
    { ...base, service: 'deployer', workloadApiUrl: 'https://127.0.0.1:7480' },
  );
  assertEnv(deployer, {
    LATCHKEY_WORKLOAD_API_URL: 'https://127.0.0.1:7480',
    LATCHKEY_TLS_CA_FILE: '/data/tls/ca.crt',
    LATCHKEY_RUNTIME_TLS_CERT_FILE: undefined,
  });
  const gateway = buildServiceEnv({}, { ...base, service: 'gateway', port: 7405, httpPort: 7480 });
  assertEnv(gateway, {
    LATCHKEY_RUNTIME_TLS_CERT_FILE: '/data/tls/gateway-runtime.crt',
    LATCHKEY_RUNTIME_TLS_KEY_FILE: '/data/tls/gateway-runtime.key',
    LATCHKEY_WORKLOAD_API_URL: undefined,
  });
  for (const service of ['ras', 'catalog', 'resolver'] as const) {
    assert.equal(buildServiceEnv({}, { ...base, service })['LATCHKEY_RUNTIME_TLS_CERT_FILE'], undefined, service);
  }
  const insecure = buildServiceEnv(
    { LATCHKEY_RUNTIME_TLS_CERT_FILE: 'stale' },
    { ...base, service: 'gateway', insecure: true },
  );
  assert.equal(insecure['LATCHKEY_RUNTIME_TLS_CERT_FILE'], undefined);
});

test('a NATS cluster: every service gets the URL list and the replica count; a stale count from the launcher env is not passed on', () => {
  const urls = 'nats://127.0.0.1:7422,nats://127.0.0.1:7423,nats://127.0.0.1:7424';
  const env = buildServiceEnv(
    { LATCHKEY_NATS_REPLICAS: '5' },
    { ...base, service: 'deployer', natsUrl: urls, natsReplicas: 3 },
  );
  assertEnv(env, { LATCHKEY_NATS_URL: urls, LATCHKEY_NATS_REPLICAS: '3' });
  const single = buildServiceEnv({ LATCHKEY_NATS_REPLICAS: '5' }, { ...base, service: 'deployer' });
  assert.equal(single['LATCHKEY_NATS_REPLICAS'], undefined);
});

test('each service gets the metrics port the launcher picked for it, and never an inherited one', () => {
  const env = buildServiceEnv({ LATCHKEY_METRICS_PORT: '9999' }, { ...base, service: 'gateway', metricsPort: 41234 });
  assert.equal(env['LATCHKEY_METRICS_PORT'], '41234');
  const without = buildServiceEnv({ LATCHKEY_METRICS_PORT: '9999' }, { ...base, service: 'ras' });
  assert.equal(without['LATCHKEY_METRICS_PORT'], undefined);
});

test("features.secretsV2: every service gets the launcher's LATCHKEY_SECRETS_V2, true unless it says false", () => {
  const services = ['catalog', 'ras', 'resolver', 'deployer', 'gateway'] as const;
  for (const service of services) {
    assert.equal(buildServiceEnv({}, { ...base, service })['LATCHKEY_SECRETS_V2'], 'true', service);
    assert.equal(
      buildServiceEnv({ LATCHKEY_SECRETS_V2: 'false' }, { ...base, service, replica: 2 })['LATCHKEY_SECRETS_V2'],
      'false',
      service,
    );
  }
});

test("the launcher's OTEL_* variables reach every service, each exporting its spans under its own service name", () => {
  const launcher = {
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
    OTEL_BSP_SCHEDULE_DELAY: '200',
    OTEL_SERVICE_NAME: 'launcher',
  };
  for (const service of ['ras', 'catalog', 'resolver', 'deployer', 'gateway'] as const) {
    assertEnv(buildServiceEnv(launcher, { ...base, service }), {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
      OTEL_BSP_SCHEDULE_DELAY: '200',
      OTEL_SERVICE_NAME: `latchkey-${service}`,
    });
  }
  assert.equal(
    buildServiceEnv({ PATH: '/bin' }, { ...base, service: 'ras' })['OTEL_EXPORTER_OTLP_ENDPOINT'],
    undefined,
  );
});
