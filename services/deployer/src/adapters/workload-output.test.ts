import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_MAX_LINE_BYTES, REDACTED, Redactor } from '@latchkey/logger';
import { waitFor } from '@latchkey/testing';
import type { RunHooks, RunSpec } from '../domain/ports.js';
import { sandboxedRuntime } from '../../test/sandboxed-runtime.js';

function spec(domain: string, command: string[], secrets: string[]): RunSpec {
  return {
    deploymentId: randomUUID(),
    workloadId: randomUUID(),
    workload: 'w',
    domain,
    command,
    env: {},
    sparkConf: {},
    secrets,
  };
}

function recorder(): RunHooks & { lines: string[]; exited: boolean } {
  const r = {
    lines: [] as string[],
    exited: false,
    onLine: (stream: string, line: string) => r.lines.push(`${stream}: ${line}`),
    onExit: () => {
      r.exited = true;
    },
  };
  return r;
}

const node = (script: string) => [process.execPath, '-e', script];

test("a workload's output is masked with its own deployment's values only, not another domain's; the service's log masks both", async (t) => {
  const workDir = await mkdtemp(join(tmpdir(), 'lk-output-'));
  t.after(() => rm(workDir, { recursive: true, force: true }));
  const service = new Redactor();
  const runtime = await sandboxedRuntime(workDir, { redactor: service });
  t.after(() => runtime.stopAll('test over'));
  const canary = `analytics-canary-${randomUUID()}`;
  const own = `finance-own-${randomUUID()}`;
  // analytics' workload runs, holding its canary.
  const holder = recorder();
  await runtime.start(spec('analytics', node('setTimeout(() => {}, 60000)'), [canary]), holder);
  // finance's workload prints a right guess of it, its base64, and its own value.
  const guesser = recorder();
  const b64 = Buffer.from(canary).toString('base64');
  await runtime.start(
    spec(
      'finance',
      node(
        `console.log(${JSON.stringify(`guess ${canary} ${b64}`)}); console.log('DB_PASSWORD=not-a-held-value'); console.error(${JSON.stringify(`own ${own}`)})`,
      ),
      [own],
    ),
    guesser,
  );
  await waitFor(() => guesser.exited, { what: 'the guessing workload to exit' });
  assert.deepEqual(guesser.lines.sort(), [
    `stderr: own ${REDACTED}`,
    // The secret-key pattern applies to every deployment's output.
    `stdout: DB_PASSWORD=${REDACTED}`,
    `stdout: guess ${canary} ${b64}`,
  ]);
  // The service's own log lines still mask every value it holds, while it holds it.
  assert.equal(service.redact(`${canary} ${own}`), `${REDACTED} ${own}`, 'finance ended: its value is no longer held');
  await runtime.stop([...runtime.running()][0]!.deploymentId, 'done');
  await waitFor(() => holder.exited, { what: 'the holder to exit' });
  assert.equal(service.size, 0);
});

test('a 60 MB output line with no newline is stored cut to the cap, with the count of what was cut', async (t) => {
  const workDir = await mkdtemp(join(tmpdir(), 'lk-output-'));
  t.after(() => rm(workDir, { recursive: true, force: true }));
  const runtime = await sandboxedRuntime(workDir);
  const hooks = recorder();
  const total = 60 * 1024 * 1024;
  await runtime.start(
    spec(
      'analytics',
      node(
        `const b = Buffer.alloc(1 << 20, 0x7a); for (let i = 0; i < 60; i++) process.stdout.write(b); console.error('after')`,
      ),
      ['some-held-value'],
    ),
    hooks,
  );
  await waitFor(() => hooks.exited, { what: 'the writer to exit', timeoutMs: 120_000 });
  assert.deepEqual(hooks.lines.sort(), [
    'stderr: after',
    `stdout: ${'z'.repeat(DEFAULT_MAX_LINE_BYTES)} … [cut: ${total - DEFAULT_MAX_LINE_BYTES} bytes]`,
  ]);
});
