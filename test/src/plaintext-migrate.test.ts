// Issue 19 §3 end to end: workload apply warns about plaintext credentials
// (the path, never the value), latchkey migrate moves them into managed
// secrets and references them (dry run first, idempotent, audited), the
// migrated workload still gets its values, and the values appear in no CLI
// output, service log, bus message or live database row.
//
// The PostgreSQL files are not scanned here: the literals were in the
// deployer's rows before the migration (that is the problem it fixes), and
// until PostgreSQL vacuums them their old row versions stay in its files.
//
// The second case is the import of a V1 secret store (here a Vault path laid
// out as seed 002 says) into global scope with latchkey import-legacy, on the
// same system.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startVaultEmulator, waitFor } from '@latchkey/testing';
import { dumpDatabases, dumpStreams, findLeak } from './canary-scan.js';
import { auditRecords, startRecordedSystem } from './recorded-cli.js';
import { applyWorkload, computeWorkload, sha, waitForLogs, workloadScript } from './workload-files.js';

/** One system for both cases (a boot costs 30-90 s of CPU). */
let system: Awaited<ReturnType<typeof startRecordedSystem>>;
let stopSystem: (() => Promise<void>) | undefined;
before(async () => {
  // Stopped after the file's last case (an `after` called inside this hook would run when the hook ends).
  system = await startRecordedSystem({ after: (fn) => (stopSystem = fn) });
});
after(() => stopSystem?.());

/** What no CLI output, service log, live database row, bus message or latchkey up output may hold. */
async function assertNoLeak(canaries: string[]): Promise<void> {
  const { sys, outputs } = system;
  const logs = join(sys.home, 'logs');
  const logTexts = await Promise.all(
    (await readdir(logs)).map(async (f) => [f, await readFile(join(logs, f), 'utf8')] as const),
  );
  const dump = await dumpDatabases(sys.home, ['latchkey_catalog', 'latchkey_ras', 'latchkey_deployer']);
  const bus = await dumpStreams(sys.home);
  assert.ok(dump.rows > 10 && bus.messages > 5, 'the scan read rows and messages');
  for (const c of canaries) {
    for (const r of outputs) assert.equal(findLeak(r.stdout + r.stderr, c), undefined, `CLI output holds ${c}`);
    for (const [f, text] of logTexts) assert.equal(findLeak(text, c), undefined, `service log ${f} holds ${c}`);
    assert.equal(findLeak(dump.text, c), undefined, `a database row holds ${c}`);
    assert.equal(findLeak(bus.text, c), undefined, `a JetStream message holds ${c}`);
    assert.equal(findLeak(sys.output(), c), undefined, `latchkey up output holds ${c}`);
  }
}

const JOB = workloadScript(
  "console.log('db', h(process.env.DB_PASSWORD));",
  "console.log('token', h(process.env.API_TOKEN));",
  'setInterval(()=>{},1000);',
);

test('apply warns about plaintext credentials by path; migrate moves them into secrets once, idempotently, and no value leaks', async () => {
  const { sys, outputs, ok } = system;
  const password = `canary-${randomBytes(12).toString('hex')}`;
  const token = `tok-${randomBytes(16).toString('hex')}`;
  await ok(['domain', 'create', 'analytics']);

  // (a) apply warns, naming the path and why, never the value.
  const etl = { ...computeWorkload('etl', { DB_PASSWORD: password, API_TOKEN: token, MODE: 'batch' }, JOB) };
  const report = { ...computeWorkload('report', { DB_PASSWORD: password }) };
  await applyWorkload(ok, sys.home, 'analytics', etl);
  const applied = outputs.at(-1)?.stdout ?? '';
  assert.match(
    applied,
    /warning: \$\.envVars\.DB_PASSWORD holds a literal that looks like a credential \(its name matches Spark's redaction pattern/,
  );
  assert.match(applied, /warning: \$\.envVars\.API_TOKEN holds a literal that looks like a credential/);
  assert.match(applied, /latchkey migrate --domain analytics/);
  assert.ok(!applied.includes('$.envVars.MODE'), 'an ordinary literal is no credential');
  await applyWorkload(ok, sys.home, 'analytics', report);

  // (c) a dry run reports and changes nothing.
  const dry = await ok(['migrate', '--domain', 'analytics', '--dry-run']);
  // (The deployer keeps specs as jsonb, which orders a map's keys by length, then bytes.)
  assert.deepEqual(dry.stdout.trimEnd().split('\n'), [
    'migrate domain analytics (dry run: nothing changed)',
    'would put secret API_TOKEN in domain analytics (from etl $.envVars.API_TOKEN)',
    'would put secret DB_PASSWORD in domain analytics (from etl $.envVars.DB_PASSWORD, report $.envVars.DB_PASSWORD)',
    'would update workload etl: $.envVars.API_TOKEN -> API_TOKEN, $.envVars.DB_PASSWORD -> DB_PASSWORD',
    'would update workload report: $.envVars.DB_PASSWORD -> DB_PASSWORD',
  ]);
  const listed = async () => {
    const res = JSON.parse((await ok(['secret', 'list', '--domain', 'analytics', '--json'])).stdout) as {
      secrets?: { key: string }[];
    };
    return (res.secrets ?? []).map((s) => s.key).sort();
  };
  assert.deepEqual(await listed(), []);

  // The migration: each distinct value once, the specs rewritten with references.
  const moved = JSON.parse((await ok(['migrate', '--domain', 'analytics', '--json'])).stdout) as {
    secrets: { key: string; from: string[]; version: number }[];
    workloads: { name: string; moved: { path: string; key: string }[] }[];
  };
  assert.deepEqual(
    moved.secrets.map((s) => [s.key, s.version]),
    [
      ['API_TOKEN', 1],
      ['DB_PASSWORD', 1],
    ],
  );
  assert.deepEqual(
    moved.workloads.map((w) => w.name),
    ['etl', 'report'],
  );
  assert.deepEqual(await listed(), ['API_TOKEN', 'DB_PASSWORD']);
  const got = JSON.parse((await ok(['workload', 'get', 'etl', '--domain', 'analytics', '--json'])).stdout) as {
    specJson: string;
    plaintextCredentials?: unknown[];
    warnings: string[];
  };
  assert.deepEqual(JSON.parse(got.specJson).envVars, {
    DB_PASSWORD: { key: 'DB_PASSWORD', source: { type: 'MANAGED', id: 'analytics' } },
    API_TOKEN: { key: 'API_TOKEN', source: { type: 'MANAGED', id: 'analytics' } },
    MODE: 'batch',
  });
  assert.deepEqual(got.plaintextCredentials ?? [], []);

  // Idempotent: nothing is left to move, and nothing changes.
  const again = await ok(['migrate', '--domain', 'analytics']);
  assert.equal(
    again.stdout.trim(),
    'no plaintext credentials in the workloads of domain analytics: nothing to migrate',
  );
  assert.deepEqual(await listed(), ['API_TOKEN', 'DB_PASSWORD']);

  // The migrated workload still gets its values, now resolved from the catalog.
  const deployed = JSON.parse((await ok(['deploy', 'etl', '--domain', 'analytics', '--wait', '--json'])).stdout) as {
    status: string;
  };
  assert.equal(deployed.status, 'deployed');
  const out = await waitForLogs(ok, 'etl', 'analytics', 'token');
  assert.ok(out.includes(`db ${sha(password)}`), out);
  assert.ok(out.includes(`token ${sha(token)}`), out);
  await ok(['stop', 'etl', '--domain', 'analytics']);

  // Audited: each put is on record as admin's.
  await waitFor(
    async () => {
      const puts = (await auditRecords(ok, ['--domain', 'analytics']))
        .filter((r) => r.action === 'secret.put' && r.actor === 'admin')
        .map((r) => r.resource)
        .sort();
      return puts.length === 2 ? puts : undefined;
    },
    { what: 'the audit records of the two puts', timeoutMs: 20_000 },
  ).then((puts) => assert.deepEqual(puts, ['secret:API_TOKEN', 'secret:DB_PASSWORD']));

  // The canary scan: CLI output, service logs, live database rows, bus messages, latchkey up's output.
  await assertNoLeak([password, token]);
});

test('import-legacy moves a V1 Vault store into global scope: refused for a non-admin, dry run first, idempotent, audited, resolvable by a legacy placeholder, and no value leaks', async (t) => {
  const { sys, ok } = system;
  const vault = await startVaultEmulator();
  t.after(() => vault.stop());
  const dbPassword = `legacy-db-${randomBytes(12).toString('hex')}`;
  const apiKey = `legacy-api-${randomBytes(12).toString('hex')}`;
  await vault.putSecret('secret', 'iomete/poc/LEGACY_DB_PASSWORD', { value: dbPassword });
  await vault.putSecret('secret', 'iomete/poc/LEGACY_API_KEY', { value: apiKey });
  await vault.putSecret('secret', 'iomete/poc/not a key', { value: `legacy-bad-${randomBytes(12).toString('hex')}` });
  const token = await vault.addToken(['secret/']);
  const args = ['import-legacy', '--from', 'vault', '--host', vault.url, '--path', '/v1/secret/data/iomete/poc'];
  const globalKeys = async () => {
    const res = JSON.parse((await ok(['secret', 'list', '--global', '--json'])).stdout) as {
      secrets?: { key: string }[];
    };
    return (res.secrets ?? []).map((s) => s.key).sort();
  };
  const before = await globalKeys();

  // A user without global write: PERMISSION_DENIED, nothing imported.
  const mallory = (await ok(['login', '--user', 'mallory', '--print'])).stdout.trim();
  await ok(['login', '--user', 'admin']);
  const refused = await sys.cliAs(mallory)(args, token);
  system.outputs.push(refused);
  assert.equal(refused.code, 1, refused.stdout);
  assert.match(refused.stderr, /nothing was imported \([a-z_.]*permission[a-z_.]*\)/);
  assert.deepEqual(await globalKeys(), before);

  // The dry run lists and changes nothing.
  const dry = await ok([...args, '--dry-run'], token);
  assert.deepEqual(dry.stdout.trimEnd().split('\n').slice(1), [
    'would import LEGACY_API_KEY: new',
    'would import LEGACY_DB_PASSWORD: new',
    'not imported "not a key": not a valid secret key: it holds " ": a secret key has letters, digits, ".", "_" and "-" only',
    '3 found: 2 would be imported (0 as new versions), 0 left alone, 1 not importable',
  ]);
  assert.deepEqual(await globalKeys(), before);

  const imported = JSON.parse((await ok([...args, '--json'], token)).stdout) as {
    keys: { key: string; outcome: string; version?: number }[];
  };
  assert.deepEqual(
    imported.keys.map((k) => [k.key, k.outcome, k.version ?? null]),
    [
      ['LEGACY_API_KEY', 'new', 1],
      ['LEGACY_DB_PASSWORD', 'new', 1],
      ['not a key', 'skipped', null],
    ],
  );
  assert.deepEqual(await globalKeys(), [...before, 'LEGACY_API_KEY', 'LEGACY_DB_PASSWORD'].sort());
  const again = await ok(args, token);
  assert.match(again.stdout, /3 found: 0 imported \(0 as new versions\), 2 left alone, 1 not importable/);

  // Legacy secrets are mapped to the global scope: a V1 placeholder in a domain's workload gets the value.
  const legacy = computeWorkload(
    'legacy',
    { DB_PASSWORD: '${secrets.LEGACY_DB_PASSWORD}' },
    workloadScript("console.log('legacy', h(process.env.DB_PASSWORD));", 'setInterval(()=>{},1000);'),
  );
  await applyWorkload(ok, sys.home, 'analytics', legacy);
  const deploy = await ok(['deploy', 'legacy', '--domain', 'analytics', '--wait', '--json']);
  assert.equal((JSON.parse(deploy.stdout) as { status: string }).status, 'deployed');
  const out = await waitForLogs(ok, 'legacy', 'analytics', 'legacy');
  assert.ok(out.includes(`legacy ${sha(dbPassword)}`), out);
  await ok(['stop', 'legacy', '--domain', 'analytics']);

  // Audited through the catalog's put path, as admin's, in global scope.
  await waitFor(
    async () => {
      const puts = (await auditRecords(ok))
        .filter((r) => r.action === 'secret.put' && r.actor === 'admin' && r.resource.startsWith('secret:LEGACY_'))
        .map((r) => `${r.domain} ${r.resource}`)
        .sort();
      return puts.length === 2 ? puts : undefined;
    },
    { what: 'the audit records of the two imports', timeoutMs: 20_000 },
  ).then((puts) => assert.deepEqual(puts, ['global secret:LEGACY_API_KEY', 'global secret:LEGACY_DB_PASSWORD']));
  await assertNoLeak([dbPassword, apiKey]);
});
