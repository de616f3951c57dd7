import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StreamUpdateConfig } from 'nats';
import { connectEmbeddedBus } from './bus-harness.js';
import { waitFor } from '@latchkey/testing';
import { assertNowhere } from './canary-scan.js';
import { auditRecords, recordedCli, type AuditEntry } from './recorded-cli.js';
import { startSystem, type RunningSystem } from './system-harness.js';
import { applyWorkload, computeWorkload, managedRef } from './workload-files.js';

/** The CLI of a running system, every result kept for the canary scan. */
function cliOf(sys: RunningSystem) {
  const { outputs, cli, ok } = recordedCli(sys);
  return { outputs, cli, ok, audit: (args: string[] = []) => auditRecords(ok, args) };
}

/** A workload of analytics that reads db_password and stays up. */
const applyJob = (sys: RunningSystem, ok: ReturnType<typeof cliOf>['ok'], name: string) =>
  applyWorkload(
    ok,
    sys.home,
    'analytics',
    computeWorkload(name, { DB_PASSWORD: managedRef('db_password', 'analytics') }),
  );

test('put, grant and deploy leave audit records that latchkey audit shows, and the value is in none of them', async (t) => {
  const sys = await startSystem();
  t.after(() => sys.cleanup());
  const { outputs, cli, ok, audit } = cliOf(sys);
  const canary = `canary-${randomBytes(12).toString('hex')}`;

  await ok(['domain', 'create', 'analytics']);
  await ok(['domain', 'grant', 'analytics', '--user', 'olive', '--role', 'owner']);
  await ok(['secret', 'put', 'db_password', '--domain', 'analytics'], canary);
  await applyJob(sys, ok, 'audited-job');
  const deployment = JSON.parse(
    (await ok(['deploy', 'audited-job', '--domain', 'analytics', '--wait', '--json'])).stdout,
  ) as { id: string; status: string };
  assert.equal(deployment.status, 'deployed');

  const has = (rs: AuditEntry[], want: Partial<AuditEntry>) =>
    rs.find((r) => Object.entries(want).every(([k, v]) => r[k as keyof AuditEntry] === v));
  const wanted: Partial<AuditEntry>[] = [
    { service: 'ras', actor: 'admin', action: 'domain.create', domain: 'analytics', outcome: 'ok' },
    { service: 'ras', actor: 'admin', action: 'domain.grant', resource: 'user olive', outcome: 'ok' },
    { service: 'catalog', actor: 'admin', action: 'secret.put', resource: 'secret:db_password', outcome: 'ok' },
    // ras's decisions on the catalog's check of the put, and on a check that admin may use the key (the
    // resolver's, at apply or at deploy: a second answer within a second may come from its cache).
    { service: 'ras', actor: 'admin', action: 'secret.manage', resource: 'db_password', outcome: 'allow' },
    { service: 'ras', actor: 'admin', action: 'secret.use', resource: 'db_password', outcome: 'allow' },
    { service: 'ras', actor: 'admin', action: 'workload.deploy', resource: 'audited-job', outcome: 'allow' },
    {
      service: 'resolver',
      actor: 'admin',
      action: 'secret.read',
      domain: 'analytics',
      resource: 'MANAGED:analytics/db_password@v1',
      outcome: 'ok',
      requestId: deployment.id,
    },
  ];
  const records = await waitFor(
    async () => {
      const rs = await audit();
      const missing = wanted.filter((w) => !has(rs, w));
      if (missing.length > 0) {
        throw new Error(
          `missing ${JSON.stringify(missing)} among ${JSON.stringify(rs.map((r) => [r.service, r.actor, r.action, r.resource, r.outcome, r.requestId]))}`,
        );
      }
      return rs;
    },
    { what: 'the audit records of the put, the grant and the deployment', timeoutMs: 20_000 },
  );
  // The catalog's change and ras's decision about it share the request id of the put.
  const put = has(records, { action: 'secret.put' });
  assert.ok(put?.requestId, 'the put has a request id');
  assert.ok(has(records, { action: 'secret.manage', requestId: put.requestId }), 'same request id in ras');

  // Filters: a domain, an actor, a time.
  const inDomain = await audit(['--domain', 'analytics']);
  assert.ok(inDomain.length > 0 && inDomain.every((r) => r.domain === 'analytics'));
  assert.deepEqual(await audit(['--actor', 'nobody-at-all']), []);
  assert.deepEqual(await audit(['--since', new Date(Date.now() + 3_600_000).toISOString()]), []);
  const table = await ok(['audit', '--domain', 'analytics', '--limit', '5']);
  assert.match(table.stdout, /^AT\s+SERVICE\s+ACTOR\s+ACTION\s+DOMAIN\s+RESOURCE\s+OUTCOME\s+REASON/);

  // A denial is on record too: listing a domain that does not exist is refused by ras.
  const denied = await cli(['secret', 'list', '--domain', 'nowhere']);
  assert.notEqual(denied.code, 0);
  await waitFor(
    async () => has(await audit(['--actor', 'admin']), { action: 'secret.list', domain: 'nowhere', outcome: 'deny' }),
    { what: 'the record of the denial', timeoutMs: 20_000 },
  );

  // Issue 13 §6: an outsider's GetWorkload whose name carries a line break (a forged audit row) and a
  // terminal escape is refused as invalid before ras is asked, so nothing is recorded with that name;
  // the same outsider's well-formed request is recorded (a denial), so the record would show it.
  const mallory = (await ok(['login', '--user', 'mallory', '--print'])).stdout.trim();
  await ok(['login', '--user', 'admin']);
  const asMallory = sys.cliAs(mallory);
  const forgedRow = '2030-01-01T00:00:00Z  ras  admin  secret.put  allow';
  const forged = await asMallory(['workload', 'get', `job\n${forgedRow}\u001b[2J`, '--domain', 'analytics']);
  assert.equal(forged.code, 1);
  assert.match(
    forged.stderr,
    /name "job\\u000a2030-01-01T00:00:00Z {2}ras {2}admin.*allow\\u001b\[2J" is not valid: give a name.*\(request\.invalid_name\)/,
  );
  assert.ok(!forged.stderr.includes('\u001b') && !forged.stderr.trimEnd().includes('\n'), 'one escaped line');
  assert.notEqual((await asMallory(['workload', 'get', 'probe-job', '--domain', 'analytics'])).code, 0);
  const afterProbe = await waitFor(
    async () => {
      const rs = await audit(['--actor', 'mallory']);
      return has(rs, { action: 'workload.read', resource: 'probe-job', outcome: 'deny' }) ? rs : undefined;
    },
    { what: "the record of mallory's well-formed request", timeoutMs: 20_000 },
  );
  assert.deepEqual(
    afterProbe.filter((r) => r.resource.includes('job\n') || r.resource.includes('\u001b')),
    [],
    'nothing recorded with the forged name',
  );
  assert.ok(!(await ok(['audit', '--limit', '1000'])).stdout.includes(forgedRow), 'no forged row printed');

  // A rotation after the deployment: a second version, and its record.
  await ok(['secret', 'put', 'db_password', '--domain', 'analytics'], `${canary}-v2`);
  await waitFor(async () => has(await audit(), { action: 'secret.put', reason: 'version 2 updated' }), {
    what: 'the record of version 2',
    timeoutMs: 20_000,
  });

  // The values are nowhere: not in an audit row or message, nor any CLI output (the audit JSON included).
  await assertNowhere(sys, [canary, `${canary}-v2`], outputs);
});

test('audit fail-closed: when the audit stream refuses records, a deployment fails with audit.unavailable and nothing runs', async (t) => {
  const sys = await startSystem({ env: { LATCHKEY_AUDIT_FAIL_CLOSED: '1' } });
  t.after(() => sys.cleanup());
  const { ok, cli } = cliOf(sys);
  await ok(['domain', 'create', 'analytics']);
  await ok(['secret', 'put', 'db_password', '--domain', 'analytics'], `canary-${randomBytes(8).toString('hex')}`);
  await applyJob(sys, ok, 'guarded-job');
  // With the audit stream working, the deployment is served.
  await ok(['deploy', 'guarded-job', '--domain', 'analytics', '--wait']);

  // The audit stream stops taking records (sealed: every publish is rejected).
  const nc = await connectEmbeddedBus(sys.home);
  try {
    const jsm = await nc.jetstreamManager();
    const info = await jsm.streams.info('LATCHKEY_AUDIT');
    // `sealed` is a server setting the client's update type leaves out.
    const sealed: Partial<StreamUpdateConfig> & { sealed: boolean } = { ...info.config, sealed: true };
    await jsm.streams.update('LATCHKEY_AUDIT', sealed);
  } finally {
    await nc.close();
  }

  const refused = await cli(['deploy', 'guarded-job', '--domain', 'analytics', '--wait', '--json']);
  assert.notEqual(refused.code, 0, `the deployment should fail: ${refused.stdout}`);
  const failed = JSON.parse(refused.stdout) as { id: string; status: string; reasons: string[]; pid?: number };
  assert.equal(failed.status, 'failed');
  assert.ok(failed.reasons.length > 0);
  for (const reason of failed.reasons) assert.match(reason, /\[audit\.unavailable\]$/);
  assert.ok(!failed.pid, 'no process was started');
  const logDir = join(sys.home, 'logs');
  const resolverLogs = (await readdir(logDir)).filter((f) => f.startsWith('resolver'));
  const logs = (await Promise.all(resolverLogs.map((f) => readFile(join(logDir, f), 'utf8')))).join('\n');
  assert.match(logs, /resolution refused \(audit\.failClosed\)/);
});
