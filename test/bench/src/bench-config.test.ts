import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readBenchConfig, SCENARIOS } from './bench-config.js';

test("without settings the benchmark runs every scenario at the issue's sizes", () => {
  const c = readBenchConfig({});
  assert.deepEqual(c.scenarios, [...SCENARIOS]);
  assert.equal(c.deploys, 200);
  assert.equal(c.inFlight, 64);
  assert.equal(c.memorySeconds, 120);
  assert.deepEqual(c.fanout, [1_000, 10_000, 100_000]);
  assert.equal(c.selectorManaged, 10_000);
  assert.equal(c.selectorVaultKeys, 5_000);
  assert.equal(c.out, 'bench-results.json');
});

test('a quick run picks scenarios and sizes from the environment, in the order of the issue', () => {
  const c = readBenchConfig({
    BENCH_ONLY: 'fanout, latency',
    BENCH_MEMORY_SECONDS: '10',
    BENCH_FANOUT: '1000,100',
  });
  assert.deepEqual(c.scenarios, ['latency', 'fanout']);
  assert.equal(c.memorySeconds, 10);
  assert.deepEqual(c.fanout, [100, 1000]);
});

test('bad settings are refused with the variable named', () => {
  assert.throws(() => readBenchConfig({ BENCH_ONLY: 'latency,speed' }), /BENCH_ONLY: unknown scenario speed/);
  assert.throws(() => readBenchConfig({ BENCH_DEPLOYS: '0' }), /BENCH_DEPLOYS must be a whole number >= 1/);
  assert.throws(() => readBenchConfig({ BENCH_FANOUT: '10,x' }), /BENCH_FANOUT/);
});
