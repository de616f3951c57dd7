import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { waitFor } from '@latchkey/testing';
import { recordedCli } from './recorded-cli.js';
import { startSystem } from './system-harness.js';
import { applyWorkload, computeWorkload, managedRef, writeWorkload } from './workload-files.js';

test('bad input gets a clear error, a non-zero exit, and changes nothing', async (t) => {
  const sys = await startSystem();
  t.after(() => sys.cleanup());
  const { ok, okPoll } = recordedCli(sys);
  const refused = async (args: string[], input: string | undefined, message: RegExp) => {
    const r = await sys.cli(args, input);
    assert.notEqual(r.code, 0, `latchkey ${args.join(' ')} should fail`);
    assert.match(r.stderr + r.stdout, message, `latchkey ${args.join(' ')}`);
    assert.ok(!/\n\s+at /.test(r.stderr), `no stack trace: ${r.stderr}`);
    return r;
  };
  await ok(['domain', 'create', 'analytics']);
  await ok(['secret', 'put', 'present', '--domain', 'analytics'], 'value-1234');
  const snapshot = async () => (await ok(['secret', 'list', '--domain', 'analytics', '--json'])).stdout;
  const before = await snapshot();

  await refused(['secret', 'put', 'k', '--domain', 'nowhere'], 'v-1234', /domain nowhere does not exist/);
  await refused(['secret', 'list', '--domain', 'nowhere'], undefined, /domain nowhere does not exist/);
  await refused(['secret', 'put', 'bad key!', '--domain', 'analytics'], 'v-1234', /key "bad key!" is not valid/);
  await refused(['secret', 'put', 'empty', '--domain', 'analytics'], '', /value is empty/);
  await refused(['secret', 'put', 'x', '--domain', 'analytics', '--value', 'oops'], undefined, /command line/);
  await refused(['domain', 'create', 'Bad_Name'], undefined, /invalid domain name/);
  await refused(['domain', 'create', 'analytics'], undefined, /already exists/);
  await refused(['secret', 'delete', 'absent', '--domain', 'analytics'], undefined, /not found/);
  assert.equal(await snapshot(), before, 'no secret changed');

  const malformed = join(sys.home, 'malformed.json');
  await writeFile(malformed, '{"name": "w", "kind": ');
  await refused(['workload', 'apply', '-f', malformed, '--domain', 'analytics'], undefined, /JSON/);
  const invalid = await writeWorkload(sys.home, {
    name: 'w',
    kind: 'COMPUTE',
    envVars: { X: { key: 'k', source: { type: 'S3', id: 'x' } } },
    run: { command: ['true'] },
  });
  await refused(
    ['workload', 'apply', '-f', invalid, '--domain', 'analytics'],
    undefined,
    /\$\.envVars\.X\.source\.type/,
  );
  await refused(['workload', 'apply', '-f', invalid, '--domain', 'nowhere'], undefined, /nowhere/);
  const none = JSON.parse((await ok(['workload', 'list', '--domain', 'analytics', '--json'])).stdout) as {
    workloads?: unknown[];
  };
  assert.equal(none.workloads?.length ?? 0, 0, 'no workload was stored');

  // A reference to a key that does not exist: the deployment fails naming it, nothing runs.
  // A sandboxed workload writes nowhere the test can see but its own output, which `latchkey logs` shows.
  const marker = `ran-${Date.now().toString(36)}`;
  const needsMissing = computeWorkload(
    'needs-missing',
    { A: '${secrets.absent_key}', B: managedRef('present', 'analytics') },
    `console.log(${JSON.stringify(marker)})`,
  );
  await applyWorkload(ok, sys.home, 'analytics', needsMissing);
  const failed = await refused(['deploy', 'needs-missing', '--domain', 'analytics', '--wait'], undefined, /absent_key/);
  assert.match(failed.stdout + failed.stderr, /failed/);
  assert.match(failed.stdout + failed.stderr, /not found/);
  const w = await waitFor(
    async () => {
      const r = JSON.parse(
        (await okPoll(['workload', 'get', 'needs-missing', '--domain', 'analytics', '--json'])).stdout,
      ) as {
        lastDeployment?: { status: string; reasons: string[]; versions?: unknown[] };
      };
      return r.lastDeployment;
    },
    { what: 'the failed deployment' },
  );
  assert.equal(w.status, 'failed');
  assert.equal(w.reasons.length, 1, 'one reason, for the one bad reference');
  assert.deepEqual(w.versions ?? [], [], 'nothing was injected');
  const logs = await sys.cli(['logs', 'needs-missing', '--domain', 'analytics']);
  assert.ok(!(logs.stdout + logs.stderr).includes(marker), 'the command never ran');
});
