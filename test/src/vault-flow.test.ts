import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startVaultEmulator, waitFor } from '@latchkey/testing';
import { assertNowhere } from './canary-scan.js';
import { recordedCli } from './recorded-cli.js';
import { startSystem } from './system-harness.js';
import { applyWorkload, sha, waitForLogs, workloadScript } from './workload-files.js';

// Prints the hash of each injected variable, then stays up until stopped.
const JOB = workloadScript(
  "console.log('vault', h(process.env.VAULT_PASSWORD));",
  "console.log('managed', h(process.env.API_KEY));",
  "console.log('echo', process.env.VAULT_PASSWORD);",
  'setInterval(()=>{},1000);',
);

interface WorkloadView {
  stale: boolean;
  staleReasons: { key: string; scope: string; deployedVersion: number; currentVersion: number }[];
  lastDeployment: {
    id: string;
    status: string;
    pid: number;
    versions: { key: string; scope: string; version: number }[];
  };
}

test('a team Vault connects read-only, feeds a workload, and a Vault-side rotation marks it stale; its token and values appear nowhere', async (t) => {
  const vault = await startVaultEmulator();
  t.after(() => vault.stop());
  // The Vault emulator listens on 127.0.0.1, which integrations may use only when allowed.
  const sys = await startSystem({
    env: { LATCHKEY_VAULT_WATCH_INTERVAL_S: '0.5', LATCHKEY_VAULT_ALLOWED_HOSTS: '127.0.0.1' },
  });
  t.after(() => sys.cleanup());
  const { outputs, cli, ok, okPoll } = recordedCli(sys);
  const refused = async (args: string[], code: RegExp, input?: string) => {
    const r = await cli(args, input);
    assert.notEqual(r.code, 0, `latchkey ${args.join(' ')} should fail`);
    assert.match(r.stderr, code);
    return r;
  };

  const token = await vault.addToken(['secret/data/team', 'secret/metadata/team']);
  const vaultValue = `vault-canary-${randomBytes(12).toString('hex')}`;
  const vaultValue2 = `vault-canary-${randomBytes(12).toString('hex')}`;
  const managedValue = `managed-canary-${randomBytes(12).toString('hex')}`;
  await vault.putSecret('secret', 'team/db_password', { value: vaultValue });
  await vault.putSecret('secret', 'team/other', { value: 'other-value-1' });

  await ok(['domain', 'create', 'analytics']);
  await ok(['bundle', 'create', 'team-vault', '--domain', 'analytics']);
  await ok(['secret', 'put', 'api_key', '--domain', 'analytics'], managedValue);
  const vaultArgs = ['--host', vault.url, '--path', '/v1/secret/data/team', '--auth', 'token'];
  const created = JSON.parse(
    (
      await ok(
        [
          'vault',
          'create',
          '--domain',
          'analytics',
          '--name',
          'team',
          ...vaultArgs,
          '--bundle',
          'team-vault',
          '--json',
        ],
        token,
      )
    ).stdout,
  ) as { id: string; name: string; bundle: string };
  assert.equal(created.name, 'team');
  assert.equal(created.bundle, 'team-vault');

  const tested = await ok(['vault', 'test', 'team', '--domain', 'analytics', '--json']);
  assert.deepEqual(
    (({ outcome, keys }) => ({ outcome, keys }))(JSON.parse(tested.stdout) as { outcome: string; keys: number }),
    { outcome: 'ok', keys: 2 },
  );
  const badTest = await cli(['vault', 'test', '--domain', 'analytics', ...vaultArgs, '--json'], 'hvs.wrong-token');
  assert.match(badTest.stdout + badTest.stderr, /bad_credentials/);
  await refused(
    [
      'vault',
      'create',
      '--domain',
      'analytics',
      '--name',
      'x',
      '--host',
      vault.url,
      '--path',
      '/v1/secret/team',
      '--auth',
      'token',
      '--bundle',
      'team-vault',
    ],
    /KV v2/,
    token,
  );
  await refused(['vault', 'update', 'team', '--domain', 'analytics', '--bundle', 'other'], /create a new integration/);

  const selector = JSON.parse((await ok(['secret', 'selector', '--domain', 'analytics', '--json'])).stdout) as {
    entries: { key: string; sourceType: string; sourceId: string; integrationName?: string }[];
  };
  assert.deepEqual(
    selector.entries.map((e) => `${e.sourceType}:${e.sourceId}:${e.key}`),
    ['MANAGED:analytics:api_key', `VAULT:${created.id}:db_password`, `VAULT:${created.id}:other`],
  );

  const workload = {
    name: 'vault-job',
    kind: 'COMPUTE',
    envVars: {
      VAULT_PASSWORD: { key: 'db_password', source: { type: 'VAULT', id: created.id } },
      API_KEY: '${secrets.api_key}',
    },
    run: { command: [process.execPath, '-e', JOB] },
  };
  await applyWorkload(ok, sys.home, 'analytics', workload);
  const first = JSON.parse((await ok(['deploy', 'vault-job', '--domain', 'analytics', '--wait', '--json'])).stdout) as {
    id: string;
    status: string;
    pid: number;
  };
  assert.equal(first.status, 'deployed');
  const out = await waitForLogs(okPoll, 'vault-job', 'analytics', 'echo', { what: 'the workload output' });
  assert.ok(out.includes(`vault ${sha(vaultValue)}`), out);
  assert.ok(out.includes(`managed ${sha(managedValue)}`), out);
  assert.ok(out.includes('echo [REDACTED]'), out);

  // The reference index: deletes are refused while referenced, and the inventory counts users.
  const delVault = await refused(['vault', 'delete', 'team', '--domain', 'analytics'], /analytics\/vault-job/);
  assert.match(delVault.stderr, /--force/);
  await refused(['secret', 'delete', 'api_key', '--domain', 'analytics'], /analytics\/vault-job/);
  const inventory = JSON.parse(
    (await ok(['inventory', '--domain', 'analytics', '--used-by', 'api_key', '--json'])).stdout,
  ) as { entries: { secret: { key: string }; workloadCount: number; workloads: string[] }[] };
  assert.deepEqual(
    inventory.entries.map((e) => [e.secret.key, e.workloadCount, e.workloads]),
    [['api_key', 1, ['analytics/vault-job']]],
  );

  // Rotation in the team's Vault: the watch notices, the workload becomes stale, nothing restarts.
  await vault.putSecret('secret', 'team/db_password', { value: vaultValue2 });
  const stale = await waitFor(
    async () => {
      const w = JSON.parse(
        (await okPoll(['workload', 'get', 'vault-job', '--domain', 'analytics', '--json'])).stdout,
      ) as WorkloadView;
      return w.stale ? w : undefined;
    },
    { what: 'the Vault rotation to mark the workload stale', timeoutMs: 30_000 },
  );
  assert.deepEqual(
    stale.staleReasons.map((r) => [r.key, r.scope, r.deployedVersion, r.currentVersion]),
    [['db_password', created.id, 1, 2]],
  );
  assert.equal(stale.lastDeployment.id, first.id);
  assert.doesNotThrow(() => process.kill(first.pid, 0), 'the running process was not restarted');

  const second = JSON.parse(
    (await ok(['deploy', 'vault-job', '--domain', 'analytics', '--wait', '--json'])).stdout,
  ) as {
    id: string;
  };
  const after = JSON.parse(
    (await ok(['workload', 'get', 'vault-job', '--domain', 'analytics', '--json'])).stdout,
  ) as WorkloadView;
  assert.equal(after.lastDeployment.id, second.id);
  assert.equal(after.stale, false);
  assert.deepEqual(
    after.lastDeployment.versions.filter((v) => v.key === 'db_password').map((v) => [v.scope, v.version]),
    [[created.id, 2]],
  );

  // A Vault value under 4 bytes is injected, unmasked, and the deployment says it could not be redacted.
  await vault.putSecret('secret', 'team/pin', { value: '7Q!' });
  const pinJob = {
    name: 'pin-job',
    kind: 'COMPUTE',
    envVars: { PIN: { key: 'pin', source: { type: 'VAULT', id: created.id } } },
    run: { command: [process.execPath, '-e', "console.log('pin', process.env.PIN)"] },
  };
  await applyWorkload(ok, sys.home, 'analytics', pinJob);
  const pinDeployment = JSON.parse(
    (await ok(['deploy', 'pin-job', '--domain', 'analytics', '--wait', '--json'])).stdout,
  ) as { warnings: string[] };
  assert.ok(
    pinDeployment.warnings.some((w) =>
      /pin .*shorter than 4 bytes: it is injected, but it could not be redacted/.test(w),
    ),
    JSON.stringify(pinDeployment.warnings),
  );
  await waitForLogs(okPoll, 'pin-job', 'analytics', 'pin 7Q!', {
    what: 'the short value in the output, unmasked as the warning says',
  });

  // Read-only for real: nothing but reads and the logins ever reached the team's Vault.
  const writes = vault
    .requests()
    .filter((r) => r.method !== 'GET' && !r.path.endsWith('/login'))
    .map((r) => `${r.method} ${r.path}`);
  assert.deepEqual(writes, []);

  // Deleting with --force removes the integration and never touches Vault.
  await ok(['vault', 'delete', 'team', '--domain', 'analytics', '--force']);
  assert.deepEqual(
    JSON.parse((await ok(['vault', 'list', '--domain', 'analytics', '--json'])).stdout).integrations ?? [],
    [],
  );
  assert.equal(vault.requests().filter((r) => r.method === 'DELETE').length, 0);

  await assertNowhere(sys, [token, vaultValue, vaultValue2, managedValue], outputs);
});
