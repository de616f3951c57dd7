import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunSpec } from '../domain/ports.js';
import {
  API_CA_KEY,
  domainNamespace,
  MOUNT,
  namespaceProblem,
  PROPERTIES_KEY,
  podManifest,
  valuesSecret,
} from './kubernetes-pod-manifest.js';

const spec = (over: Partial<RunSpec> = {}): RunSpec => ({
  deploymentId: 'd0c1e2f3-0000-4000-8000-000000000001',
  workloadId: 'w1',
  workload: 'Nightly_ETL',
  domain: 'analytics',
  command: ['run.sh'],
  env: { DB_PASSWORD: 'pw-s3cret-value', MODE: 'batch' },
  sparkConf: {},
  secrets: ['pw-s3cret-value'],
  ...over,
});

test('the Pod manifest takes a resolved value from its values Secret, keeps literals as values, and holds no value itself', () => {
  const m = podManifest(spec(), { name: 'lk-nightly-etl-d0c1e2f3', namespace: 'latchkey-analytics', image: 'img:1' });
  const container = m.body.spec!.containers[0]!;
  assert.deepEqual(container.env?.find((e) => e.name === 'DB_PASSWORD')?.valueFrom, {
    secretKeyRef: { name: 'lk-nightly-etl-d0c1e2f3-values', key: 'DB_PASSWORD' },
  });
  assert.equal(container.env?.find((e) => e.name === 'MODE')?.value, 'batch');
  assert.equal(container.env?.find((e) => e.name === 'LATCHKEY_DEPLOYMENT_ID')?.value, spec().deploymentId);
  assert.equal(m.labels['latchkey.dev/workload'], 'nightly-etl');
  assert.equal(m.body.spec!.restartPolicy, 'Never');
  assert.ok(!JSON.stringify(m.body).includes('pw-s3cret-value'), 'no value in the Pod spec');
  assert.equal(Buffer.from(m.secretData.DB_PASSWORD!, 'base64').toString('utf8'), 'pw-s3cret-value');
  assert.equal(container.volumeMounts, undefined, 'no Spark conf: nothing mounted');
});

test('Spark conf becomes the values Secret spark.properties, mounted read-only; the Secret is owned by the Pod', () => {
  const m = podManifest(spec({ env: {}, secrets: [], sparkConf: { 'spark.a': 'x=y' } }), {
    name: 'p',
    namespace: 'n',
    image: 'img:1',
  });
  const container = m.body.spec!.containers[0]!;
  assert.deepEqual(container.volumeMounts, [{ name: 'latchkey-values', mountPath: MOUNT, readOnly: true }]);
  assert.equal(m.body.spec!.volumes?.[0]?.secret?.defaultMode, 0o400);
  assert.equal(Buffer.from(m.secretData[PROPERTIES_KEY]!, 'base64').toString('utf8'), 'spark.a=x\\=y\n');
  assert.equal(
    container.env?.find((e) => e.name === 'LATCHKEY_SPARK_PROPERTIES_FILE')?.value,
    `${MOUNT}/${PROPERTIES_KEY}`,
  );
  const secret = valuesSecret(m, 'uid-1');
  assert.deepEqual(secret.metadata?.ownerReferences, [
    { apiVersion: 'v1', kind: 'Pod', name: 'p', uid: 'uid-1', controller: true },
  ]);
  assert.equal(secret.metadata?.name, 'p-values');
  assert.equal(secret.data, m.secretData);
});

test("the workload token comes from the values Secret and the gateway's CA is mounted beside spark.properties", () => {
  const token = `lkw_${'x'.repeat(43)}`;
  const m = podManifest(
    spec({
      env: { LATCHKEY_WORKLOAD_TOKEN: token, LATCHKEY_API_URL: 'https://gw:7480' },
      secrets: [token],
      sparkConf: { 'spark.a': 'b' },
      apiCaPem: 'CA-PEM',
    }),
    { name: 'p', namespace: 'n', image: 'img:1' },
  );
  const container = m.body.spec!.containers[0]!;
  assert.deepEqual(container.env?.find((e) => e.name === 'LATCHKEY_WORKLOAD_TOKEN')?.valueFrom, {
    secretKeyRef: { name: 'p-values', key: 'LATCHKEY_WORKLOAD_TOKEN' },
  });
  assert.ok(!JSON.stringify(m.body).includes(token), 'no token in the Pod spec');
  assert.equal(container.env?.find((e) => e.name === 'LATCHKEY_CA_FILE')?.value, `${MOUNT}/${API_CA_KEY}`);
  assert.deepEqual(m.body.spec!.volumes?.[0]?.secret?.items, [
    { key: PROPERTIES_KEY, path: PROPERTIES_KEY },
    { key: API_CA_KEY, path: API_CA_KEY },
  ]);
  assert.equal(Buffer.from(m.secretData[API_CA_KEY]!, 'base64').toString('utf8'), 'CA-PEM');
});

// What a Kubernetes API server accepts, written out here apart from the code under test
// (apimachinery's IsDNS1123Label and IsValidLabelValue, and a qualified label key).
const K8S_DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const K8S_LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const K8S_LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

test('a domain of the longest allowed name (54 characters) has a valid namespace latchkey-<domain> and valid labels', () => {
  const domain = `d${'0123456789'.repeat(6)}`.slice(0, 54);
  const namespace = domainNamespace('latchkey-', domain);
  assert.equal(namespace.length, 63);
  assert.match(namespace, K8S_DNS1123_LABEL);
  assert.equal(namespaceProblem(namespace), undefined);
  const m = podManifest(spec({ domain, workload: `${'W'.repeat(70)}-` }), {
    name: `lk-${'w'.repeat(40)}-d0c1e2f3`,
    namespace,
    image: 'img:1',
  });
  assert.equal(m.labels['latchkey.dev/domain'], domain);
  for (const [key, value] of Object.entries(m.labels)) {
    assert.match(key, K8S_LABEL_KEY);
    assert.ok(value.length <= 63, `label ${key} is at most 63 characters`);
    assert.match(value, K8S_LABEL_VALUE, `label ${key}`);
  }
  assert.ok(m.body.metadata!.name!.length <= 63 && K8S_DNS1123_LABEL.test(m.body.metadata!.name!));
  assert.deepEqual(valuesSecret(m, 'uid-1').metadata?.labels, m.labels);
});

test('a namespace a real API server would refuse is named with what is wrong', () => {
  // A domain created under the looser rule before: ends with '-', or over 54 characters.
  assert.match(namespaceProblem(domainNamespace('latchkey-', 'old-team-')) ?? '', /is not a DNS label/);
  assert.match(
    namespaceProblem(domainNamespace('latchkey-', 'd'.repeat(55))) ?? '',
    /is 64 characters long; a namespace name has at most 63/,
  );
  assert.equal(namespaceProblem(domainNamespace('latchkey-', '1team')), undefined);
});
