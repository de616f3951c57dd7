import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LatchkeyError } from '@latchkey/errors';
import { Redactor, silentLogger } from '@latchkey/logger';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { waitFor } from '@latchkey/testing';
import type { DeploymentRecord } from '../domain/deployment-types.js';
import { processesOfDeployment } from './deployment-processes.js';
import { ProcessRuntime, propertiesLine, runsDeployment } from './process-runtime.js';
import { prepareIsolation } from './process-sandbox.js';
import { FIRST_SANDBOX_UID as FIRST_UID, fakeIdentities, sandboxedRuntime } from '../../test/sandboxed-runtime.js';

const isRoot = process.getuid?.() === 0;

const sandboxed = (workDir: string, redactor?: Redactor): Promise<ProcessRuntime> =>
  sandboxedRuntime(workDir, redactor ? { redactor } : {});

test('a Spark conf value survives properties-file escaping whatever it holds', () => {
  assert.equal(propertiesLine('spark.a', 'p=w:d#x!\\y'), 'spark.a=p\\=w\\:d\\#x\\!\\\\y');
  assert.equal(propertiesLine('k', 'line1\nline2\t'), 'k=line1\\nline2\\t');
  assert.equal(propertiesLine('k', ' lead  double'), 'k=\\ lead\\  double');
});

test('a command that cannot start leaves none of its values held by the service redactor', async () => {
  const redactor = new Redactor();
  const workDir = await mkdtemp(join(tmpdir(), 'lk-process-runtime-'));
  try {
    const runtime = await sandboxed(workDir, redactor);
    await assert.rejects(
      runtime.start(
        {
          deploymentId: '00000000-0000-4000-8000-000000000001',
          workloadId: '00000000-0000-4000-8000-000000000002',
          workload: 'etl',
          domain: 'analytics',
          command: ['latchkey-no-such-command'],
          env: { DB_PASSWORD: 'held-value-1234' },
          sparkConf: {},
          secrets: ['held-value-1234'],
        },
        { onLine: () => undefined, onExit: () => undefined },
      ),
      (err: unknown) => err instanceof LatchkeyError && err.code === 'runtime.spawn_failed',
    );
    assert.equal(redactor.size, 0);
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** A 60 s `sleep` deployment started by `runtime`, with the signals it exited by. */
async function startSleeper(runtime: ProcessRuntime, deploymentId: string) {
  const exits: (string | null)[] = [];
  const { pid } = await runtime.start(
    {
      deploymentId,
      workloadId: randomUUID(),
      workload: 'etl',
      domain: 'analytics',
      command: ['sleep', '60'],
      env: {},
      sparkConf: {},
      secrets: [],
    },
    { onLine: () => undefined, onExit: (_code, signal) => exits.push(signal) },
  );
  return { pid, exits };
}

test('after a restart, reclaim terminates the process an earlier run left for a deployment, and no other process', async (t) => {
  const workDir = await mkdtemp(join(tmpdir(), 'lk-process-runtime-'));
  t.after(() => rm(workDir, { recursive: true, force: true }));
  const deploymentId = randomUUID();
  // The earlier run of the deployer started it...
  const earlier = await sandboxed(workDir);
  const { pid, exits } = await startSleeper(earlier, deploymentId);
  assert.equal(await runsDeployment(pid, deploymentId), true);
  // ...and an unrelated process holds a pid the records could name by mistake.
  const other = spawn('sleep', ['60'], { env: { ...process.env, LATCHKEY_DEPLOYMENT_ID: randomUUID() } });
  t.after(() => other.kill('SIGKILL'));
  await new Promise((resolve) => other.once('spawn', resolve));
  const record = (id: string, p: number) => ({ id, pid: p }) as DeploymentRecord;

  const restarted = await sandboxed(workDir);
  await restarted.reclaim(record(deploymentId, other.pid!));
  assert.equal(alive(other.pid!), true, 'a process of another deployment is left alone');
  await restarted.reclaim(record(deploymentId, pid));
  await waitFor(() => exits.length === 1, { what: 'the leftover process to end' });
  assert.deepEqual(exits, ['SIGTERM']);
  assert.equal(await runsDeployment(pid, deploymentId), false);
  await restarted.reclaim(record(deploymentId, pid)); // gone: nothing to do, no error
});

test('reclaim finds a leftover whose pid was never recorded by the deployment id in its environment', async (t) => {
  const workDir = await mkdtemp(join(tmpdir(), 'lk-process-runtime-'));
  t.after(() => rm(workDir, { recursive: true, force: true }));
  const deploymentId = randomUUID();
  // The earlier run started it and died before writing its pid down (the record has none).
  const earlier = await sandboxed(workDir);
  const { pid, exits } = await startSleeper(earlier, deploymentId);
  const other = spawn('sleep', ['60'], { env: { ...process.env, LATCHKEY_DEPLOYMENT_ID: randomUUID() } });
  t.after(() => other.kill('SIGKILL'));
  await new Promise((resolve) => other.once('spawn', resolve));
  // The sandbox's own processes carry the id too; only its outermost process (bubblewrap) is named.
  assert.deepEqual(await processesOfDeployment(deploymentId), [pid]);

  const restarted = await sandboxed(workDir);
  await restarted.reclaim({ id: deploymentId, pid: null } as DeploymentRecord);
  await waitFor(() => exits.length === 1, { what: 'the unrecorded leftover process to end' });
  assert.deepEqual(exits, ['SIGTERM']);
  assert.equal(alive(other.pid!), true, 'a process of another deployment is left alone');
  assert.deepEqual(await processesOfDeployment(deploymentId), []);
});

test('without a usable sandbox every start is refused, naming what to install and the way out', async (t) => {
  const workDir = await mkdtemp(join(tmpdir(), 'lk-process-runtime-'));
  t.after(() => rm(workDir, { recursive: true, force: true }));
  const isolation = await prepareIsolation({
    mode: 'sandbox',
    bwrap: undefined,
    workDir,
    probeIds: { uid: FIRST_UID, gid: FIRST_UID },
  });
  const runtime = new ProcessRuntime({ workDir, logger: silentLogger, isolation, identities: fakeIdentities() });
  await assert.rejects(
    runtime.start(
      {
        deploymentId: randomUUID(),
        workloadId: randomUUID(),
        workload: 'etl',
        domain: 'analytics',
        command: ['true'],
        env: {},
        sparkConf: {},
        secrets: [],
      },
      { onLine: () => undefined, onExit: () => undefined },
    ),
    (err: unknown) =>
      err instanceof LatchkeyError &&
      err.code === 'runtime.isolation_unavailable' &&
      /apt-get install bubblewrap/.test(err.message) &&
      /LATCHKEY_PROCESS_ISOLATION=none/.test(err.message),
  );
  assert.deepEqual(runtime.running(), []);
});

test('LATCHKEY_PROCESS_ISOLATION=none: every deployment carries the warning that it runs without isolation', async () => {
  const isolation = await prepareIsolation({
    mode: 'none',
    bwrap: undefined,
    workDir: tmpdir(),
    probeIds: { uid: FIRST_UID, gid: FIRST_UID },
  });
  const runtime = new ProcessRuntime({ workDir: tmpdir(), logger: silentLogger, isolation });
  assert.equal(runtime.warnings.length, 1);
  assert.match(runtime.warnings[0] ?? '', /WITHOUT isolation \(LATCHKEY_PROCESS_ISOLATION=none\)/);
  assert.deepEqual((await sandboxed(await mkdtemp(join(tmpdir(), 'lk-process-runtime-')))).warnings, []);
});

test(
  "as root a workload runs as its domain's own uid, which alone owns its work folder and properties file, and a stop reaches it with SIGTERM",
  { skip: isRoot ? false : 'per-domain uids need root' },
  async (t) => {
    const workDir = await mkdtemp(join(tmpdir(), 'lk-process-runtime-'));
    t.after(() => rm(workDir, { recursive: true, force: true }));
    const runtime = await sandboxed(workDir);
    const lines: string[] = [];
    const exits: (number | null)[] = [];
    const run = (domain: string, script: string) =>
      runtime.start(
        {
          deploymentId: randomUUID(),
          workloadId: randomUUID(),
          workload: 'etl',
          domain,
          command: ['sh', '-c', script],
          env: {},
          sparkConf: { 'spark.app.name': 'etl' },
          secrets: [],
        },
        { onLine: (_s, line) => lines.push(`${domain} ${line}`), onExit: (code) => exits.push(code) },
      );
    await run('finance', 'id -u');
    await run(
      'analytics',
      'trap "echo got-term; exit 7" TERM; echo "ids $(id -u) $(id -G)"; stat -c "mode %n %u %a" /work "$LATCHKEY_SPARK_PROPERTIES_FILE"; echo ready; while :; do sleep 0.1; done',
    );
    await waitFor(() => lines.includes('analytics ready') && exits.length === 1, { what: 'both workloads to report' });
    const [analytics] = runtime.running();
    const financeUid = lines.find((l) => l.startsWith('finance '))?.split(' ')[1];
    const analyticsIds = lines
      .find((l) => l.startsWith('analytics ids'))
      ?.split(' ')
      .slice(2);
    assert.ok(analyticsIds && financeUid, lines.join('\n'));
    assert.notEqual(analyticsIds[0], financeUid, 'each domain its own uid');
    assert.ok(Number(analyticsIds[0]) >= FIRST_UID && Number(financeUid) >= FIRST_UID);
    assert.deepEqual(
      analyticsIds.slice(1),
      [analyticsIds[0]],
      'its own group only, no supplementary group of the deployer',
    );
    assert.ok(lines.includes(`analytics mode /work ${analyticsIds[0]} 700`), lines.join('\n'));
    assert.ok(lines.includes(`analytics mode /work/spark.properties ${analyticsIds[0]} 600`), lines.join('\n'));
    assert.equal(await runtime.stop(analytics!.deploymentId, 'test'), true);
    await waitFor(() => exits.length === 2, { what: 'the stopped workload to end' });
    assert.ok(lines.includes('analytics got-term'), 'the workload itself got SIGTERM and could end cleanly');
    assert.deepEqual(exits, [0, 7]);
  },
);

test("a sandboxed workload finds the gateway's CA at LATCHKEY_CA_FILE in its work folder, and its workload token is masked in its output", async (t) => {
  const workDir = await mkdtemp(join(tmpdir(), 'lk-process-runtime-'));
  t.after(() => rm(workDir, { recursive: true, force: true }));
  const runtime = await sandboxed(workDir);
  const token = `lkw_${randomUUID().replaceAll('-', '')}token`;
  const ca = '-----BEGIN CERTIFICATE-----\nMIIBfakeCA\n-----END CERTIFICATE-----\n';
  const lines: string[] = [];
  let exited = false;
  await runtime.start(
    {
      deploymentId: randomUUID(),
      workloadId: randomUUID(),
      workload: 'etl',
      domain: 'analytics',
      command: [
        'sh',
        '-c',
        'echo "got $LATCHKEY_WORKLOAD_TOKEN"; echo "ca at $LATCHKEY_CA_FILE"; cat "$LATCHKEY_CA_FILE"',
      ],
      env: { LATCHKEY_WORKLOAD_TOKEN: token },
      sparkConf: {},
      secrets: [token],
      apiCaPem: ca,
    },
    { onLine: (_s, line) => lines.push(line), onExit: () => (exited = true) },
  );
  await waitFor(() => exited, { what: 'the workload to end' });
  assert.ok(!lines.join('\n').includes(token), lines.join('\n'));
  assert.ok(lines.includes('got [REDACTED]'), lines.join('\n'));
  assert.ok(lines.includes('ca at /work/latchkey-ca.pem'), lines.join('\n'));
  assert.ok(lines.includes('MIIBfakeCA'), lines.join('\n'));
});
