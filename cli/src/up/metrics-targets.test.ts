import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { metricsTargetsPath, writeMetricsTargets } from './metrics-targets.js';

test("the metrics targets file is Prometheus's file_sd format: one group per replica, labelled with the replica", async (t) => {
  const home = await mkdtemp(path.join(tmpdir(), 'latchkey-targets-'));
  t.after(() => rm(home, { recursive: true, force: true }));
  const file = await writeMetricsTargets(home, [
    { service: 'catalog', replica: 'catalog-1', address: '127.0.0.1:41001' },
    { service: 'catalog', replica: 'catalog-2', address: '127.0.0.1:41002' },
  ]);
  assert.equal(file, metricsTargetsPath(home));
  assert.equal(file, path.join(home, 'metrics-targets.json'));
  assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), [
    { targets: ['127.0.0.1:41001'], labels: { replica: 'catalog-1' } },
    { targets: ['127.0.0.1:41002'], labels: { replica: 'catalog-2' } },
  ]);
});
