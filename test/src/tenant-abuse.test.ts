import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startVaultEmulator, waitFor, type VaultEmulator } from '@latchkey/testing';
import { openDatabase } from './canary-scan.js';
import { auditRecords, recordedCli } from './recorded-cli.js';
import { startSystem, type RunningSystem } from './system-harness.js';
import { applyWorkload, computeWorkload, writeWorkload } from './workload-files.js';

// Issue 13 §1 and §2, as a hostile member of a domain tried them on the embedded system.

interface DeploymentJson {
  id: string;
  status: string;
  principal: string;
  trigger?: string;
  reasons?: string[];
}
interface WorkloadJson {
  name: string;
  stale?: boolean;
  appliedBy?: string;
  liveDeployment?: DeploymentJson;
  lastDeployment?: DeploymentJson;
}

let vault: VaultEmulator;
let sys: RunningSystem;

before(async () => {
  vault = await startVaultEmulator();
  // A short cooldown and scan, so that redeploy policies act within the test.
  sys = await startSystem({
    env: {
      LATCHKEY_REDEPLOY_COOLDOWN_S: '1',
      LATCHKEY_REDEPLOY_SCAN_INTERVAL_S: '1',
      // The test's Vault emulator listens on loopback, which the catalog refuses unless allowed.
      LATCHKEY_VAULT_ALLOWED_HOSTS: '127.0.0.1',
    },
  });
});
after(async () => {
  await sys?.cleanup();
  await vault?.stop();
});

async function serviceLogs(): Promise<string> {
  const dir = join(sys.home, 'logs');
  const texts = await Promise.all((await readdir(dir)).map((f) => readFile(join(dir, f), 'utf8')));
  return texts.join('\n');
}

test('outbox poison: the 2,500-placeholder spec is refused on apply, and a >1 MB event forced into the outbox is set aside while another domain deploys', async () => {
  const { ok, cli } = recordedCli(sys);
  await ok(['domain', 'create', 'poisoned']);
  await ok(['domain', 'create', 'bystander']);

  // The attack: 2,500 distinct 250-character ${secrets.…} placeholders (650 KB).
  const envVars: Record<string, string> = {};
  for (let i = 0; i < 2500; i++) envVars[`V${i}`] = `\${secrets.${String(i).padStart(4, '0')}${'k'.repeat(246)}}`;
  const poisonFile = await writeWorkload(sys.home, {
    name: 'poison',
    kind: 'COMPUTE',
    envVars,
    run: { command: ['true'] },
  });
  const refused = await cli(['workload', 'apply', '-f', poisonFile, '--domain', 'poisoned']);
  assert.equal(refused.code, 1, refused.stdout);
  assert.match(refused.stderr, /at most 262144 bytes are allowed \(and at most 64 distinct secret references/);
  assert.match(refused.stderr, /workload\.too_large/);

  // A row that got past the check (an older version, a bug): 1.5 MB, over NATS's 1 MiB payload.
  const db = await openDatabase(sys.home, 'latchkey_deployer');
  const poisonId = `deploying:${randomUUID()}`;
  try {
    await db.query('INSERT INTO outbox (id, subject, type, data) VALUES ($1, $2, $3, $4::jsonb)', [
      poisonId,
      'latchkey.workload.deploying.poisoned',
      'dev.latchkey.workload.deploying.v1',
      JSON.stringify({ deploymentId: randomUUID(), references: [], padding: 'p'.repeat(1_500_000) }),
    ]);

    // Another domain's deployments complete behind it.
    await ok(['secret', 'put', 'db_password', '--domain', 'bystander'], `bystander-${randomBytes(8).toString('hex')}`);
    await applyWorkload(
      ok,
      sys.home,
      'bystander',
      computeWorkload('report', { DB_PASSWORD: '${secrets.db_password}' }),
    );
    for (let i = 0; i < 2; i++) {
      const d = JSON.parse(
        (await ok(['deploy', 'report', '--domain', 'bystander', '--wait', '--timeout', '60', '--json'])).stdout,
      ) as DeploymentJson;
      assert.equal(d.status, 'deployed');
    }

    // The poison row is set aside with its reason, and the deployer said so in its log.
    const { rows } = await db.query<{ dead_reason: string | null; published_at: Date | null }>(
      'SELECT dead_reason, published_at FROM outbox WHERE id = $1',
      [poisonId],
    );
    assert.equal(rows[0]?.published_at, null);
    assert.match(rows[0]?.dead_reason ?? '', /bytes, over the 1000000 bytes an event may carry/);
    const logs = await serviceLogs();
    assert.match(logs, /outbox event set aside: it can never be published/);
    assert.ok(logs.includes(poisonId), 'the log line names the event');
  } finally {
    await db.end();
  }
});

test('auto-redeploy takeover: a member without USE on a Vault bundle re-applies a stale workload with mode auto and a reference to it; the redeploy runs as him and is refused, never as alice', async () => {
  const { ok } = recordedCli(sys);
  const token = await vault.addToken(['secret/data/payments', 'secret/metadata/payments']);
  const vaultValue = `payments-canary-${randomBytes(12).toString('hex')}`;
  await vault.putSecret('secret', 'payments/payments_key', { value: vaultValue });

  await ok(['domain', 'create', 'shop']);
  await ok(['bundle', 'create', 'payments-vault', '--domain', 'shop']);
  const integration = JSON.parse(
    (
      await ok(
        [
          'vault',
          'create',
          '--domain',
          'shop',
          '--name',
          'payments',
          '--host',
          vault.url,
          '--path',
          '/v1/secret/data/payments',
          '--auth',
          'token',
          '--bundle',
          'payments-vault',
          '--json',
        ],
        token,
      )
    ).stdout,
  ) as { id: string };
  await ok(['secret', 'put', 'db_password', '--domain', 'shop'], `shop-v1-${randomBytes(8).toString('hex')}`);
  for (const user of ['alice', 'bob']) await ok(['domain', 'grant', 'shop', '--user', user, '--role', 'member']);
  await ok(['bundle', 'grant', 'payments-vault', '--domain', 'shop', '--user', 'alice', '--permission', 'USE']);
  const tokenOf = async (user: string) => (await ok(['login', '--user', user, '--print'])).stdout.trim();
  const as = (t: string) => recordedCli({ cli: sys.cliAs(t) }).ok;
  const aliceToken = await tokenOf('alice');
  const alice = as(aliceToken);
  const bob = as(await tokenOf('bob'));
  // login stores the identity it mints: the stored one is admin's again.
  await ok(['login', '--user', 'admin']);
  const get = async () =>
    JSON.parse((await ok(['workload', 'get', 'etl', '--domain', 'shop', '--json'])).stdout) as WorkloadJson;

  // alice's workload, deployed by her; a rotation makes it stale.
  await waitFor(async () => (await sys.cliAs(aliceToken)(['workload', 'list', '--domain', 'shop'])).code === 0, {
    what: "alice's role to take effect",
    timeoutMs: 10_000,
  });
  await applyWorkload(
    alice,
    sys.home,
    'shop',
    computeWorkload('etl', { DB_PASSWORD: '${secrets.db_password}' }),
    'etl-alice',
  );
  const first = JSON.parse(
    (await alice(['deploy', 'etl', '--domain', 'shop', '--wait', '--json'])).stdout,
  ) as DeploymentJson;
  assert.deepEqual([first.status, first.principal], ['deployed', 'alice']);
  await ok(['secret', 'put', 'db_password', '--domain', 'shop'], `shop-v2-${randomBytes(8).toString('hex')}`);
  await waitFor(async () => (await get()).stale === true, { what: 'etl to become stale', timeoutMs: 30_000 });

  // bob re-applies it: mode auto, a reference to the Vault key, a command that prints it reversed.
  const bobs = computeWorkload(
    'etl',
    {
      DB_PASSWORD: '${secrets.db_password}',
      LOOT: { key: 'payments_key', source: { type: 'VAULT', id: integration.id } },
    },
    "console.log('loot', [...(process.env.LOOT||'')].reverse().join('')); setInterval(() => {}, 1000)",
  );
  await applyWorkload(bob, sys.home, 'shop', { ...bobs, redeployPolicy: { mode: 'auto' } }, 'etl-bob');
  const shown = await ok(['workload', 'get', 'etl', '--domain', 'shop']);
  assert.match(
    shown.stdout,
    /redeploy policy: auto, at any time, at most 1 at once in the domain, as bob \(who last applied it\)/,
  );
  assert.equal((await get()).appliedBy, 'bob');

  // The policy acts, as bob: the resolver refuses his reference, and the deployment fails.
  const redeployed = await waitFor(
    async () => {
      const last = (await get()).lastDeployment;
      return last && last.id !== first.id && last.trigger === 'auto' && last.status === 'failed' ? last : undefined;
    },
    { what: 'the auto redeploy to be tried and refused', timeoutMs: 60_000 },
  );
  assert.equal(redeployed.principal, 'bob');
  assert.ok(
    (redeployed.reasons ?? []).some((r) => /payments_key/.test(r) && /permission_denied/.test(r)),
    JSON.stringify(redeployed.reasons),
  );
  const w = await get();
  assert.equal(w.liveDeployment?.id, first.id, "alice's deployment still runs; nothing replaced it");

  // The audit says who asked: bob was refused the key, and alice never read it.
  const audit = () => auditRecords(ok, ['--domain', 'shop']);
  const records = await waitFor(
    async () => {
      const rs = await audit();
      return rs.some(
        (r) => r.service === 'resolver' && r.actor === 'bob' && r.outcome === 'deny' && r.requestId === redeployed.id,
      )
        ? rs
        : undefined;
    },
    { what: "the record of bob's refused read", timeoutMs: 20_000 },
  );
  assert.deepEqual(
    records.filter((r) => r.service === 'resolver' && r.resource.includes('payments_key') && r.outcome === 'ok'),
    [],
    'nobody read the Vault key',
  );
  assert.ok(
    !records.some((r) => r.actor === 'alice' && r.requestId === redeployed.id),
    'nothing was done as alice for the redeploy',
  );
  const logs = await ok(['logs', 'etl', '--domain', 'shop', '--deployment', redeployed.id]);
  const reversed = [...vaultValue].reverse().join('');
  for (const text of [logs.stdout, await serviceLogs()]) {
    assert.ok(!text.includes(vaultValue) && !text.includes(reversed), 'the Vault value never came out');
  }
});
