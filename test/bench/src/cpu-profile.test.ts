import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageOf, pidOfProfileFile, profileReport, summarizeCpuProfile, type CpuProfile } from './cpu-profile.js';

const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber });

// Four frames, sampled 10 times: 2 idle, 3 in pg, 4 in the catalog's own code, 1 in the GC.
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(idle)') },
    { id: 2, callFrame: frame('parseRow', 'file:///repo/node_modules/pg/lib/result.js', 41) },
    { id: 3, callFrame: frame('readSecret', 'file:///repo/services/catalog/dist/src/read.js', 9) },
    { id: 4, callFrame: frame('(garbage collector)') },
  ],
  samples: [1, 2, 3, 3, 2, 1, 3, 4, 2, 3],
  timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000],
};

test('self time is summed per function and per package, idle time left out of busy', () => {
  const s = summarizeCpuProfile(profile);
  assert.equal(s.totalMs, 10);
  assert.equal(s.busyMs, 8);
  assert.deepEqual(s.byPackage, [
    { name: 'latchkey:services/catalog', ms: 4 },
    { name: 'pg', ms: 3 },
    { name: '(garbage collector)', ms: 1 },
  ]);
  assert.deepEqual(s.byFunction[0], { name: 'readSecret', where: 'latchkey:services/catalog read.js:10', ms: 4 });
  assert.equal(s.byFunction.length, 3);
});

test('a frame belongs to its package: scoped, plain, node, a workspace, native', () => {
  assert.equal(packageOf('file:///r/node_modules/@grpc/grpc-js/build/src/x.js', 'f'), '@grpc/grpc-js');
  assert.equal(packageOf('file:///r/node_modules/a/node_modules/pino/lib/x.js', 'f'), 'pino');
  assert.equal(packageOf('node:internal/streams/readable', 'f'), 'node:internal');
  assert.equal(packageOf('file:///r/libs/crypto/dist/src/seal.js', 'f'), 'latchkey:libs/crypto');
  assert.equal(packageOf('file:///r/cli/dist/src/up/x.js', 'f'), 'latchkey:cli');
  assert.equal(packageOf('', '(program)'), '(program)');
  assert.equal(packageOf('', 'JSON.parse'), '(native)');
});

test('the report reads the profiles of the named pids only, and says when there are none', async () => {
  assert.equal(pidOfProfileFile('CPU.20261203.081500.4242.0.001.cpuprofile'), 4242);
  assert.equal(pidOfProfileFile('notes.txt'), undefined);
  const dir = await mkdtemp(join(tmpdir(), 'latchkey-prof-'));
  try {
    await writeFile(join(dir, 'CPU.20261203.081500.4242.0.001.cpuprofile'), JSON.stringify(profile));
    await writeFile(join(dir, 'CPU.20261203.081500.77.0.002.cpuprofile'), JSON.stringify(profile));
    const lines = await profileReport(dir, new Map([[4242, 'catalog-1']]));
    assert.match(lines[0]!, /^catalog-1 \(pid 4242, .*\): 0\.0 s busy of 0\.0 s$/);
    assert.match(lines[1]!, /by package: latchkey:services\/catalog 50\.0%, pg 37\.5%, \(garbage collector\) 12\.5%/);
    assert.ok(!lines.some((l) => l.includes('pid 77')));
    const none = await profileReport(dir, new Map([[1, 'ras-1']]));
    assert.match(none[0]!, /^no CPU profile of a service in /);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
