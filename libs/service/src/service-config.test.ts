import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig, z } from '@latchkey/config';
import { serviceConfig } from './service-config.js';

const schema = z.object({ ...serviceConfig(7409), LATCHKEY_REPLICA_ID: z.string().default('x') });
const env = {
  LATCHKEY_NATS_URL: 'nats://x',
  LATCHKEY_INSECURE: '1',
  LATCHKEY_OIDC_ISSUER: 'https://login.example.test/',
  LATCHKEY_OIDC_AUDIENCE: 'latchkey',
};

test("the log level is part of every service's config: info by default, and a bad one names LATCHKEY_LOG_LEVEL", () => {
  assert.equal(loadConfig(schema, env).LATCHKEY_LOG_LEVEL, 'info');
  assert.equal(loadConfig(schema, { ...env, LATCHKEY_LOG_LEVEL: 'warn' }).LATCHKEY_LOG_LEVEL, 'warn');
  assert.throws(
    () => loadConfig(schema, { ...env, LATCHKEY_LOG_LEVEL: 'loud' }),
    /LATCHKEY_LOG_LEVEL: one of debug, info, warn, error, silent/,
  );
});

test('a service listens on its own default port and on 127.0.0.1 unless told otherwise; the NATS URL is required', () => {
  const c = loadConfig(schema, env);
  assert.deepEqual([c.LATCHKEY_SERVICE_HOST, c.LATCHKEY_GRPC_PORT], ['127.0.0.1', 7409]);
  const { LATCHKEY_NATS_URL: _n, ...without } = env;
  assert.throws(
    () => loadConfig(schema, without),
    /LATCHKEY_NATS_URL: required: LATCHKEY_NATS_URL, the NATS server URL/,
  );
});

test('every service takes a list of NATS URLs and a replica count; a bad URL stops the start naming it', () => {
  const c = loadConfig(schema, {
    ...env,
    LATCHKEY_NATS_URL: 'nats://n1:4222,nats://n2:4222',
    LATCHKEY_NATS_REPLICAS: '3',
  });
  assert.equal(c.LATCHKEY_NATS_URL, 'nats://n1:4222,nats://n2:4222');
  assert.equal(c.LATCHKEY_NATS_REPLICAS, 3);
  assert.equal(loadConfig(schema, env).LATCHKEY_NATS_REPLICAS, 1);
  assert.throws(
    () => loadConfig(schema, { ...env, LATCHKEY_NATS_URL: 'nats://n1:4222,n2:4222' }),
    /LATCHKEY_NATS_URL: "n2:4222" is not a nats:\/\/ or tls:\/\/ URL/,
  );
  assert.throws(
    () => loadConfig(schema, { ...env, LATCHKEY_NATS_REPLICAS: '6' }),
    /LATCHKEY_NATS_REPLICAS: a whole number from 1 to 5/,
  );
});

test('the metrics port is off (0) unless set, and a bad one names LATCHKEY_METRICS_PORT', () => {
  assert.equal(loadConfig(schema, env).LATCHKEY_METRICS_PORT, 0);
  assert.equal(loadConfig(schema, { ...env, LATCHKEY_METRICS_PORT: '9464' }).LATCHKEY_METRICS_PORT, 9464);
  assert.throws(() => loadConfig(schema, { ...env, LATCHKEY_METRICS_PORT: 'metrics' }), /LATCHKEY_METRICS_PORT/);
  assert.throws(() => loadConfig(schema, { ...env, LATCHKEY_METRICS_PORT: '70000' }), /LATCHKEY_METRICS_PORT/);
});

test('traces are exported only when an OTLP endpoint is set; a bad endpoint names its variable and what it must be', () => {
  const off = loadConfig(schema, { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: '' });
  assert.deepEqual(
    [off.OTEL_EXPORTER_OTLP_ENDPOINT, off.OTEL_SERVICE_NAME, off.OTEL_SDK_DISABLED],
    [undefined, undefined, undefined],
  );
  const on = loadConfig(schema, {
    ...env,
    OTEL_EXPORTER_OTLP_ENDPOINT: ' http://collector:4318 ',
    OTEL_SDK_DISABLED: 'FALSE',
  });
  assert.equal(on.OTEL_EXPORTER_OTLP_ENDPOINT, 'http://collector:4318');
  assert.equal(on.OTEL_SDK_DISABLED, undefined);
  assert.throws(
    () => loadConfig(schema, { ...env, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'collector:4318' }),
    /OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT must be the http\(s\) URL of an OTLP\/HTTP collector \(e\.g\. http:\/\/otel-collector:4318\)/,
  );
  assert.throws(
    () => loadConfig(schema, { ...env, OTEL_SDK_DISABLED: 'yes' }),
    /OTEL_SDK_DISABLED: true \(export no traces\) or false/,
  );
});
