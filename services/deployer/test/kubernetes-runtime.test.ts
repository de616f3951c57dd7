import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { CoreV1Api } from '@kubernetes/client-node';
import { isLatchkeyError, type LatchkeyError } from '@latchkey/errors';
import { createLogger, REDACTED, Redactor } from '@latchkey/logger';
import {
  k3sSkipReason,
  startKubernetesEmulator,
  startTestK3s,
  waitFor,
  type KubernetesEmulator,
  type TestK3s,
} from '@latchkey/testing';
import { KubernetesRuntime, type KubernetesRuntimeOptions } from '../src/adapters/kubernetes-runtime.js';
import type { DeploymentRecord } from '../src/domain/deployment-types.js';
import type { RunHooks, RunSpec } from '../src/domain/ports.js';

let k8s: KubernetesEmulator;
before(async () => {
  // The domain's namespace exists, as a platform admin creates it (the deployer never does).
  k8s = await startKubernetesEmulator({ namespaces: ['latchkey-analytics'] });
});
after(async () => {
  await k8s?.stop();
});

const logger = createLogger({ service: 'deployer-test', level: 'error' });
/** The runtime over the emulator, re-watching and retrying fast; `over` adds or replaces options. */
const runtime = (over: Partial<KubernetesRuntimeOptions> = {}) =>
  new KubernetesRuntime({
    kubeConfig: k8s.kubeConfig(),
    defaultImage: 'python:3.12-slim',
    rewatchMs: 20,
    retryDelayMs: 1,
    logger,
    ...over,
  });

function spec(over: Partial<RunSpec> = {}): RunSpec {
  const value = `k8s-canary-${randomUUID()}`;
  return {
    deploymentId: randomUUID(),
    workloadId: randomUUID(),
    workload: 'Nightly_ETL',
    domain: 'analytics',
    command: ['python3', 'etl.py'],
    env: { DB_PASSWORD: value, JDBC_URL: `jdbc:x?password=${value}`, MODE: 'batch' },
    sparkConf: { 'spark.hadoop.fs.s3a.secret.key': value },
    secrets: [value],
    ...over,
  };
}

function recorder(): RunHooks & {
  exits: { code: number | null; signal: string | null; reason?: string }[];
  lines: string[];
  /** How many lines had been reported when the exit was. */
  linesAtExit: number[];
} {
  const exits: { code: number | null; signal: string | null; reason?: string }[] = [];
  const lines: string[] = [];
  const linesAtExit: number[] = [];
  return {
    exits,
    lines,
    linesAtExit,
    onLine: (stream, line) => lines.push(`${stream}: ${line}`),
    onExit: (code, signal, reason) => {
      linesAtExit.push(lines.length);
      exits.push({ code, signal, ...(reason === undefined ? {} : { reason }) });
    },
  };
}

/** Starts `s` on `rt`, which must fail with a LatchkeyError: returns it. */
async function startFailure(rt: KubernetesRuntime, s: RunSpec): Promise<LatchkeyError> {
  let err: unknown;
  try {
    await rt.start(s, recorder());
  } catch (e) {
    err = e;
  }
  assert.ok(isLatchkeyError(err));
  return err;
}

const podOf = (s: RunSpec) =>
  k8s.pods('latchkey-analytics').find((p) => p.metadata.labels?.['latchkey.dev/deployment'] === s.deploymentId);

describe('kubernetes runtime', () => {
  test('a deployment becomes a Pod whose values come from a Secret it owns; no value in the Pod', async () => {
    const s = spec({ image: 'spark:3.5', resources: { limits: { memory: '1Gi' } } });
    const value = s.secrets[0]!;
    const rt = runtime();
    await rt.start(s, recorder());
    const pod = podOf(s);
    assert.ok(pod, 'the Pod exists in the domain namespace');
    assert.ok(!JSON.stringify(pod).includes(value), 'the Pod spec holds no value');
    const container = (
      pod as unknown as { spec: { containers: { image: string; env: unknown[]; resources: unknown }[] } }
    ).spec.containers[0]!;
    assert.equal(container.image, 'spark:3.5');
    assert.deepEqual(container.resources, { limits: { memory: '1Gi' } });
    const env = new Map(
      (
        container.env as { name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }[]
      ).map((e) => [e.name, e]),
    );
    assert.equal(env.get('MODE')?.value, 'batch', 'plain literals stay plain');
    assert.equal(env.get('DB_PASSWORD')?.valueFrom?.secretKeyRef.key, 'DB_PASSWORD');
    assert.equal(env.get('JDBC_URL')?.valueFrom?.secretKeyRef.key, 'JDBC_URL');
    assert.equal(env.get('LATCHKEY_SPARK_PROPERTIES_FILE')?.value, '/var/run/latchkey/spark.properties');
    const secretName = env.get('DB_PASSWORD')?.valueFrom?.secretKeyRef.name;
    const secret = k8s.secrets('latchkey-analytics').find((x) => x.metadata.name === secretName);
    assert.ok(secret, 'the values Secret exists');
    assert.deepEqual(
      secret.metadata.ownerReferences?.map((r) => [r.kind, r.name, r.uid]),
      [['Pod', pod.metadata.name, pod.metadata.uid]],
    );
    const data = (secret as unknown as { data: Record<string, string> }).data;
    assert.equal(Buffer.from(data['DB_PASSWORD'] ?? '', 'base64').toString(), value);
    assert.match(
      Buffer.from(data['spark.properties'] ?? '', 'base64').toString(),
      /spark\.hadoop\.fs\.s3a\.secret\.key=/,
    );
    await rt.stop(s.deploymentId, 'test over');
  });

  test('a Pod deleted by someone else ends its deployment as killed', async () => {
    const rt = runtime();
    const s = spec();
    const hooks = recorder();
    await rt.start(s, hooks);
    await k8s
      .kubeConfig()
      .makeApiClient(CoreV1Api)
      .deleteNamespacedPod({ namespace: 'latchkey-analytics', name: podOf(s)!.metadata.name });
    await waitFor(() => hooks.exits.length === 1, { what: 'the deletion to be reported' });
    assert.deepEqual(hooks.exits, [{ code: null, signal: 'SIGKILL' }]);
    assert.deepEqual(rt.running(), []);
  });

  test('a workload without an image on a deployer without a default is refused, naming both fixes', async () => {
    const rt = new KubernetesRuntime({ kubeConfig: k8s.kubeConfig(), defaultImage: '', rewatchMs: 20, logger });
    await assert.rejects(rt.start(spec(), recorder()), {
      code: 'runtime.no_image',
      message: /add run\.image to the workload or set LATCHKEY_K8S_DEFAULT_IMAGE/,
    });
  });

  test('the Pod phase ends the deployment with the container exit', async () => {
    const rt = runtime();
    const s = spec({ sparkConf: {} });
    const hooks = recorder();
    await rt.start(s, hooks);
    assert.deepEqual(rt.running(), [{ deploymentId: s.deploymentId, workloadId: s.workloadId }]);
    const name = podOf(s)!.metadata.name;
    k8s.setPodPhase('latchkey-analytics', name, 'Succeeded');
    await waitFor(() => hooks.exits.length === 1, { what: 'the exit to be reported' });
    assert.deepEqual(hooks.exits, [{ code: 0, signal: null }]);
    assert.deepEqual(rt.running(), []);
    await waitFor(() => podOf(s) === undefined, { what: 'the finished Pod to be deleted' });
    await waitFor(() => !k8s.secrets('latchkey-analytics').some((x) => x.metadata.name === `${name}-values`), {
      what: 'no Secret left once the garbage collector saw the Pod gone',
    });
  });

  test("the container's output reaches the deployment's log redacted, even split across writes, before its exit", async () => {
    const rt = runtime();
    const s = spec({ sparkConf: {} });
    const value = s.secrets[0]!;
    const b64 = Buffer.from(value).toString('base64');
    const hooks = recorder();
    await rt.start(s, hooks);
    const name = podOf(s)!.metadata.name;
    k8s.setPodPhase('latchkey-analytics', name, 'Running');
    await waitFor(() => k8s.requests().some((r) => r.path.endsWith(`/pods/${name}/log`) && r.query.follow === 'true'), {
      what: 'the log to be followed',
    });
    k8s.appendPodLog('latchkey-analytics', name, `starting\npassword=${value.slice(0, 7)}`);
    k8s.appendPodLog('latchkey-analytics', name, `${value.slice(7)} and ${b64.slice(0, 5)}`);
    k8s.appendPodLog('latchkey-analytics', name, `${b64.slice(5)}\nlast line without newline`);
    await waitFor(() => hooks.lines.length >= 2, { what: 'the first lines' });
    k8s.setPodPhase('latchkey-analytics', name, 'Succeeded');
    await waitFor(() => hooks.exits.length === 1, { what: 'the exit' });
    assert.deepEqual(hooks.lines, [
      'stdout: starting',
      'stdout: password=[REDACTED] and [REDACTED]',
      'stdout: last line without newline',
    ]);
    assert.deepEqual(hooks.linesAtExit, [3], 'every line is reported before the exit');
    assert.deepEqual(hooks.exits, [{ code: 0, signal: null }]);
    await waitFor(() => podOf(s) === undefined, { what: 'the finished Pod to be deleted' });
  });

  test("a Pod's output is masked with its own deployment's values only, never another domain's; the service's redactor holds both", async () => {
    const service = new Redactor();
    const rt = runtime({ redactor: service });
    const holder = spec({ sparkConf: {} });
    const guesser = spec({ sparkConf: {} });
    const [canary, own] = [holder.secrets[0]!, guesser.secrets[0]!];
    await rt.start(holder, recorder());
    const hooks = recorder();
    await rt.start(guesser, hooks);
    assert.equal(service.redact(`${canary} ${own}`), `${REDACTED} ${REDACTED}`);
    const name = podOf(guesser)!.metadata.name;
    k8s.setPodPhase('latchkey-analytics', name, 'Running');
    k8s.appendPodLog('latchkey-analytics', name, `guess ${canary}\nown ${own}\n`);
    k8s.setPodPhase('latchkey-analytics', name, 'Succeeded');
    await waitFor(() => hooks.exits.length === 1, { what: 'the exit' });
    assert.deepEqual(hooks.lines, [`stdout: guess ${canary}`, `stdout: own ${REDACTED}`]);
    await waitFor(() => service.redact(own) === own, { what: "the ended deployment's value to be released" });
    assert.equal(service.redact(canary), REDACTED, 'the running one still holds its value');
    await rt.stopAll('test over');
  });

  test('a Pod that finished before it was seen running still has its output read, whole, before it is deleted', async () => {
    const rt = runtime();
    const s = spec({ sparkConf: {} });
    const hooks = recorder();
    await rt.start(s, hooks);
    // All before the runtime first looks at the Pod.
    const name = podOf(s)!.metadata.name;
    k8s.setPodPhase('latchkey-analytics', name, 'Running');
    k8s.appendPodLog('latchkey-analytics', name, `quick job, password ${s.secrets[0]!}\ndone\n`);
    k8s.setPodPhase('latchkey-analytics', name, 'Failed');
    await waitFor(() => hooks.exits.length === 1, { what: 'the exit' });
    assert.deepEqual(hooks.lines, ['stdout: quick job, password [REDACTED]', 'stdout: done']);
    assert.deepEqual(hooks.exits, [{ code: 1, signal: null }]);
    const reads = k8s.requests().filter((r) => r.path.endsWith(`/pods/${name}/log`));
    assert.deepEqual(
      reads.map((r) => [r.query.container, r.query.follow]),
      [['workload', 'false']],
      'read once, whole',
    );
    await waitFor(() => podOf(s) === undefined, { what: 'the finished Pod to be deleted' });
  });

  test("after a restart, reclaim deletes the Pod an earlier run left for a deployment (its Secret with it), and never another deployment's", async () => {
    const earlier = runtime();
    const s = spec();
    await earlier.start(s, recorder());
    const pod = podOf(s)!;
    const record = (over: Partial<DeploymentRecord>) =>
      ({ id: s.deploymentId, workload: s.workload, domain: s.domain, ...over }) as DeploymentRecord;
    const restarted = runtime();
    // A record whose id only shares the Pod name's prefix: the label decides.
    await restarted.reclaim(record({ id: `${s.deploymentId.slice(0, 8)}-0000-4000-8000-000000000000` }));
    assert.equal(podOf(s)?.metadata.uid, pod.metadata.uid, 'not its Pod: left alone');
    await restarted.reclaim(record({}));
    assert.equal(podOf(s), undefined);
    await waitFor(
      () => !k8s.secrets('latchkey-analytics').some((x) => x.metadata.name === `${pod.metadata.name}-values`),
      { what: 'its Secret collected after it' },
    );
    await restarted.reclaim(record({})); // gone: nothing to do
    k8s.failNext(1, 503);
    await assert.rejects(restarted.reclaim(record({})), { code: 'runtime.kubernetes_unavailable' });
  });

  test('stop deletes the Pod, and its values Secret goes with it', async () => {
    const rt = runtime();
    const s = spec();
    const hooks = recorder();
    await rt.start(s, hooks);
    const name = podOf(s)!.metadata.name;
    assert.equal(await rt.stop(s.deploymentId, 'replaced'), true);
    assert.deepEqual(hooks.exits, [{ code: null, signal: 'SIGKILL', reason: 'replaced' }]);
    assert.equal(podOf(s), undefined);
    await waitFor(() => !k8s.secrets('latchkey-analytics').some((x) => x.metadata.name === `${name}-values`), {
      what: 'the Secret collected after its Pod',
    });
    assert.equal(await rt.stop(s.deploymentId, 'again'), false);
  });

  test('an API that stays unavailable leaves no Pod behind and says so without any value', async () => {
    const rt = new KubernetesRuntime({
      kubeConfig: k8s.kubeConfig(),
      defaultImage: 'python:3.12-slim',
      createAttempts: 2,
      retryDelayMs: 1,
      logger,
    });
    const s = spec();
    k8s.failNext(2, 503);
    const err = await startFailure(rt, s);
    assert.equal(err.code, 'runtime.kubernetes_unavailable');
    assert.equal(err.retryable, true);
    assert.ok(!err.message.includes(s.secrets[0]!));
    assert.equal(podOf(s), undefined);
    assert.deepEqual(rt.running(), []);
  });

  test('stop does not hang when the deleted Pod is never seen gone: it reports the deployment stopped after a while', async () => {
    const rt = new KubernetesRuntime({
      kubeConfig: k8s.kubeConfig(),
      defaultImage: 'python:3.12-slim',
      stopWaitMs: 50,
      logger,
    });
    const s = spec();
    const hooks = recorder();
    await rt.start(s, hooks);
    // From now on the Pod's reads never answer (an API that hangs): nothing will report the deletion.
    const api = (rt as unknown as { api: CoreV1Api }).api;
    api.readNamespacedPod = () => new Promise<never>(() => undefined);
    assert.equal(await rt.stop(s.deploymentId, 'replaced'), true);
    assert.deepEqual(hooks.exits, [{ code: null, signal: 'SIGKILL', reason: 'replaced' }]);
    assert.deepEqual(rt.running(), []);
    assert.equal(podOf(s), undefined, 'the deletion itself went through');
  });

  test('a brief unavailability of the API is retried: one Pod, one Secret', async () => {
    const rt = runtime();
    const s = spec();
    k8s.failNext(1, 503);
    await rt.start(s, recorder());
    const pod = podOf(s);
    assert.ok(pod, 'the Pod was created on the second attempt');
    k8s.failNext(1, 502);
    const s2 = spec({ sparkConf: {} });
    await rt.start(s2, recorder());
    assert.equal(
      k8s.secrets('latchkey-analytics').filter((x) => x.metadata.name === `${podOf(s2)!.metadata.name}-values`).length,
      1,
    );
    await rt.stop(s.deploymentId, 'test over');
    await rt.stop(s2.deploymentId, 'test over');
  });

  test("a retried create that finds the Pod an earlier attempt made takes it, but never another deployment's", async () => {
    const rt = runtime();
    const core = k8s.kubeConfig().makeApiClient(CoreV1Api);
    const mine = spec({ workload: 'lost-answer' });
    const name = `lk-lost-answer-${mine.deploymentId.slice(0, 8)}`;
    // As if the first create had succeeded and its answer been lost.
    await core.createNamespacedPod({
      namespace: 'latchkey-analytics',
      body: {
        metadata: { name, labels: { 'latchkey.dev/deployment': mine.deploymentId } },
        spec: { containers: [{ name: 'workload', image: 'x' }] },
      },
    });
    k8s.failNext(1, 503);
    await rt.start(mine, recorder());
    assert.deepEqual(
      rt.running().map((r) => r.deploymentId),
      [mine.deploymentId],
    );
    await rt.stop(mine.deploymentId, 'test over');

    const other = spec({ workload: 'taken' });
    const otherName = `lk-taken-${other.deploymentId.slice(0, 8)}`;
    await core.createNamespacedPod({
      namespace: 'latchkey-analytics',
      body: {
        metadata: { name: otherName, labels: { 'latchkey.dev/deployment': 'someone-else' } },
        spec: { containers: [{ name: 'workload', image: 'x' }] },
      },
    });
    k8s.failNext(1, 503);
    await assert.rejects(rt.start(other, recorder()), { code: 'runtime.kubernetes_rejected', message: /answered 409/ });
    assert.deepEqual(rt.running(), []);
    await core.deleteNamespacedPod({ namespace: 'latchkey-analytics', name: otherName });
  });

  test('a missing namespace or a missing permission says what to do about it', async () => {
    const rt = runtime();
    // No namespace latchkey-nowhere: the API server answers 404 (the deployer does not create namespaces).
    await assert.rejects(rt.start(spec({ domain: 'nowhere' }), recorder()), {
      code: 'runtime.kubernetes_rejected',
      message:
        /answered 404 while creating Pod .* in namespace latchkey-nowhere: create namespace latchkey-nowhere for domain nowhere$/,
    });
    k8s.failNext(1, 403);
    await assert.rejects(rt.start(spec(), recorder()), {
      code: 'runtime.kubernetes_rejected',
      message:
        /answered 403 .*: bind the deployer's role \(deploy\/kubernetes\/deployer-runtime-rbac\.yaml\) in namespace latchkey-analytics$/,
    });
    assert.deepEqual(rt.running(), []);
  });

  test('a domain whose namespace a real API server would refuse (created under the looser rule) is refused before any call', async () => {
    const rt = runtime();
    const s = spec({ domain: 'old-team-' });
    const err = await startFailure(rt, s);
    assert.equal(err.code, 'runtime.invalid_namespace');
    assert.match(
      err.message,
      /^domain old-team- cannot run workloads on the kubernetes runtime: its namespace latchkey-old-team- is not a DNS label .*at most 54 characters/,
    );
    assert.ok(!err.message.includes(s.secrets[0]!), 'no value in the error');
    assert.deepEqual(k8s.pods('latchkey-old-team-'), []);
    assert.deepEqual(rt.running(), []);
  });

  test('a stopped running Pod stays Terminating for its grace period; stop waits it out, and a redeploy starts meanwhile', async () => {
    const rt = runtime({ terminationGraceSeconds: 1 });
    const first = spec({ workload: 'graceful' });
    const hooks = recorder();
    await rt.start(first, hooks);
    const old = podOf(first)!;
    assert.equal(
      (old as unknown as { spec: { terminationGracePeriodSeconds: number } }).spec.terminationGracePeriodSeconds,
      1,
    );
    k8s.setPodPhase('latchkey-analytics', old.metadata.name, 'Running');
    const started = Date.now();
    const stopping = rt.stop(first.deploymentId, 'replaced');
    await waitFor(() => podOf(first)?.metadata.deletionTimestamp, { what: 'the old Pod Terminating' });
    // The redeploy's Pod is another Pod: it is created while the old one terminates.
    const second = spec({ workload: 'graceful' });
    await rt.start(second, recorder());
    assert.ok(podOf(second), 'the new Pod exists');
    assert.ok(podOf(first), 'beside the Terminating one');
    assert.deepEqual(hooks.exits, [], 'not stopped before its Pod is gone');
    assert.equal(await stopping, true);
    assert.ok(Date.now() - started >= 900, 'stop waited out the grace period');
    assert.deepEqual(hooks.exits, [{ code: null, signal: 'SIGKILL', reason: 'replaced' }]);
    assert.equal(podOf(first), undefined);
    await waitFor(
      () => !k8s.secrets('latchkey-analytics').some((x) => x.metadata.name === `${old.metadata.name}-values`),
      {
        what: 'the old values Secret collected',
      },
    );
    assert.ok(
      k8s.secrets('latchkey-analytics').some((x) => x.metadata.name === `${podOf(second)!.metadata.name}-values`),
      "the new Pod's Secret stays",
    );
    await rt.stop(second.deploymentId, 'test over');
  });

  test('values over the 1 MiB a Secret may hold are refused before any Pod is created, naming the limit', async () => {
    const rt = runtime();
    const big = `big-${'x'.repeat(1_048_576)}`;
    const s = spec({ env: { BLOB: big }, sparkConf: {}, secrets: [big] });
    const err = await startFailure(rt, s);
    assert.equal(err.code, 'runtime.values_too_large');
    assert.match(err.message, /over the 1048576 bytes a Kubernetes Secret may hold/);
    assert.ok(!err.message.includes(big.slice(0, 16)));
    assert.equal(podOf(s), undefined);
    assert.deepEqual(rt.running(), []);
  });

  test('when the Secret cannot be created, the Pod is removed again', async () => {
    const rt = runtime();
    const s = spec({ workload: 'clash' });
    // A Secret of the same name already exists: the create answers 409.
    await k8s
      .kubeConfig()
      .makeApiClient(CoreV1Api)
      .createNamespacedSecret({
        namespace: 'latchkey-analytics',
        body: { metadata: { name: `lk-clash-${s.deploymentId.slice(0, 8)}-values` }, data: {} },
      });
    const err = await startFailure(rt, s);
    assert.equal(err.code, 'runtime.kubernetes_rejected');
    assert.match(err.message, /answered 409 while creating Secret/);
    assert.equal(podOf(s), undefined, 'no Pod without its values');
    assert.deepEqual(rt.running(), []);
  });
});

const skipK3s = await k3sSkipReason();

describe('kubernetes runtime against k3s', { skip: skipK3s ?? false }, () => {
  let k3s: TestK3s;
  before(async () => {
    k3s = await startTestK3s();
    await k3s
      .kubeConfig()
      .makeApiClient(CoreV1Api)
      .createNamespace({ body: { metadata: { name: 'latchkey-analytics' } } });
  });
  after(async () => {
    await k3s?.stop();
  });

  test('a real Pod sees its values through secretKeyRef and the mounted properties file, and exits 0', async () => {
    const rt = new KubernetesRuntime({ kubeConfig: k3s.kubeConfig(), defaultImage: 'busybox:1.36', logger });
    const s = spec({
      command: [
        'sh',
        '-c',
        'test "$DB_PASSWORD" = "$EXPECTED" || exit 3; grep -q "^spark.hadoop.fs.s3a.secret.key=" /var/run/latchkey/spark.properties || exit 4; echo "the password is $DB_PASSWORD"',
      ],
    });
    // The expected value reaches the Pod only through the Secret: the test compares inside the container.
    s.env.EXPECTED = s.env.DB_PASSWORD!;
    const hooks = recorder();
    await rt.start(s, hooks);
    await waitFor(() => hooks.exits.length === 1, { what: 'the Pod to finish', timeoutMs: 180_000 });
    assert.deepEqual(hooks.exits, [{ code: 0, signal: null }]);
    assert.ok(hooks.lines.includes('stdout: the password is [REDACTED]'), hooks.lines.join('\n'));
  });

  test('stopping deletes the Pod, and the cluster collects its values Secret', async () => {
    const rt = new KubernetesRuntime({ kubeConfig: k3s.kubeConfig(), defaultImage: 'busybox:1.36', logger });
    const s = spec({ command: ['sleep', '3600'] });
    await rt.start(s, recorder());
    const core = k3s.kubeConfig().makeApiClient(CoreV1Api);
    const label = `latchkey.dev/deployment=${s.deploymentId}`;
    const secrets = async () =>
      (await core.listNamespacedSecret({ namespace: 'latchkey-analytics', labelSelector: label })).items.length;
    assert.equal(await secrets(), 1);
    assert.equal(await rt.stop(s.deploymentId, 'test over'), true);
    await waitFor(async () => (await secrets()) === 0, { what: 'the Secret to be collected', timeoutMs: 120_000 });
  });
});
