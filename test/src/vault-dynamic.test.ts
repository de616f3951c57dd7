import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startVaultEmulator, waitFor, type EmulatedLease } from '@latchkey/testing';
import { assertNowhere, findLeak } from './canary-scan.js';
import { ok as okAnswer, systemGatewayApi, type Answer } from './gateway-client.js';
import { recordedCli } from './recorded-cli.js';
import { startSystem } from './system-harness.js';
import { applyWorkload, sha, waitForLogs, workloadScript } from './workload-files.js';

// Prints the hash of each injected credential (and tries to print the password), then stays up.
const JOB = workloadScript(
  "console.log('user', h(process.env.DB_USER));",
  "console.log('pass', h(process.env.DB_PASSWORD));",
  "console.log('again', h(process.env.DB_PASSWORD_AGAIN));",
  "console.log('echo', process.env.DB_PASSWORD);",
  'setInterval(()=>{},1000);',
);

test('a Vault dynamic-secrets path gives each deployment its own lease: renewed while it runs, revoked once replaced or stopped; the password appears nowhere', async (t) => {
  const vault = await startVaultEmulator();
  t.after(() => vault.stop());
  // Short leases and a fast keeper, so that renewals and revocations happen within the test.
  vault.addDatabaseRole('database', 'etl', { defaultTtlSeconds: 6, maxTtlSeconds: 3600 });
  const sys = await startSystem({
    env: { LATCHKEY_VAULT_LEASE_INTERVAL_S: '0.5', LATCHKEY_VAULT_ALLOWED_HOSTS: '127.0.0.1' },
  });
  t.after(() => sys.cleanup());
  const { outputs, ok, okPoll } = recordedCli(sys);
  const token = await vault.addToken(['database/creds/etl', 'sys/leases/']);

  await ok(['domain', 'create', 'analytics']);
  await ok(['bundle', 'create', 'db-creds', '--domain', 'analytics']);
  const created = JSON.parse(
    (
      await ok(
        [
          'vault',
          'create',
          '--domain',
          'analytics',
          '--name',
          'etl-db',
          '--host',
          vault.url,
          '--path',
          '/v1/database/creds/etl',
          '--auth',
          'token',
          '--bundle',
          'db-creds',
          '--json',
        ],
        token,
      )
    ).stdout,
  ) as { id: string };
  const tested = JSON.parse((await ok(['vault', 'test', 'etl-db', '--domain', 'analytics', '--json'])).stdout) as {
    outcome: string;
    keys: number;
  };
  assert.deepEqual([tested.outcome, tested.keys], ['ok', 2]);
  assert.deepEqual(vault.leases(), [], 'testing the integration issues no credentials');

  const ref = (key: string) => ({ key, source: { type: 'VAULT', id: created.id } });
  await applyWorkload(ok, sys.home, 'analytics', {
    name: 'etl',
    kind: 'COMPUTE',
    envVars: { DB_USER: ref('username'), DB_PASSWORD: ref('password'), DB_PASSWORD_AGAIN: ref('password') },
    run: { command: [process.execPath, '-e', JOB] },
  });
  const deploy = async () =>
    JSON.parse((await ok(['deploy', 'etl', '--domain', 'analytics', '--wait', '--json'])).stdout) as {
      id: string;
      status: string;
    };
  const leaseOf = (id: string | undefined): EmulatedLease | undefined => vault.leases().find((l) => l.leaseId === id);

  const first = await deploy();
  assert.equal(first.status, 'deployed');
  const issued = vault.leases();
  assert.equal(issued.length, 1, 'one lease for the deployment, whatever the number of references');
  const lease1 = issued[0] as EmulatedLease;
  const out = await waitForLogs(okPoll, 'etl', 'analytics', 'echo', { what: 'the workload output' });
  assert.ok(out.includes(`user ${sha(lease1.username)}`), out);
  assert.ok(out.includes(`pass ${sha(lease1.password)}`), out);
  assert.ok(out.includes(`again ${sha(lease1.password)}`), 'both references got the same lease’s password');
  assert.ok(out.includes('echo [REDACTED]'), out);

  // Renewed while it runs: a 6 s lease is renewed at half its duration, again and again.
  await waitFor(async () => ((leaseOf(lease1.leaseId)?.renewals ?? 0) >= 2 ? true : undefined), {
    what: 'the keeper to renew the running deployment’s lease twice',
    timeoutMs: 30_000,
  });
  assert.equal(leaseOf(lease1.leaseId)?.state, 'active');

  // A new deployment gets a lease of its own; the one it replaces is revoked.
  const second = await deploy();
  assert.notEqual(second.id, first.id);
  const lease2 = vault.leases().find((l) => l.leaseId !== lease1.leaseId);
  assert.ok(lease2, 'the second deployment got a lease');
  assert.notEqual(lease2.password, lease1.password);
  await waitFor(async () => (leaseOf(lease1.leaseId)?.state === 'revoked' ? true : undefined), {
    what: 'the replaced deployment’s lease to be revoked',
    timeoutMs: 30_000,
  });
  assert.equal(leaseOf(lease2.leaseId)?.state, 'active');

  // Stopping the workload ends its deployment: its lease is revoked too.
  await ok(['stop', 'etl', '--domain', 'analytics']);
  await waitFor(async () => (leaseOf(lease2.leaseId)?.state === 'revoked' ? true : undefined), {
    what: 'the stopped deployment’s lease to be revoked',
    timeoutMs: 30_000,
  });
  assert.equal(vault.leases().length, 2, 'no other credentials were issued');

  // The same through the HTTP API: an integration on the creds path is created and tested (issuing nothing), and a
  // deployment started there gets a lease of its own, revoked when the workload is stopped there.
  const answers: Answer[] = [];
  const tokens = { alice: '' };
  await ok(['domain', 'grant', 'analytics', '--user', 'alice', '--role', 'owner']);
  const api = await systemGatewayApi(sys, answers, tokens);
  const viaApi = okAnswer(
    await api('POST', '/api/v1/domains/analytics/vault-integrations', tokens.alice, {
      name: 'etl-db-api',
      bundle: 'db-creds',
      host: vault.url,
      path: '/v1/database/creds/etl',
      authMethod: 'token',
      credential: token,
    }),
    201,
  );
  const apiTest = okAnswer(
    await api('POST', `/api/v1/domains/analytics/vault-integrations/${String(viaApi['id'])}/test`, tokens.alice),
  );
  assert.deepEqual([apiTest['outcome'], apiTest['keys']], ['ok', 2]);
  assert.equal(vault.leases().length, 2, 'creating and testing over HTTP issued no credentials');
  const started = okAnswer(await api('POST', '/api/v1/domains/analytics/workloads/etl/deploy', tokens.alice), 202);
  const apiDeployment = await waitFor(
    async () => {
      const d = okAnswer(
        await api('GET', `/api/v1/domains/analytics/deployments/${String(started['id'])}`, tokens.alice),
      );
      return d['status'] === 'deployed' ? d : undefined;
    },
    { what: 'the deployment started over HTTP to run', timeoutMs: 60_000 },
  );
  assert.equal(apiDeployment['id'], started['id']);
  const lease3 = vault.leases().find((l) => l.leaseId !== lease1.leaseId && l.leaseId !== lease2.leaseId);
  assert.ok(lease3, 'the deployment started over HTTP got a lease of its own');
  assert.equal(lease3.state, 'active');
  okAnswer(await api('POST', '/api/v1/domains/analytics/workloads/etl/stop', tokens.alice));
  await waitFor(async () => (leaseOf(lease3.leaseId)?.state === 'revoked' ? true : undefined), {
    what: 'the lease of the deployment stopped over HTTP to be revoked',
    timeoutMs: 30_000,
  });

  const planted = [token, lease1.password, lease2.password, lease3.password];
  assert.ok(answers.length >= 6, 'the HTTP answers were kept');
  for (const c of planted) {
    for (const a of answers) assert.equal(findLeak(a.text, c), undefined, `an HTTP answer holds ${c}: ${a.text}`);
  }
  await assertNowhere(sys, planted, outputs);
});
