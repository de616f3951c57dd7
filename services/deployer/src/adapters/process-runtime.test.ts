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
import { ensureBubblewrapBinary } from '@latchkey/embedded';
import { ProcessRuntime, propertiesLine, runsDeployment } from './process-runtime.js';
import { prepareIsolation, type SandboxIdentities } from './process-sandbox.js';

const isRoot = process.getuid?.() === 0;
const FIRST_UID = 1_700_000_000;

/** Each domain its own uid, as the deployer's table would give them. */
function fakeIdentities(): SandboxIdentities {
  const uids = new Map<string, number>();
  return {
    identityFor: (domain) => {
      const uid = uids.get(domain) ?? FIRST_UID + uids.size;
      uids.set(domain, uid);
      return Promise.resolve({ uid, gid: uid });
    },
  };
}

/** The runtime as the deployer builds it by default: sandboxed (as root: per-domain uids). */
async function sandboxed(workDir: string, redactor?: Redactor): Promise<ProcessRuntime> {
  const isolation = await prepareIsolation({
    mode: 'sandbox',
    bwrap: await ensureBubblewrapBinary({ allowInstall: false }),
    workDir,
    probeIds: { uid: FIRST_UID, gid: FIRST_UID },
  });
  assert.equal(isolation.kind, 'sandbox', isolation.kind === 'unavailable' ? isolation.reason : '');
  return new ProcessRuntime({
    workDir,
    logger: silentLogger,
    isolation,
    identities: fakeIdentities(),
    ...(redactor ? { redactor } : {}),
  });
}

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

test('after a restart, reclaim terminates the process an earlier run left for a deployment, and no other process', async (t) => {
  const workDir = await mkdtemp(join(tmpdir(), 'lk-process-runtime-'));
  t.after(() => rm(workDir, { recursive: true, force: true }));
  const deploymentId = randomUUID();
  // The earlier run of the deployer started it...
  const earlier = await sandboxed(workDir);
  const exits: (string | null)[] = [];
  const { pid } = await earlier.start(
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
