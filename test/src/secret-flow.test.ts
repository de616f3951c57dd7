import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { waitFor } from '@latchkey/testing';
import { assertNowhere, dumpStreams } from './canary-scan.js';
import { startRecordedSystem } from './recorded-cli.js';
import { applyWorkload, nightlyEtl, sha, waitForLogs, workloadScript } from './workload-files.js';

// Prints the hash of both injected variables and of the Spark properties
// file, then stays up (a long-running job) until stopped.
const JOB = workloadScript(
  "console.log('structured', h(process.env.DB_PASSWORD));",
  "console.log('legacy', h(process.env.JDBC_URL));",
  "const p=fs.readFileSync(process.env.LATCHKEY_SPARK_PROPERTIES_FILE,'utf8');",
  "console.log('sparkmode', (fs.statSync(process.env.LATCHKEY_SPARK_PROPERTIES_FILE).mode & 0o777).toString(8));",
  "const prop=k=>p.split('\\n').find(l=>l.startsWith(k+'=')).slice(k.length+1);",
  "console.log('spark', h(prop('spark.hadoop.fs.s3a.secret.key')));",
  "console.log('redaction', prop('spark.redaction.regex'));",
  "console.log('echo', process.env.DB_PASSWORD);",
  'setInterval(()=>{},1000);',
);

test('a secret travels from put to a running workload and nowhere else, and rotation marks without restarting', async (t) => {
  const { sys, outputs, ok, okPoll } = await startRecordedSystem(t);

  const canary = `canary-${randomBytes(12).toString('hex')}`;
  const status = await ok(['status']);
  assert.match(status.stdout, /deployer/);
  await ok(['domain', 'create', 'analytics']);
  await ok(['secret', 'put', 'db_password', '--domain', 'analytics', '--description', 'warehouse'], canary);
  const list = JSON.parse((await ok(['secret', 'list', '--domain', 'analytics', '--json'])).stdout) as {
    secrets: { key: string; version: number; updatedBy: string }[];
  };
  assert.deepEqual(
    list.secrets.map((s) => [s.key, s.version, s.updatedBy]),
    [['db_password', 1, 'admin']],
  );

  await applyWorkload(ok, sys.home, 'analytics', nightlyEtl({ command: [process.execPath, '-e', JOB] }));
  const deployed = await ok(['deploy', 'nightly-etl', '--domain', 'analytics', '--wait', '--json']);
  const first = JSON.parse(deployed.stdout) as { id: string; status: string; pid: number };
  assert.equal(first.status, 'deployed');

  const logsOf = (want: string) =>
    waitForLogs(okPoll, 'nightly-etl', 'analytics', want, { what: `workload output containing ${want}` });
  const out1 = await logsOf('echo');
  assert.ok(out1.includes(`structured ${sha(canary)}`), out1);
  assert.ok(out1.includes(`legacy ${sha(`jdbc:postgresql://db/x?password=${canary}`)}`), out1);
  assert.ok(out1.includes(`spark ${sha(canary)}`), out1);
  assert.ok(out1.includes('sparkmode 600'), out1);
  assert.ok(out1.includes('redaction (?i)secret|password|token|access[.]?key'), out1);
  assert.ok(out1.includes('echo [REDACTED]'), 'the echoed value is redacted in the output');

  // Rotation: a new version marks the workload stale and restarts nothing.
  const canary2 = `canary-${randomBytes(12).toString('hex')}`;
  await ok(['secret', 'put', 'db_password', '--domain', 'analytics'], canary2);
  const stale = await waitFor(
    async () => {
      const w = JSON.parse(
        (await okPoll(['workload', 'get', 'nightly-etl', '--domain', 'analytics', '--json'])).stdout,
      ) as {
        stale: boolean;
        staleReasons: { key: string; deployedVersion: number; currentVersion: number }[];
        lastDeployment: { id: string; status: string; pid: number };
      };
      return w.stale ? w : undefined;
    },
    { what: 'the workload to be marked stale' },
  );
  assert.deepEqual(
    stale.staleReasons.map((r) => [r.key, r.deployedVersion, r.currentVersion]),
    [['db_password', 1, 2]],
  );
  assert.equal(stale.lastDeployment.id, first.id);
  assert.equal(stale.lastDeployment.status, 'deployed', 'the running deployment was not touched');
  assert.doesNotThrow(() => process.kill(first.pid, 0), 'the first process still runs');

  // An online KEK rotation in between: the redeploy below reads through the new key.
  const oldKek = (JSON.parse(await readFile(join(sys.home, 'kek.json'), 'utf8')) as { id: string }).id;
  const rotated = JSON.parse((await ok(['kek', 'rotate', '--json'])).stdout) as {
    rewrapped: number;
    newKekId: string;
    retiredKekIds: string[];
  };
  assert.ok(rotated.rewrapped >= 2, `re-wrapped ${rotated.rewrapped} data keys`);
  assert.deepEqual(rotated.retiredKekIds, [oldKek]);
  assert.ok(!(await readFile(join(sys.home, 'kek.json'), 'utf8')).includes(oldKek), 'the old KEK left the key file');
  const redeployed = JSON.parse(
    (await ok(['deploy', 'nightly-etl', '--domain', 'analytics', '--wait', '--json'])).stdout,
  ) as {
    id: string;
    pid: number;
  };
  assert.notEqual(redeployed.id, first.id);
  const out2 = await logsOf(`structured ${sha(canary2)}`);
  assert.ok(!out2.includes(sha(canary)), 'the new deployment got the new value');
  const after = JSON.parse(
    (await ok(['workload', 'get', 'nightly-etl', '--domain', 'analytics', '--json'])).stdout,
  ) as {
    stale: boolean;
    lastDeployment: { versions: { key: string; version: number }[] };
  };
  assert.equal(after.stale, false);
  assert.deepEqual(
    after.lastDeployment.versions.map((v) => [v.key, v.version]),
    [
      ['db_password', 2],
      ['db_password', 2],
    ],
  );
  // The replaced deployment is stopped once the new one runs.
  await waitFor(
    () => {
      try {
        process.kill(first.pid, 0);
        return false;
      } catch {
        return true;
      }
    },
    { what: 'the replaced process to stop' },
  );

  // Nowhere else: logs, database rows, the database files, the bus, CLI output.
  const bus = await dumpStreams(sys.home);
  assert.ok(
    bus.text.includes('traceparent') && bus.text.includes('ce-type'),
    'events carry CloudEvents and trace headers',
  );
  await assertNowhere(sys, [canary, canary2], outputs);
});
