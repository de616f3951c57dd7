// The skeleton's end-to-end flow on the kubernetes runtime: the deployer
// (LATCHKEY_RUNTIME=kubernetes) talks to the Kubernetes API emulator through
// a kubeconfig file, as it would to a cluster.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startKubernetesEmulator, tempDir, waitFor, type KubernetesObject } from '@latchkey/testing';
import { assertNowhere } from './canary-scan.js';
import { recordedCli } from './recorded-cli.js';
import { startSystem } from './system-harness.js';
import { applyWorkload, nightlyEtl } from './workload-files.js';

const NS = 'latchkey-analytics';

interface PodView {
  metadata: KubernetesObject['metadata'];
  spec: {
    containers: {
      image: string;
      command: string[];
      resources?: unknown;
      env: { name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }[];
    }[];
  };
}

test('on the kubernetes runtime a deployment is a Pod fed by a Secret it owns; rotation marks without restarting; a redeploy replaces the Pod and its Secret', async (t) => {
  // The domain's namespace exists beforehand: a platform admin creates it (the deployer never does).
  const k8s = await startKubernetesEmulator({ namespaces: [NS] });
  const kubeDir = await tempDir('lk-kube-');
  const kubeconfig = join(kubeDir.path, 'config');
  await writeFile(kubeconfig, k8s.kubeConfig().exportConfig(), { mode: 0o600 });
  const sys = await startSystem({
    env: {
      LATCHKEY_RUNTIME: 'kubernetes',
      LATCHKEY_KUBECONFIG: kubeconfig,
      LATCHKEY_K8S_DEFAULT_IMAGE: 'python:3.12-slim',
    },
  });
  t.after(async () => {
    await sys.cleanup();
    await k8s.stop();
    await kubeDir.cleanup();
  });
  const { outputs, ok, okPoll } = recordedCli(sys);
  const pods = () => k8s.pods(NS) as unknown as PodView[];
  const workloadView = async () =>
    JSON.parse((await ok(['workload', 'get', 'nightly-etl', '--domain', 'analytics', '--json'])).stdout) as {
      stale: boolean;
      staleReasons: { key: string; deployedVersion: number; currentVersion: number }[];
      lastDeployment: { id: string; status: string };
    };

  const canary = `canary-${randomBytes(12).toString('hex')}`;
  await ok(['domain', 'create', 'analytics']);
  await ok(['secret', 'put', 'db_password', '--domain', 'analytics'], canary);
  const run = {
    command: ['spark-submit', 'etl.py'],
    image: 'apache/spark:3.5.1',
    resources: { requests: { cpu: '500m' }, limits: { memory: '2Gi' } },
  };
  await applyWorkload(ok, sys.home, 'analytics', nightlyEtl(run, { MODE: 'nightly' }));
  const first = JSON.parse(
    (await ok(['deploy', 'nightly-etl', '--domain', 'analytics', '--wait', '--json'])).stdout,
  ) as {
    id: string;
    status: string;
  };
  assert.equal(first.status, 'deployed');

  // One Pod in the domain's namespace, from the workload's run section; values only in its Secret.
  assert.equal(pods().length, 1);
  const pod = pods()[0]!;
  assert.equal(pod.metadata.labels?.['latchkey.dev/deployment'], first.id);
  const container = pod.spec.containers[0]!;
  assert.equal(container.image, 'apache/spark:3.5.1');
  assert.deepEqual(container.command, ['spark-submit', 'etl.py']);
  assert.deepEqual(container.resources, { requests: { cpu: '500m' }, limits: { memory: '2Gi' } });
  assert.ok(!JSON.stringify(pod).includes(canary), 'no value in the Pod');
  const env = new Map(container.env.map((e) => [e.name, e]));
  assert.equal(env.get('MODE')?.value, 'nightly');
  const ref = env.get('DB_PASSWORD')?.valueFrom?.secretKeyRef;
  assert.ok(ref, 'DB_PASSWORD comes from a Secret');
  const secret = k8s.secrets(NS).find((s) => s.metadata.name === ref.name);
  assert.ok(secret, 'the values Secret exists');
  assert.deepEqual(
    secret.metadata.ownerReferences?.map((o) => [o.kind, o.uid]),
    [['Pod', pod.metadata.uid]],
  );
  const data = (secret as unknown as { data: Record<string, string> }).data;
  const decoded = (k: string) => Buffer.from(data[k] ?? '', 'base64').toString('utf8');
  assert.equal(decoded('DB_PASSWORD'), canary);
  assert.equal(decoded('JDBC_URL'), `jdbc:postgresql://db/x?password=${canary}`);
  assert.ok(decoded('spark.properties').includes('spark.redaction.regex='), 'Spark redaction travels with the conf');

  // Rotation marks the workload stale; the Pod is left running.
  const canary2 = `canary-${randomBytes(12).toString('hex')}`;
  await ok(['secret', 'put', 'db_password', '--domain', 'analytics'], canary2);
  const stale = await waitFor(async () => ((await workloadView()).stale ? workloadView() : undefined), {
    what: 'the workload to be marked stale',
  });
  assert.deepEqual(
    stale.staleReasons.map((r) => [r.key, r.deployedVersion, r.currentVersion]),
    [['db_password', 1, 2]],
  );
  assert.equal(stale.lastDeployment.status, 'deployed');
  assert.deepEqual(
    pods().map((p) => p.metadata.uid),
    [pod.metadata.uid],
    'the running Pod was not restarted',
  );

  // A redeploy: a new Pod with the new value; the old Pod and its Secret are gone.
  const second = JSON.parse(
    (await ok(['deploy', 'nightly-etl', '--domain', 'analytics', '--wait', '--json'])).stdout,
  ) as { id: string; status: string };
  assert.equal(second.status, 'deployed');
  await waitFor(() => pods().length === 1 && pods()[0]!.metadata.uid !== pod.metadata.uid, {
    what: 'the old Pod to be replaced by the new one',
  });
  await waitFor(() => !k8s.secrets(NS).some((s) => s.metadata.name === ref.name), {
    what: "the old Pod's Secret to be collected with it",
  });
  const newSecret = k8s.secrets(NS)[0] as unknown as { data: Record<string, string> };
  assert.equal(Buffer.from(newSecret.data['DB_PASSWORD'] ?? '', 'base64').toString('utf8'), canary2);
  assert.equal((await workloadView()).stale, false);

  // The Pod's output is the deployment's log, redacted; its phase is the deployment's status.
  const running = pods()[0]!.metadata.name;
  k8s.setPodPhase(NS, running, 'Running');
  k8s.appendPodLog(NS, running, `connecting with ${canary2}\n`);
  k8s.setPodPhase(NS, running, 'Failed');
  const ended = await waitFor(
    async () => {
      const d = (await workloadView()).lastDeployment;
      return d.id === second.id && d.status !== 'deployed' ? d : undefined;
    },
    { what: 'the failed Pod to end its deployment' },
  );
  assert.equal(ended.status, 'exited');
  const podLog = await waitFor(
    async () => {
      const out = (await okPoll(['logs', 'nightly-etl', '--domain', 'analytics', '--deployment', second.id])).stdout;
      return out.includes('connecting with') ? out : undefined;
    },
    { what: "the Pod's output in latchkey logs" },
  );
  assert.match(podLog, /connecting with \[REDACTED\]/);

  // latchkey stop: the running Pod is deleted, its Secret collected, the deployment stopped.
  const third = JSON.parse(
    (await ok(['deploy', 'nightly-etl', '--domain', 'analytics', '--wait', '--json'])).stdout,
  ) as {
    id: string;
  };
  await waitFor(() => pods().some((p) => p.metadata.labels?.['latchkey.dev/deployment'] === third.id), {
    what: 'the third Pod',
  });
  const stopped = await ok(['stop', 'nightly-etl', '--domain', 'analytics']);
  assert.match(stopped.stdout, /stopped/);
  assert.deepEqual(pods(), [], 'no Pod left');
  await waitFor(() => k8s.secrets(NS).length === 0, { what: 'the values Secret to go with its Pod' });
  const afterStop = await workloadView();
  assert.equal(afterStop.lastDeployment.id, third.id);
  assert.equal(afterStop.lastDeployment.status, 'stopped');

  // Values are nowhere but in the cluster's Secrets: not in logs, rows, the bus or CLI output.
  await assertNowhere(sys, [canary, canary2], outputs);
});
