import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LatchkeyError } from '@latchkey/errors';
import { Redactor, silentLogger } from '@latchkey/logger';
import { ProcessRuntime, propertiesLine } from './process-runtime.js';

test('a Spark conf value survives properties-file escaping whatever it holds', () => {
  assert.equal(propertiesLine('spark.a', 'p=w:d#x!\\y'), 'spark.a=p\\=w\\:d\\#x\\!\\\\y');
  assert.equal(propertiesLine('k', 'line1\nline2\t'), 'k=line1\\nline2\\t');
  assert.equal(propertiesLine('k', ' lead  double'), 'k=\\ lead\\  double');
});

test('a command that cannot start leaves none of its values held by the service redactor', async () => {
  const redactor = new Redactor();
  const workDir = await mkdtemp(join(tmpdir(), 'lk-process-runtime-'));
  try {
    const runtime = new ProcessRuntime({ workDir, logger: silentLogger, redactor });
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
