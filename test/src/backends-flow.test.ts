import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startKubernetesEmulator, startVaultEmulator, tempDir, waitFor } from '@latchkey/testing';
import { assertNowhere } from './canary-scan.js';
import { recordedCli } from './recorded-cli.js';
import { startSystem } from './system-harness.js';
import { applyWorkload, computeWorkload, managedRef, sha, workloadScript } from './workload-files.js';

const JOB = workloadScript("console.log('got', h(process.env.PASSWORD));", 'setInterval(()=>{},1000);');

interface Backend {
  name: 'kubernetes' | 'vault';
  /** Starts the backend's server; returns the catalog's env, the credential to look for, and where the value lives. */
  start(
    t: TestContext,
    dir: string,
  ): Promise<{ env: Record<string, string>; credential: string; holds: (value: string) => boolean }>;
}

const backends: Backend[] = [
  {
    name: 'kubernetes',
    async start(t, dir) {
      const k8s = await startKubernetesEmulator({ namespaces: ['latchkey'] });
      t.after(() => k8s.stop());
      const kubeconfig = join(dir, 'kubeconfig.json');
      await writeFile(kubeconfig, k8s.kubeConfig().exportConfig(), { mode: 0o600 });
      return {
        env: {
          LATCHKEY_SECRET_STORE: 'kubernetes',
          LATCHKEY_KUBECONFIG: kubeconfig,
          LATCHKEY_K8S_NAMESPACE: 'latchkey',
        },
        credential: k8s.token,
        holds: (value) =>
          k8s
            .secrets('latchkey')
            .some((s) =>
              Object.values((s as { data?: Record<string, string> }).data ?? {}).some(
                (v) => Buffer.from(v, 'base64').toString('utf8') === value,
              ),
            ),
      };
    },
  },
  {
    name: 'vault',
    async start(t, dir) {
      const vault = await startVaultEmulator();
      t.after(() => vault.stop());
      const token = await vault.addToken(['secret/data/latchkey', 'secret/metadata/latchkey']);
      const tokenFile = join(dir, 'vault-token');
      await writeFile(tokenFile, token, { mode: 0o600 });
      return {
        env: {
          LATCHKEY_SECRET_STORE: 'vault',
          LATCHKEY_VAULT_ADDR: vault.url,
          LATCHKEY_VAULT_PATH: '/v1/secret/data/latchkey',
          LATCHKEY_VAULT_TOKEN_FILE: tokenFile,
        },
        credential: token,
        holds: () =>
          vault.requests().some((r) => r.method === 'POST' && r.path.startsWith('/v1/secret/data/latchkey/analytics/')),
      };
    },
  },
];

describe('every managed backend keeps values only where it should', () => {
  for (const backend of backends) {
    test(`${backend.name} backend: put, deploy, rotate to stale; value and backend credential appear nowhere in Latchkey`, async (t) => {
      const dir = await tempDir('latchkey-backend-');
      t.after(() => dir.cleanup());
      const { env, credential, holds } = await backend.start(t, dir.path);
      const sys = await startSystem({ env });
      t.after(() => sys.cleanup());
      const { outputs, ok, okPoll } = recordedCli(sys);
      const value = `${backend.name}-canary-${randomBytes(12).toString('hex')}`;
      const value2 = `${backend.name}-canary-${randomBytes(12).toString('hex')}`;
      await ok(['domain', 'create', 'analytics']);
      await ok(['secret', 'put', 'db_password', '--domain', 'analytics'], value);
      assert.ok(holds(value), `the value lives in ${backend.name}`);
      await applyWorkload(
        ok,
        dir.path,
        'analytics',
        computeWorkload('job', { PASSWORD: managedRef('db_password', 'analytics') }, JOB),
      );
      await ok(['deploy', 'job', '--domain', 'analytics', '--wait']);
      await waitFor(
        async () => (await okPoll(['logs', 'job', '--domain', 'analytics'])).stdout.includes(`got ${sha(value)}`),
        { what: 'the workload to print the hash of its value', timeoutMs: 20_000 },
      );
      await ok(['secret', 'put', 'db_password', '--domain', 'analytics'], value2);
      await waitFor(
        async () =>
          (
            JSON.parse((await okPoll(['workload', 'get', 'job', '--domain', 'analytics', '--json'])).stdout) as {
              stale: boolean;
            }
          ).stale,
        { what: 'the workload to be marked stale' },
      );
      await ok(['deploy', 'job', '--domain', 'analytics', '--wait']);
      await waitFor(
        async () => (await okPoll(['logs', 'job', '--domain', 'analytics'])).stdout.includes(`got ${sha(value2)}`),
        { what: 'the redeployed workload to get the new value', timeoutMs: 20_000 },
      );
      await assertNowhere(sys, [value, value2, credential], outputs);
    });
  }
});
